"""Close friends, on every path a check-in can be read by: one entry, history (raw and in
buckets), a user's page, the friends' feed and the live feed; unfriending and blocking take
someone off the list; only friends can be on it."""

from __future__ import annotations

import pytest

from tests.e2e.client import (
    GraphQLFailure,
    User,
    befriend,
    feed_ids,
    history,
    history_ids,
    recent_ids,
    record_mood,
    sign_up,
)
from tests.e2e.conftest import StartServer
from tests.e2e.ws import init, next_data, open_socket, subscribe

pytestmark = pytest.mark.e2e

ADD = "mutation($h: String!) { addCloseFriend(handle: $h) { handle } }"
REMOVE = "mutation($h: String!) { removeCloseFriend(handle: $h) { handle } }"
ENTRY = "query($id: ID!) { moodEntry(id: $id) { id privacy } }"
FRIEND_MOODS = "subscription { friendMoodRecorded { id privacy author { handle } } }"


def sees_entry(viewer: User, entry_id: str) -> bool:
    found = viewer.api.attempt(ENTRY, id=entry_id)
    if isinstance(found, GraphQLFailure):
        assert found.errors[0]["extensions"]["code"] == "NOT_FOUND"
        return False
    return True


def seen_in_buckets(viewer: User, owner: str) -> int:
    buckets = history(viewer, owner, aggregation="DAY")["buckets"]
    return sum(int(b["count"]) for b in buckets)


async def test_a_close_friends_check_in_reaches_close_friends_only_on_every_path(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben, cat, dan = (sign_up(server, p) for p in ("ann", "ben", "cat", "dan"))
    befriend(ann, ben)
    befriend(ann, cat)
    assert [p["handle"] for p in ann.api(ADD, h=ben.handle)["addCloseFriend"]] == [ben.handle]

    async with open_socket(server) as ben_ws, open_socket(server) as cat_ws:
        for who, ws in ((ben, ben_ws), (cat, cat_ws)):
            await init(ws, who.api.token)
            await subscribe(ws, "m", FRIEND_MOODS)
        close = record_mood(ann, moodType="sad", intensity=0.7, privacy="CLOSE_FRIENDS")["id"]
        wide = record_mood(ann, moodType="calm", intensity=0.4, privacy="FRIENDS_ONLY")["id"]
        # Live: Ben gets both, in order; Cat's first push is the friends-only one.
        assert (await next_data(ben_ws, "m"))["friendMoodRecorded"]["id"] == close
        assert (await next_data(ben_ws, "m"))["friendMoodRecorded"]["id"] == wide
        assert (await next_data(cat_ws, "m"))["friendMoodRecorded"] == {
            "id": wide,
            "privacy": "FRIENDS_ONLY",
            "author": {"handle": ann.handle},
        }

    assert sees_entry(ann, close) and sees_entry(ben, close)
    assert not sees_entry(cat, close) and not sees_entry(dan, close)
    assert history_ids(ben, ann.handle) == {close, wide}
    assert history_ids(cat, ann.handle) == {wide}
    assert history_ids(dan, ann.handle) == set()
    assert (seen_in_buckets(ben, ann.handle), seen_in_buckets(cat, ann.handle)) == (2, 1)
    assert recent_ids(ben, ann.handle) == {close, wide}
    assert recent_ids(cat, ann.handle) == {wide}
    assert {close, wide} <= feed_ids(ben)
    assert close not in feed_ids(cat) and wide in feed_ids(cat)
    assert history_ids(ann) >= {close, wide}

    # Unfriending takes Ben off the list: befriended again, he is an ordinary friend.
    ben.api("mutation($h: String!) { removeFriend(handle: $h) { status } }", h=ann.handle)
    befriend(ben, ann)
    assert ann.api("{ closeFriends { handle } }")["closeFriends"] == []
    assert not sees_entry(ben, close)
    assert close not in feed_ids(ben)

    # Blocking does too, from either side.
    ann.api(ADD, h=cat.handle)
    assert sees_entry(cat, close)
    cat.api("mutation($h: String!) { blockUser(handle: $h) { status } }", h=ann.handle)
    cat.api("mutation($h: String!) { unblockUser(handle: $h) { status } }", h=ann.handle)
    befriend(cat, ann)
    assert ann.api("{ closeFriends { handle } }")["closeFriends"] == []
    assert not sees_entry(cat, close)


def test_only_friends_can_be_close_friends_and_the_list_is_the_owners(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    refused = ann.api.attempt(ADD, h=ben.handle)
    assert isinstance(refused, GraphQLFailure)
    assert refused.errors[0]["extensions"]["code"] == "FORBIDDEN"
    nobody = ann.api.attempt(ADD, h="no_such_person")
    assert isinstance(nobody, GraphQLFailure)
    assert nobody.errors[0]["extensions"]["code"] == "NOT_FOUND"
    befriend(ann, ben)
    ann.api(ADD, h=ben.handle)
    assert ben.api("{ closeFriends { handle } }")["closeFriends"] == []
    assert ann.api(REMOVE, h=ben.handle)["removeCloseFriend"] == []
