"""How long a person's check-ins are kept: their own choice, or else their country's rule
(the regional policy). Older entries are deleted by the retention job."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import ValidationFailed
from hugmood.ids import UserId

MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 36_500
DAY_MS = 86_400_000


def retention_stream(user_id: UserId) -> str:
    return f"retention-{user_id}"


def check_retention_days(days: int) -> int:
    """0 keeps entries until deleted; otherwise 30 days to 100 years."""
    if days != 0 and not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise ValidationFailed(
            f"days must be 0 (keep my check-ins) or {MIN_RETENTION_DAYS} to "
            f"{MAX_RETENTION_DAYS} (got {days})",
            field="days",
        )
    return days


@dataclass(frozen=True, slots=True)
class ChooseRetention:
    """Keep my check-ins this many days (0: until I delete them; None: my country's rule)."""

    user_id: UserId
    days: int | None


@dataclass(frozen=True, slots=True)
class RetentionChosen(DomainEvent):
    EVENT_TYPE = "RetentionChosen"
    user_id: UserId
    days: int | None
    """None: back to the country's rule."""


RETENTION_EVENTS: tuple[type[DomainEvent], ...] = (RetentionChosen,)


def evolve_retention(state: int | None, event: DomainEvent) -> int | None:
    """The person's own choice (None: none, the rule applies)."""
    return event.days if isinstance(event, RetentionChosen) else state


def decide_retention(state: int | None, command: ChooseRetention) -> list[DomainEvent]:
    days = None if command.days is None else check_retention_days(command.days)
    return [] if days == state else [RetentionChosen(command.user_id, days)]
