"""The one seam between events as the application writes and reads them and as a backend
stores them (after pyeventsourcing's `Mapper`).

On the way in, an event's personal fields are encrypted under their owner's key (an
`EventCipher`, `privacy.keys`), so a backend never holds them in clear. On the way back they
are decrypted, then the stored data is turned into the current version of the event
(upcasting, `upcasting.Upcasters`). Backends only store and return what they are given;
`MappedEventStore` puts the mapper in front of any of them, so the application, the
projections and every consumer see plain events and never ciphertext.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.store import ANY_VERSION, AppendResult, EventStore
from hugmood.eventstore.upcasting import NO_UPCASTERS, Upcasters


class EventCipher(Protocol):
    """Encrypts events' personal fields for storage and decrypts them on the way back."""

    async def seal(self, events: Sequence[NewEvent]) -> list[NewEvent]: ...

    async def open(self, events: Sequence[RecordedEvent]) -> list[RecordedEvent]: ...


class Mapper:
    def __init__(
        self, upcasters: Upcasters = NO_UPCASTERS, cipher: EventCipher | None = None
    ) -> None:
        self._upcasters = upcasters
        self._cipher = cipher

    async def to_stored(self, events: Sequence[NewEvent]) -> list[NewEvent]:
        """What the backend stores for `events`."""
        if self._cipher is None:
            return list(events)
        return await self._cipher.seal(events)

    async def from_stored(self, events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        """The current version of stored events, their personal fields readable again."""
        opened = list(events) if self._cipher is None else await self._cipher.open(events)
        return [self._upcasters.upcast(e) for e in opened]


class MappedEventStore:
    """An `EventStore` whose events pass through a `Mapper` on their way in and out."""

    def __init__(self, inner: EventStore, mapper: Mapper) -> None:
        self._inner = inner
        self._mapper = mapper

    @property
    def stored(self) -> EventStore:
        """The backend itself: events as stored, personal fields still encrypted (what the
        relay copies to the bus, so the bus never holds them in clear either)."""
        return self._inner

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None = ANY_VERSION,
    ) -> AppendResult:
        stored = await self._mapper.to_stored(events)
        return await self._inner.append(stream_id, stored, expected_version)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        return await self._mapper.from_stored(
            await self._inner.read_stream(stream_id, from_version)
        )

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return await self._mapper.from_stored(await self._inner.read_all(after_position, limit))

    async def last_position(self) -> int:
        return await self._inner.last_position()

    async def wait_for_append(self, after_position: int, timeout: float) -> None:
        await self._inner.wait_for_append(after_position, timeout)

    async def close(self) -> None:
        await self._inner.close()
