"""A person's close-friends list: the friends who see check-ins shared with close friends only.
Only friends can be on it; unfriending or blocking takes someone off it (both ways)."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Forbidden, ValidationFailed
from hugmood.ids import UserId

MAX_CLOSE_FRIENDS = 150


def close_friends_stream(user_id: UserId) -> str:
    return f"close-friends-{user_id}"


@dataclass(frozen=True, slots=True)
class AddCloseFriend:
    user_id: UserId
    friend_id: UserId


@dataclass(frozen=True, slots=True)
class RemoveCloseFriend:
    user_id: UserId
    friend_id: UserId
    reason: str = "removed"
    """`removed` by the person, or `unfriended` / `blocked` when the friendship ended."""


@dataclass(frozen=True, slots=True)
class CloseFriendAdded(DomainEvent):
    EVENT_TYPE = "CloseFriendAdded"
    user_id: UserId
    friend_id: UserId


@dataclass(frozen=True, slots=True)
class CloseFriendRemoved(DomainEvent):
    EVENT_TYPE = "CloseFriendRemoved"
    user_id: UserId
    friend_id: UserId
    reason: str = "removed"


def evolve_close_friends(state: frozenset[str], event: DomainEvent) -> frozenset[str]:
    match event:
        case CloseFriendAdded():
            return state | {event.friend_id}
        case CloseFriendRemoved():
            return state - {event.friend_id}
    return state


def decide_add(
    state: frozenset[str], command: AddCloseFriend, *, are_friends: bool
) -> list[DomainEvent]:
    if command.friend_id == command.user_id:
        raise ValidationFailed("you are always close to yourself", field="handle")
    if not are_friends:
        raise Forbidden("only friends can be close friends: befriend them first", field="handle")
    if command.friend_id in state:
        return []
    if len(state) >= MAX_CLOSE_FRIENDS:
        raise ValidationFailed(
            f"at most {MAX_CLOSE_FRIENDS} close friends; remove one first", field="handle"
        )
    return [CloseFriendAdded(command.user_id, command.friend_id)]


def decide_remove(state: frozenset[str], command: RemoveCloseFriend) -> list[DomainEvent]:
    """Idempotent: removing someone not on the list changes nothing."""
    if command.friend_id not in state:
        return []
    return [CloseFriendRemoved(command.user_id, command.friend_id, command.reason)]


CLOSE_FRIEND_EVENTS: tuple[type[DomainEvent], ...] = (CloseFriendAdded, CloseFriendRemoved)
