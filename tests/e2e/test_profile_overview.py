"""The profile overview from outside: each part as far as the viewer may see it (a friend, a
stranger, the person themselves, someone blocked), and a part that fails or is late named in
`unavailable` instead of failing the page."""

from __future__ import annotations

import asyncio

import pytest

from hugmood.entrypoints.graphql import overview
from tests.e2e.client import befriend, record_mood, sign_up
from tests.e2e.conftest import StartServer

OVERVIEW = """
query($h: String) {
  profileOverview(handle: $h) {
    profile { handle }
    moodSeries { buckets { count } }
    connections { relationship friendCount mutualFriends peopleYouMayKnow { profile { handle } } }
    sharedBoards { title }
    activity { presence recentMoods { id } }
    insights { id }
    similarMinds
    unavailable
  }
}"""


@pytest.mark.e2e
def test_each_part_is_what_the_viewer_may_see(start_server: StartServer) -> None:
    server = start_server()
    ann, ben, cat, dan = (sign_up(server, n) for n in ("ann", "ben", "cat", "dan"))
    befriend(ann, ben)
    befriend(ben, dan)
    shared = record_mood(ann, moodType="calm", intensity=0.6, privacy="FRIENDS_ONLY")

    by_friend = ben.api(OVERVIEW, h=ann.handle)["profileOverview"]
    assert by_friend["profile"]["handle"] == ann.handle
    assert [b["count"] for b in by_friend["moodSeries"]["buckets"]] == [1]
    assert by_friend["connections"]["relationship"] == "FRIENDS"
    assert by_friend["connections"]["peopleYouMayKnow"] == [], "suggestions are your own"
    assert [m["id"] for m in by_friend["activity"]["recentMoods"]] == [shared["id"]]
    assert by_friend["insights"] is None and by_friend["similarMinds"] is None
    assert by_friend["unavailable"] == []

    by_stranger = cat.api(OVERVIEW, h=ann.handle)["profileOverview"]
    assert by_stranger["moodSeries"]["buckets"] == [], "friends-only stays with friends"
    assert by_stranger["activity"] == {"presence": None, "recentMoods": []}
    assert by_stranger["connections"]["mutualFriends"] == 0

    own = ann.api(OVERVIEW)["profileOverview"]
    assert own["connections"]["relationship"] == "SELF"
    assert [p["profile"]["handle"] for p in own["connections"]["peopleYouMayKnow"]] == [dan.handle]
    assert own["insights"] == []
    assert own["similarMinds"] is None, "not discoverable: nothing, and not an outage"
    assert own["unavailable"] == []

    dan.api("mutation($h: String!) { blockUser(handle: $h) { status } }", h=ann.handle)
    assert ann.api.failure(OVERVIEW, h=dan.handle).code == "NOT_FOUND"
    assert dan.api.failure(OVERVIEW, h=ann.handle).code == "NOT_FOUND"


async def test_a_source_that_fails_or_is_late_is_named_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(overview, "SOURCE_DEADLINE_S", 0.05)
    unavailable: list[str] = []

    async def broken() -> int:
        raise RuntimeError("the store is down")

    async def slow() -> int:
        await asyncio.sleep(1)
        return 1

    async def fine() -> int:
        return 7

    got = await asyncio.gather(
        overview.within_deadline("broken", broken, unavailable),
        overview.within_deadline("slow", slow, unavailable),
        overview.within_deadline("fine", fine, unavailable),
    )
    assert list(got) == [None, None, 7]
    assert sorted(unavailable) == ["broken", "slow"]
