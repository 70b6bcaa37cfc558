"""Friendship rules between two users."""

from __future__ import annotations

import pytest

from hugmood.domain import social as sc
from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed


def apply(state: sc.Friendship, events: list[DomainEvent]) -> sc.Friendship:
    for event in events:
        state = sc.evolve_friendship(state, event)
    return state


def act(state: sc.Friendship, command: sc.SocialCommand) -> sc.Friendship:
    return apply(state, sc.decide_friendship(state, command))


def test_request_then_accept_makes_friends() -> None:
    state = act(sc.Friendship(), sc.RequestFriendship("a", "b"))
    assert (state.status, state.requester_id) == (sc.FriendshipStatus.PENDING, "a")
    state = act(state, sc.AcceptFriendship("b", "a"))
    assert state.status is sc.FriendshipStatus.FRIENDS


def test_only_the_addressee_can_accept_or_decline() -> None:
    state = act(sc.Friendship(), sc.RequestFriendship("a", "b"))
    with pytest.raises(NotFound):
        sc.decide_friendship(state, sc.AcceptFriendship("a", "b"))
    assert act(state, sc.DeclineFriendship("b", "a")).status is sc.FriendshipStatus.NONE


def test_asking_back_accepts_and_asking_twice_conflicts() -> None:
    state = act(sc.Friendship(), sc.RequestFriendship("a", "b"))
    with pytest.raises(Conflict):
        sc.decide_friendship(state, sc.RequestFriendship("a", "b"))
    assert act(state, sc.RequestFriendship("b", "a")).status is sc.FriendshipStatus.FRIENDS


def test_remove_unfriends_or_withdraws() -> None:
    pending = act(sc.Friendship(), sc.RequestFriendship("a", "b"))
    (withdrawn,) = sc.decide_friendship(pending, sc.RemoveFriend("a", "b"))
    assert isinstance(withdrawn, sc.FriendRequestWithdrawn)
    friends = act(pending, sc.AcceptFriendship("b", "a"))
    assert act(friends, sc.RemoveFriend("b", "a")).status is sc.FriendshipStatus.NONE
    with pytest.raises(NotFound):
        sc.decide_friendship(sc.Friendship(), sc.RemoveFriend("a", "b"))


def test_blocking_ends_the_friendship_and_stops_requests_both_ways() -> None:
    friends = act(
        act(sc.Friendship(), sc.RequestFriendship("a", "b")), sc.AcceptFriendship("b", "a")
    )
    blocked = act(friends, sc.BlockUser("a", "b"))
    assert blocked.status is sc.FriendshipStatus.NONE and blocked.blocked_by == {"a"}
    with pytest.raises(NotFound, match="no user"):
        sc.decide_friendship(blocked, sc.RequestFriendship("b", "a"))
    with pytest.raises(Forbidden, match="unblock"):
        sc.decide_friendship(blocked, sc.RequestFriendship("a", "b"))
    assert sc.decide_friendship(blocked, sc.BlockUser("a", "b")) == []
    with pytest.raises(NotFound):
        sc.decide_friendship(blocked, sc.UnblockUser("b", "a"))
    assert act(blocked, sc.UnblockUser("a", "b")).blocked_by == frozenset()


def test_nobody_befriends_themselves() -> None:
    with pytest.raises(ValidationFailed):
        sc.decide_friendship(sc.Friendship(), sc.RequestFriendship("a", "a"))


def test_the_pair_stream_is_the_same_from_either_side() -> None:
    assert sc.pair_stream("x", "y") == sc.pair_stream("y", "x")
