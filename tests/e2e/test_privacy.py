"""Who sees which check-ins, through every read path, as friendships and blocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.client import (
    MOOD_ENTRY,
    GraphQLFailure,
    User,
    befriend,
    feed_ids,
    history,
    history_ids,
    iso,
    recent_ids,
    record_mood,
    sign_up,
    user_page,
)
from tests.e2e.conftest import StartServer

pytestmark = pytest.mark.e2e

INTENSITY = {"PRIVATE": 0.9, "FRIENDS_ONLY": 0.5, "PUBLIC": 0.1}


def record_one_of_each(user: User, at: datetime) -> dict[str, str]:
    """One entry per privacy setting, all at the same moment; their ids by privacy."""
    ids = {}
    for privacy, intensity in INTENSITY.items():
        entry = record_mood(
            user, moodType="calm", intensity=intensity, privacy=privacy, recordedAt=iso(at)
        )
        assert entry["privacy"] == privacy
        ids[privacy] = entry["id"]
    return ids


def day_buckets(viewer: User, owner: str) -> list[tuple[int, float]]:
    buckets = history(viewer, owner, aggregation="DAY")["buckets"]
    return [(b["count"], b["meanIntensity"]) for b in buckets]


def sees_entry(viewer: User, entry_id: str) -> bool:
    """`moodEntry(id)`: the entry, or NOT_FOUND when the viewer may not see it."""
    outcome = viewer.api.attempt(MOOD_ENTRY, id=entry_id)
    if isinstance(outcome, GraphQLFailure):
        assert outcome.code == "NOT_FOUND", outcome
        return False
    return True


def test_each_viewer_sees_exactly_what_the_authors_privacy_allows(
    start_server: StartServer, backend: dict[str, str]
) -> None:
    server = start_server(backend)
    ann, ben, cat = sign_up(server, "ann"), sign_up(server, "ben"), sign_up(server, "cat")
    befriend(ann, ben)
    at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    a, b, c = (record_one_of_each(u, at) for u in (ann, ben, cat))
    everything_of_ann = set(a.values())
    shared_by_ann = {a["FRIENDS_ONLY"], a["PUBLIC"]}

    # The author sees everything of their own, on every read path.
    assert history_ids(ann) == everything_of_ann
    assert history_ids(ann, ann.handle) == everything_of_ann
    assert recent_ids(ann, ann.handle) == everything_of_ann
    assert all(sees_entry(ann, i) for i in everything_of_ann)
    assert day_buckets(ann, ann.handle) == [(3, 0.5)]

    # A friend sees friends-only and public entries, never private ones.
    assert history_ids(ben, ann.handle) == shared_by_ann
    assert recent_ids(ben, ann.handle) == shared_by_ann
    assert user_page(ben, ann.handle)["relationship"] == "FRIENDS"
    assert feed_ids(ben) == shared_by_ann
    assert feed_ids(ann) == {b["FRIENDS_ONLY"], b["PUBLIC"]}
    assert not sees_entry(ben, a["PRIVATE"])
    assert sees_entry(ben, a["FRIENDS_ONLY"])
    assert day_buckets(ben, ann.handle) == [(2, 0.3)]

    # A stranger sees public entries only, and has no friends' feed.
    assert history_ids(cat, ann.handle) == {a["PUBLIC"]}
    assert recent_ids(cat, ann.handle) == {a["PUBLIC"]}
    assert history_ids(cat, ben.handle) == {b["PUBLIC"]}
    assert history_ids(ann, cat.handle) == {c["PUBLIC"]}
    assert feed_ids(cat) == set()
    assert not sees_entry(cat, a["PRIVATE"])
    assert not sees_entry(cat, a["FRIENDS_ONLY"])
    assert sees_entry(cat, a["PUBLIC"])
    assert day_buckets(cat, ann.handle) == [(1, 0.1)]

    # Once ann blocks cat, neither sees anything of the other, not even public entries.
    ann.api("mutation($h: String!) { blockUser(handle: $h) { status } }", h=cat.handle)
    hidden = cat.api.failure(
        "query($h: String!) { user(handle: $h) { friendCount } }", h=ann.handle
    )
    assert hidden.code == "NOT_FOUND"
    history_query = (
        "query($h: String!, $f: DateTime!, $t: DateTime!) "
        "{ moodHistory(handle: $h, from: $f, to: $t) { aggregation } }"
    )
    window = {"f": iso(datetime.now(UTC) - timedelta(days=2)), "t": iso(datetime.now(UTC))}
    # Blocked either way, the other is answered exactly like a handle that does not exist.
    for viewer, owner in ((cat, ann), (ann, cat)):
        refused = viewer.api.failure(history_query, h=owner.handle, **window)
        assert (refused.code, refused.message) == ("NOT_FOUND", f"there is no user @{owner.handle}")
    assert not sees_entry(cat, a["PUBLIC"])
    assert feed_ids(cat) == set()
    assert not sees_entry(ann, c["PUBLIC"])
    again = cat.api.failure(
        "mutation($h: String!) { requestFriendship(handle: $h) { status } }", h=ann.handle
    )
    assert again.code == "NOT_FOUND"
    assert history_ids(ben, ann.handle) == shared_by_ann  # others are not affected

    # Once ann unfriends ben, ben is a stranger again: public entries only.
    ann.api("mutation($h: String!) { removeFriend(handle: $h) { status } }", h=ben.handle)
    assert history_ids(ben, ann.handle) == {a["PUBLIC"]}
    assert recent_ids(ben, ann.handle) == {a["PUBLIC"]}
    assert user_page(ben, ann.handle)["relationship"] == "NONE"
    assert feed_ids(ben) == set()
    assert feed_ids(ann) == set()
    assert not sees_entry(ben, a["FRIENDS_ONLY"])
    assert day_buckets(ben, ann.handle) == [(1, 0.1)]
    assert history_ids(ann) == everything_of_ann  # and the author still has everything


def test_an_id_someone_else_used_tells_only_that_it_is_taken(start_server: StartServer) -> None:
    """Decision 0011: writing with another person's id answers CONFLICT with no more than
    that; reading it answers NOT_FOUND."""
    server = start_server()
    ann, eve = sign_up(server, "ann"), sign_up(server, "eve")
    entry = record_mood(ann, moodType="calm", intensity=0.3, note="ann's own words")

    refused = eve.api.failure(
        "mutation($input: RecordMoodInput!) { recordMood(input: $input) { id } }",
        input={"id": entry["id"], "moodType": "joyful", "intensity": 0.9},
    )
    assert refused.code == "CONFLICT"
    for leaked in (ann.handle, "ann's own words", "calm"):
        assert leaked not in refused.message
    assert not sees_entry(eve, entry["id"])
    assert sees_entry(ann, entry["id"])
