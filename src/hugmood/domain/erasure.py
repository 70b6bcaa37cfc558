"""A deletion with a grace period: the erasure of an account (`identity.UserErased`) put off
for some days, during which its owner can sign in and take it back. Kept on a stream of its
own, `erasure-<user id>`, beside the account's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Conflict, ValidationFailed
from hugmood.ids import UserId

MAX_GRACE_DAYS = 30
DAY_MS = 86_400_000


def erasure_stream(user_id: UserId) -> str:
    return f"erasure-{user_id}"


def check_grace_days(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE_DAYS:
        raise ValidationFailed(
            f"the grace period is a whole number of days from 0 (at once) to {MAX_GRACE_DAYS}",
            field="graceDays",
        )
    return value


@dataclass(frozen=True, slots=True)
class CancelAccountDeletion:
    """Keep the account after all, while its deletion waits out the grace period."""

    user_id: UserId


@dataclass(frozen=True, slots=True)
class EraseWhenDue:
    """The scheduler's command: erase the account if its grace period is over (else nothing)."""

    user_id: UserId


@dataclass(frozen=True, slots=True)
class AccountDeletionScheduled(DomainEvent):
    EVENT_TYPE = "AccountDeletionScheduled"
    user_id: UserId
    due_at_ms: int


@dataclass(frozen=True, slots=True)
class AccountDeletionCancelled(DomainEvent):
    EVENT_TYPE = "AccountDeletionCancelled"
    user_id: UserId


def evolve(due_at_ms: int | None, event: DomainEvent) -> int | None:
    """When the account's erasure is due (None: none is scheduled)."""
    match event:
        case AccountDeletionScheduled():
            return event.due_at_ms
        case AccountDeletionCancelled():
            return None
    return due_at_ms


def decide_schedule(
    due_at_ms: int | None, user_id: UserId, grace_days: int, now: datetime
) -> list[DomainEvent]:
    """The password was checked by the caller; `grace_days` > 0 (0 erases at once)."""
    if due_at_ms is not None:
        raise Conflict(
            "your account's deletion is already scheduled: cancel it, or delete it now "
            "with a grace period of 0 days",
            field="graceDays",
        )
    due = int(now.timestamp() * 1000) + check_grace_days(grace_days) * DAY_MS
    return [AccountDeletionScheduled(user_id, due)]


def decide_cancel(due_at_ms: int | None, command: CancelAccountDeletion) -> list[DomainEvent]:
    if due_at_ms is None:
        raise Conflict("no deletion of your account is scheduled")
    return [AccountDeletionCancelled(command.user_id)]


def is_due(due_at_ms: int | None, now: datetime) -> bool:
    return due_at_ms is not None and due_at_ms <= int(now.timestamp() * 1000)


ERASURE_EVENTS: tuple[type[DomainEvent], ...] = (AccountDeletionScheduled, AccountDeletionCancelled)
