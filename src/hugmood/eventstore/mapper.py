"""The one seam between events as the application writes and reads them and as a backend
stores them (after pyeventsourcing's `Mapper`).

On the way in, an event's personal fields are encrypted under their owner's key (an
`EventCipher`, `privacy.keys`), so a backend never holds them in clear. On the way back they
are decrypted, then the stored data is turned into the current version of the event
(upcasting, `upcasting.Upcasters`). Backends only store and return what they are given;
`MappedEventStore` puts the mapper in front of any of them, so the application, the
projections and every consumer see plain events and never ciphertext.

Every follower of the log (read models, live relay, edge, insights …) reads the same new
events, so the mapper keeps the latest ones it opened, for a few seconds, and opens each once.
An erasure empties that memory: nothing is given out from it once the mapper has seen a
`UserErased` (whose own reading always goes to the cipher, which destroys the key it names).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.store import ANY_VERSION, AppendResult, EventStore
from hugmood.eventstore.upcasting import NO_UPCASTERS, Upcasters


class EventCipher(Protocol):
    """Encrypts events' personal fields for storage and decrypts them on the way back."""

    async def seal(self, events: Sequence[NewEvent]) -> list[NewEvent]: ...

    async def open(self, events: Sequence[RecordedEvent]) -> list[RecordedEvent]: ...


ERASURE = "UserErased"
OPENED_KEPT = 2048
"""How many of the latest opened events the mapper keeps (a few MB at most)..."""
OPENED_FOR_S = 5.0
"""... and for how long: long enough for every follower to read a new event, short enough
that nothing read before an erasure in another process lingers."""


class Mapper:
    def __init__(
        self, upcasters: Upcasters = NO_UPCASTERS, cipher: EventCipher | None = None
    ) -> None:
        self._upcasters = upcasters
        self._cipher = cipher
        self._opened: OrderedDict[int, tuple[float, RecordedEvent]] = OrderedDict()

    async def to_stored(self, events: Sequence[NewEvent]) -> list[NewEvent]:
        """What the backend stores for `events`."""
        if self._cipher is None:
            return list(events)
        if any(e.event_type == ERASURE for e in events):
            self._opened.clear()
        return await self._cipher.seal(events)

    async def from_stored(self, events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        """The current version of stored events, their personal fields readable again."""
        if self._cipher is None:
            return [self._upcasters.upcast(e) for e in events]
        kept = self._opened
        if any(e.event_type == ERASURE for e in events):
            kept.clear()
        now = time.monotonic()
        found: dict[int, RecordedEvent] = {}
        for e in events:
            hit = kept.get(e.position)
            if hit is not None and now - hit[0] < OPENED_FOR_S:
                found[e.position] = hit[1]
        missing = [e for e in events if e.position not in found]
        if missing:
            for event in await self._cipher.open(missing):
                found[event.position] = self._upcasters.upcast(event)
                if event.event_type != ERASURE:
                    kept[event.position] = (now, found[event.position])
            while len(kept) > OPENED_KEPT:
                kept.popitem(last=False)
        return [found[e.position] for e in events]


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
