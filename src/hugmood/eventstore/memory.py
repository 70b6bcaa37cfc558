"""The in-memory event store: a real backend for tests, demos and the embedded default's tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import UUID

from hugmood.eventstore.envelope import NewEvent, RecordedEvent, record
from hugmood.eventstore.notifier import AppendNotifier
from hugmood.eventstore.store import (
    ANY_VERSION,
    AppendResult,
    ConcurrencyError,
    DuplicateEventError,
)


class InMemoryEventStore:
    """Keeps every event in lists; a lock makes each append atomic."""

    def __init__(self) -> None:
        self._all: list[RecordedEvent] = []
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._by_id: dict[UUID, RecordedEvent] = {}
        self._lock = asyncio.Lock()
        self._notifier = AppendNotifier()

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None = ANY_VERSION,
    ) -> AppendResult:
        async with self._lock:
            stream = self._streams.get(stream_id, [])
            if not events:
                return AppendResult(stream_version=len(stream), positions=())
            known = [self._by_id.get(e.event_id) for e in events]
            if all(k is not None for k in known):
                originals = [k for k in known if k is not None]
                return AppendResult(
                    stream_version=originals[-1].stream_version,
                    positions=tuple(k.position for k in originals),
                    duplicate=True,
                )
            if any(k is not None for k in known):
                raise DuplicateEventError(
                    "some of these events were stored before and some were not; "
                    "retry exactly the batch that was sent, or send only new events"
                )
            if len({e.event_id for e in events}) != len(events):
                raise DuplicateEventError("the batch holds the same event id more than once")
            if expected_version is not None and expected_version != len(stream):
                raise ConcurrencyError(stream_id, expected_version, len(stream))
            recorded = [
                record(
                    e,
                    stream_id=stream_id,
                    stream_version=len(stream) + i + 1,
                    position=len(self._all) + i + 1,
                )
                for i, e in enumerate(events)
            ]
            self._all.extend(recorded)
            self._streams[stream_id] = [*stream, *recorded]
            for r in recorded:
                self._by_id[r.event_id] = r
            self._notifier.notify(recorded[-1].position)
            return AppendResult(
                stream_version=recorded[-1].stream_version,
                positions=tuple(r.position for r in recorded),
            )

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        stream = self._streams.get(stream_id, [])
        return stream[max(from_version, 1) - 1 :]

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        start = max(after_position, 0)
        return self._all[start : start + limit]

    async def last_position(self) -> int:
        return len(self._all)

    async def wait_for_append(self, after_position: int, timeout: float) -> None:
        await self._notifier.wait(after_position, timeout)

    async def close(self) -> None:
        return None
