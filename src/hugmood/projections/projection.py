"""What a projection is: a pure function from one event to the SQL that applies it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hugmood.eventstore.envelope import RecordedEvent
from hugmood.sql.database import Statement
from hugmood.sql.migrations import Migration


class Projection(Protocol):
    name: str
    """Stable name, used in logs and metrics."""

    @property
    def tables(self) -> tuple[str, ...]:
        """The read-model tables it owns and clears on rebuild."""
        ...

    @property
    def migrations(self) -> Sequence[Migration]:
        """The versioned DDL that creates (and later changes) those tables."""
        ...

    def statements(self, event: RecordedEvent) -> list[Statement]:
        """The writes that apply `event` (none if the event is not its concern).

        Must be idempotent and order-preserving: applied in position order from zero, the
        tables end the same however the events are batched.
        """
        ...
