"""The one seam between events as the application writes and reads them and as a backend
stores them (after pyeventsourcing's `Mapper`).

On the way in, an event's data is what the backend will store (serialised as it is today;
the privacy issue adds per-user encryption here). On the way back, stored data is turned into
the current version of the event (upcasting, `upcasting.Upcasters`). Backends only store and
return what they are given; `MappedEventStore` puts the mapper in front of any of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.store import ANY_VERSION, AppendResult, EventStore
from hugmood.eventstore.upcasting import NO_UPCASTERS, Upcasters


class Mapper:
    def __init__(self, upcasters: Upcasters = NO_UPCASTERS) -> None:
        self._upcasters = upcasters

    def to_stored(self, event: NewEvent) -> NewEvent:
        """What the backend stores for `event`."""
        return event

    def from_stored(self, event: RecordedEvent) -> RecordedEvent:
        """The current version of a stored event."""
        return self._upcasters.upcast(event)


class MappedEventStore:
    """An `EventStore` whose events pass through a `Mapper` on their way in and out."""

    def __init__(self, inner: EventStore, mapper: Mapper) -> None:
        self._inner = inner
        self._mapper = mapper

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None = ANY_VERSION,
    ) -> AppendResult:
        stored = [self._mapper.to_stored(e) for e in events]
        return await self._inner.append(stream_id, stored, expected_version)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        events = await self._inner.read_stream(stream_id, from_version)
        return [self._mapper.from_stored(e) for e in events]

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        events = await self._inner.read_all(after_position, limit)
        return [self._mapper.from_stored(e) for e in events]

    async def last_position(self) -> int:
        return await self._inner.last_position()

    async def wait_for_append(self, after_position: int, timeout: float) -> None:
        await self._inner.wait_for_append(after_position, timeout)

    async def close(self) -> None:
        await self._inner.close()
