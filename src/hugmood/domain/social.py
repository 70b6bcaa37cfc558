"""Friendships between two users: request, accept, decline, remove, block and unblock."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hugmood.ids import UserId


def pair_stream(a: str, b: str) -> str:
    """One stream per pair of users, the same whoever acts: `friendship-<low>-<high>`."""
    low, high = sorted((a, b))
    return f"friendship-{low}-{high}"


class FriendshipStatus(StrEnum):
    NONE = "none"
    PENDING = "pending"
    FRIENDS = "friends"


# --- commands (the acting user first) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestFriendship:
    user_id: UserId
    other_id: UserId


@dataclass(frozen=True, slots=True)
class AcceptFriendship:
    user_id: UserId
    other_id: UserId


@dataclass(frozen=True, slots=True)
class DeclineFriendship:
    user_id: UserId
    other_id: UserId


@dataclass(frozen=True, slots=True)
class RemoveFriend:
    """Unfriend, or withdraw a request the user sent."""

    user_id: UserId
    other_id: UserId


@dataclass(frozen=True, slots=True)
class BlockUser:
    user_id: UserId
    other_id: UserId


@dataclass(frozen=True, slots=True)
class UnblockUser:
    user_id: UserId
    other_id: UserId


SocialCommand = (
    RequestFriendship
    | AcceptFriendship
    | DeclineFriendship
    | RemoveFriend
    | BlockUser
    | UnblockUser
)

# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FriendRequested(DomainEvent):
    EVENT_TYPE = "FriendRequested"
    requester_id: UserId
    addressee_id: UserId


@dataclass(frozen=True, slots=True)
class FriendRequestAccepted(DomainEvent):
    EVENT_TYPE = "FriendRequestAccepted"
    requester_id: UserId
    addressee_id: UserId


@dataclass(frozen=True, slots=True)
class FriendRequestDeclined(DomainEvent):
    EVENT_TYPE = "FriendRequestDeclined"
    requester_id: UserId
    addressee_id: UserId


@dataclass(frozen=True, slots=True)
class FriendRequestWithdrawn(DomainEvent):
    EVENT_TYPE = "FriendRequestWithdrawn"
    requester_id: UserId
    addressee_id: UserId


@dataclass(frozen=True, slots=True)
class FriendRemoved(DomainEvent):
    EVENT_TYPE = "FriendRemoved"
    remover_id: str
    removed_id: str


@dataclass(frozen=True, slots=True)
class UserBlocked(DomainEvent):
    EVENT_TYPE = "UserBlocked"
    blocker_id: str
    blocked_id: str


@dataclass(frozen=True, slots=True)
class UserUnblocked(DomainEvent):
    EVENT_TYPE = "UserUnblocked"
    blocker_id: str
    blocked_id: str


# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Friendship:
    status: FriendshipStatus = FriendshipStatus.NONE
    requester_id: UserId | None = None
    blocked_by: frozenset[str] = frozenset()


def evolve_friendship(state: Friendship, event: DomainEvent) -> Friendship:
    match event:
        case FriendRequested():
            return replace(state, status=FriendshipStatus.PENDING, requester_id=event.requester_id)
        case FriendRequestAccepted():
            return replace(state, status=FriendshipStatus.FRIENDS)
        case FriendRequestDeclined() | FriendRequestWithdrawn() | FriendRemoved():
            return replace(state, status=FriendshipStatus.NONE, requester_id=None)
        case UserBlocked():
            return Friendship(blocked_by=state.blocked_by | {event.blocker_id})
        case UserUnblocked():
            return replace(state, blocked_by=state.blocked_by - {event.blocker_id})
    return state


def decide_friendship(state: Friendship, command: SocialCommand) -> list[DomainEvent]:
    """What happens when `command.user_id` acts towards `command.other_id`."""
    me, other = command.user_id, command.other_id
    if me == other:
        raise ValidationFailed("you cannot do that with your own account", field="handle")
    match command:
        case RequestFriendship():
            return _request(state, me, other)
        case AcceptFriendship():
            _pending_from(state, other)
            return [FriendRequestAccepted(requester_id=other, addressee_id=me)]
        case DeclineFriendship():
            _pending_from(state, other)
            return [FriendRequestDeclined(requester_id=other, addressee_id=me)]
        case RemoveFriend():
            if state.status is FriendshipStatus.FRIENDS:
                return [FriendRemoved(remover_id=me, removed_id=other)]
            if state.status is FriendshipStatus.PENDING and state.requester_id == me:
                return [FriendRequestWithdrawn(requester_id=me, addressee_id=other)]
            raise NotFound("you are not friends and have no pending request to them")
        case BlockUser():
            return [] if me in state.blocked_by else [UserBlocked(blocker_id=me, blocked_id=other)]
        case UnblockUser():
            if me not in state.blocked_by:
                raise NotFound("you have not blocked this user")
            return [UserUnblocked(blocker_id=me, blocked_id=other)]


def _request(state: Friendship, me: str, other: str) -> list[DomainEvent]:
    if me in state.blocked_by:
        raise Forbidden("you have blocked this user; unblock them first")
    if state.blocked_by:
        # Answer as for a handle that does not exist: being blocked is not announced.
        raise NotFound("there is no user with that handle", field="handle")
    if state.status is FriendshipStatus.FRIENDS:
        raise Conflict("you are already friends")
    if state.status is FriendshipStatus.PENDING:
        if state.requester_id == me:
            raise Conflict("you already sent a friend request to this user")
        # They asked first: asking back is saying yes.
        return [FriendRequestAccepted(requester_id=other, addressee_id=me)]
    return [FriendRequested(requester_id=me, addressee_id=other)]


def _pending_from(state: Friendship, requester: str) -> None:
    if state.status is not FriendshipStatus.PENDING or state.requester_id != requester:
        raise NotFound("there is no pending friend request from this user")


SOCIAL_EVENTS: tuple[type[DomainEvent], ...] = (
    FriendRequested,
    FriendRequestAccepted,
    FriendRequestDeclined,
    FriendRequestWithdrawn,
    FriendRemoved,
    UserBlocked,
    UserUnblocked,
)
