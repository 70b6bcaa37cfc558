"""The event-store port every backend implements, and the errors it may raise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from hugmood.domain.errors import Conflict
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.unavailable import BackendUnavailable

NO_STREAM: Final = 0
"""Expected version meaning "this stream must not exist yet" (stream versions start at 1)."""

ANY_VERSION: Final = None
"""Expected version meaning "append whatever the stream's version is"."""


class ConcurrencyError(Conflict):
    """The stream was not at the expected version: someone else appended first."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}; "
            "it changed since it was read, so read it again and retry"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEventError(Conflict):
    """Part of a batch was stored before and part was not: the batch is not a clean retry."""


class EventStoreUnavailable(BackendUnavailable):
    """The backing database could not be reached or failed; nothing was acknowledged."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where the appended events landed. For an idempotent retry: where they landed first."""

    stream_version: int
    positions: tuple[int, ...]
    duplicate: bool = False

    @property
    def last_position(self) -> int:
        return self.positions[-1] if self.positions else 0


class EventStore(Protocol):
    """An append-only log of streams with a global, gap-safe total order (`position`)."""

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None = ANY_VERSION,
    ) -> AppendResult:
        """Append all of `events` atomically, or none.

        Raises `ConcurrencyError` if `expected_version` is given and the stream is not at it.
        Idempotent by `event_id`: if every event is already stored, nothing is written and the
        original positions are returned (`duplicate=True`); if only some are, it raises
        `DuplicateEventError`.
        """
        ...

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """The stream's events in order, starting at `from_version` (inclusive)."""
        ...

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Up to `limit` events with `position > after_position`, in position order.

        A reader that follows positions never skips an event: an event with a lower position
        is always visible before one with a higher position.
        """
        ...

    async def last_position(self) -> int:
        """The highest position stored (0 when empty)."""
        ...

    async def wait_for_append(self, after_position: int, timeout: float) -> None:
        """Return as soon as an event past `after_position` may exist, or after `timeout`."""
        ...

    async def close(self) -> None: ...
