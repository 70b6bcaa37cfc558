"""Community mood and similar minds through GraphQL: k − 1 people get no number and k get a
noisy release with its budget; similar minds only for the discoverable, never showing anyone
not discoverable or blocked; bad arguments answer with a code."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.client import GraphQLClient, User, iso, record_mood, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer

pytestmark = pytest.mark.e2e

K = 20
LAST_WEEK = datetime.now(UTC) - timedelta(days=7)
WEEK = "{}-W{:02d}".format(*LAST_WEEK.isocalendar()[:2])
COMMUNITY = """query($r: String!, $w: String!) { communityMood(region: $r, week: $w) {
  region week released minimumPeople people meanEnergy meanPleasantness meanIntensity
  quadrants { quadrant share } epsilon budgetSpent budgetTotal releasedAt } }"""
SIMILAR = (
    "query($n: Int!) { similarMinds(limit: $n) { people { handle displayName } checkInsNeeded } }"
)
SET = "mutation($d: Boolean!) { setDiscoverable(discoverable: $d) }"
CALM = ("calm", "relaxed", "content", "calm", "peaceful", "calm")
STORMY = ("angry", "stressed", "anxious", "angry", "frustrated", "angry")


def code(api: GraphQLClient, query: str, **variables: object) -> str:
    return str(api.failure(query, **variables).errors[0]["extensions"]["code"])


def community(user: User, region: str = "eu-west", week: str = WEEK) -> dict[str, object]:
    found: dict[str, object] = user.api(COMMUNITY, r=region, w=week)["communityMood"]
    return found


def people(server: HugMoodServer, n: int) -> list[User]:
    """`n` people who said yes to community mood (opt-in in eu-west, the server's region)."""

    def contributor(i: int) -> User:
        user = sign_up(server, f"c{i}")
        user.api("mutation { chooseCommunityContribution(contribute: true) }")
        return user

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(contributor, range(n)))


def test_community_mood_answers_k_people_and_never_k_minus_one(start_server: StartServer) -> None:
    server = start_server({"HUGMOOD_DATABASE_URL": "sqlite"})
    crowd = people(server, K)
    for user in crowd[:-1]:
        record_mood(user, moodType="calm", intensity=0.4, recordedAt=iso(LAST_WEEK), note="mine")

    small = community(crowd[0])
    assert small["released"] is False and small["minimumPeople"] == K
    for number in ("people", "meanEnergy", "meanPleasantness", "meanIntensity", "releasedAt"):
        assert small[number] is None
    assert small["quadrants"] == [] and small["epsilon"] == 0

    record_mood(crowd[-1], moodType="joyful", intensity=0.9, recordedAt=iso(LAST_WEEK))
    released = community(crowd[-1])
    assert released["released"] is True
    assert released["epsilon"] == 1.0 and released["budgetSpent"] == 1.0
    assert released["budgetTotal"] == 3.0
    assert isinstance(released["people"], float)
    assert len(released["quadrants"]) == 4  # type: ignore[arg-type]
    assert community(crowd[3]) == released  # served again: no new budget spent

    assert code(GraphQLClient(server), COMMUNITY, r="eu-west", w=WEEK) == "UNAUTHENTICATED"
    for region, week in (("mars", WEEK), ("eu-west", "soon"), ("eu-west", "2999-W01")):
        failure = crowd[0].api.failure(COMMUNITY, r=region, w=week)
        assert failure.errors[0]["extensions"]["code"] == "VALIDATION"
    assert code(crowd[0].api, COMMUNITY, r="x" * 10_000, w=WEEK) == "VALIDATION"

    # The column store is its owner's alone, like every other file of HugMood's.
    folder = server.data_dir / "analytics"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "community.duckdb").stat().st_mode) == 0o600


def test_similar_minds_only_between_discoverable_people_who_have_not_blocked(
    start_server: StartServer,
) -> None:
    server = start_server({"HUGMOOD_DATABASE_URL": "sqlite"})
    me, twin, storm, hidden, blocker = (
        sign_up(server, p) for p in ("me", "twin", "storm", "hidden", "blocker")
    )
    for user, moods in ((me, CALM), (twin, CALM), (storm, STORMY), (hidden, CALM), (blocker, CALM)):
        for mood in moods:
            record_mood(user, moodType=mood, intensity=0.5, note="never compared")

    assert me.api("{ discoverable }")["discoverable"] is False
    assert code(me.api, SIMILAR, n=5) == "NOT_DISCOVERABLE"
    for user in (me, twin, storm, blocker):
        assert user.api(SET, d=True)["setDiscoverable"] is True
    blocker.api("mutation($h: String!) { blockUser(handle: $h) { status } }", h=me.handle)

    found = me.api(SIMILAR, n=5)["similarMinds"]
    assert found["checkInsNeeded"] == 0
    assert [p["handle"] for p in found["people"]] == [twin.handle, storm.handle]
    assert set(found["people"][0]) == {"handle", "displayName"}
    assert me.handle not in {
        p["handle"] for p in blocker.api(SIMILAR, n=5)["similarMinds"]["people"]
    }

    # What helped them: nothing from 2 people (k = 20), and never for the undiscoverable.
    helped = me.api("{ similarMindsHelped { enoughPeople minimumPeople factors sentence } }")
    assert helped["similarMindsHelped"] == {
        "enoughPeople": False,
        "minimumPeople": 20,
        "factors": [],
        "sentence": "Not enough people yet: this needs at least 20 discoverable people with"
        " patterns like yours.",
    }
    assert code(hidden.api, "{ similarMindsHelped { enoughPeople } }") == "NOT_DISCOVERABLE"

    twin.api(SET, d=False)
    assert [p["handle"] for p in me.api(SIMILAR, n=5)["similarMinds"]["people"]] == [storm.handle]
    assert code(twin.api, SIMILAR, n=5) == "NOT_DISCOVERABLE"
    for bad in (0, 21, 2**31):
        assert code(me.api, SIMILAR, n=bad) == "VALIDATION"
    assert code(GraphQLClient(server), SIMILAR, n=5) == "UNAUTHENTICATED"
