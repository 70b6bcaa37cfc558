"""People you may know over GraphQL: a friend's friend with the count in common, only for the
signed-in person, with a clear error for a bad limit."""

from __future__ import annotations

import pytest

from tests.e2e.client import GraphQLClient, befriend, sign_up
from tests.e2e.conftest import StartServer

pytestmark = pytest.mark.e2e

SUGGESTIONS = "query($n: Int!) { peopleYouMayKnow(limit: $n) { profile { handle } mutualFriends } }"


def test_a_friends_friend_is_suggested_with_the_friends_in_common(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben, cat = sign_up(server, "ann"), sign_up(server, "ben"), sign_up(server, "cat")
    befriend(ann, ben)
    befriend(ben, cat)

    found = ann.api(SUGGESTIONS, n=10)["peopleYouMayKnow"]
    assert found == [{"profile": {"handle": cat.handle}, "mutualFriends": 1}]
    assert ben.api(SUGGESTIONS, n=10)["peopleYouMayKnow"] == [], "friends are not suggested"

    for bad in (0, 51, -1):
        failure = ann.api.failure(SUGGESTIONS, n=bad)
        assert failure.code == "VALIDATION" and "limit must be 1 to 50" in failure.message
    assert GraphQLClient(server).failure(SUGGESTIONS, n=5).code == "UNAUTHENTICATED"
