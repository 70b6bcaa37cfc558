"""The event-store contract, run against every backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from hugmood.eventstore.envelope import JSONValue, NewEvent, RecordedEvent
from hugmood.eventstore.mapper import MappedEventStore, Mapper
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.eventstore.postgres import PostgresEventStore
from hugmood.eventstore.sqlite import SqliteEventStore
from hugmood.eventstore.store import (
    ANY_VERSION,
    NO_STREAM,
    AppendResult,
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    EventStoreUnavailable,
)
from hugmood.eventstore.subscription import catch_up
from hugmood.eventstore.upcasting import NO_UPCASTERS, Upcasters
from tests.conftest import POSTGRES_URL

DEADLINE_S = 10.0
"""How long a test waits for something that should happen at once; never a timing assertion."""

OpenStore = Callable[..., Awaitable[EventStore]]


def new_event(
    event_type: str = "MoodCheckedIn",
    *,
    data: dict[str, JSONValue] | None = None,
    version: int = 1,
    user_id: str | None = "user-1",
) -> NewEvent:
    return NewEvent(
        event_id=uuid4(),
        event_type=event_type,
        version=version,
        timestamp=datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC),
        user_id=user_id,
        data=data if data is not None else {"mood": 3},
        metadata={"deviceId": "device-1"},
    )


@dataclass(frozen=True)
class Backend:
    name: str
    sqlite_path: Path
    pg_schema: str | None


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    schema = request.getfixturevalue("pg_schema") if request.param == "postgresql" else None
    return Backend(request.param, tmp_path / "events.sqlite3", schema)


@pytest.fixture
async def open_store(backend: Backend) -> AsyncIterator[OpenStore]:
    """Opens stores of the backend under test; SQL backends' stores all share one database."""
    opened: list[EventStore] = []

    async def open_(upcasters: Upcasters = NO_UPCASTERS) -> EventStore:
        inner: EventStore
        if backend.name == "memory":
            inner = InMemoryEventStore()
        elif backend.name == "sqlite":
            inner = await SqliteEventStore.open(backend.sqlite_path)
        else:
            assert backend.pg_schema is not None
            inner = await PostgresEventStore.open(POSTGRES_URL, schema=backend.pg_schema)
        # Every store is used as the application uses it: behind the mapper.
        store = MappedEventStore(inner, Mapper(upcasters))
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> EventStore:
    return await open_store()


class WaitSpy:
    """Delegates to a store and signals when a subscriber starts waiting for an append."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.waiting = asyncio.Event()

    async def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int | None = None
    ) -> AppendResult:
        return await self._store.append(stream_id, events, expected_version)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        return await self._store.read_stream(stream_id, from_version)

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return await self._store.read_all(after_position, limit)

    async def last_position(self) -> int:
        return await self._store.last_position()

    async def wait_for_append(self, after_position: int, timeout: float) -> None:
        self.waiting.set()
        await self._store.wait_for_append(after_position, timeout)

    async def close(self) -> None:
        await self._store.close()


@contextlib.asynccontextmanager
async def subscribed(
    store: EventStore, after_position: int, *, safety_poll_s: float = 1.0
) -> AsyncIterator[asyncio.Queue[RecordedEvent]]:
    """A catch-up subscription running in the background, delivering into a queue."""
    received: asyncio.Queue[RecordedEvent] = asyncio.Queue()

    async def run() -> None:
        async for batch in catch_up(store, after_position, safety_poll_s=safety_poll_s):
            for event in batch:
                received.put_nowait(event)

    task = asyncio.create_task(run())
    try:
        yield received
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def take(received: asyncio.Queue[RecordedEvent], n: int) -> list[RecordedEvent]:
    return [await asyncio.wait_for(received.get(), DEADLINE_S) for _ in range(n)]


def ids(events: Sequence[RecordedEvent | NewEvent]) -> list[Any]:
    return [e.event_id for e in events]


async def test_appended_events_read_back_in_order_with_versions_and_positions(
    store: EventStore,
) -> None:
    first, second = new_event(), new_event("HugSent", data={"to": "user-2"})

    result = await store.append("mood-user-1", [first, second], NO_STREAM)

    assert result == AppendResult(stream_version=2, positions=(1, 2))
    stream = await store.read_stream("mood-user-1")
    assert ids(stream) == [first.event_id, second.event_id]
    assert [(e.stream_id, e.stream_version, e.position) for e in stream] == [
        ("mood-user-1", 1, 1),
        ("mood-user-1", 2, 2),
    ]
    assert stream[1].event_type == "HugSent"
    assert stream[1].data == {"to": "user-2"}
    assert ids(await store.read_stream("mood-user-1", from_version=2)) == [second.event_id]
    assert await store.last_position() == 2


async def test_unknown_stream_is_empty_and_an_empty_append_changes_nothing(
    store: EventStore,
) -> None:
    await store.append("a", [new_event()])

    assert await store.read_stream("nobody") == []
    assert await store.append("a", []) == AppendResult(stream_version=1, positions=())
    assert await store.append("nobody", []) == AppendResult(stream_version=0, positions=())
    assert await store.last_position() == 1


async def test_a_stale_expected_version_is_a_clear_concurrency_error(store: EventStore) -> None:
    await store.append("s", [new_event()], NO_STREAM)
    await store.append("s", [new_event()], 1)

    with pytest.raises(ConcurrencyError, match="at version 2, not the expected 1") as caught:
        await store.append("s", [new_event()], 1)

    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("s", 1, 2)
    assert len(await store.read_stream("s")) == 2


async def test_no_stream_refuses_an_existing_stream_and_any_version_always_appends(
    store: EventStore,
) -> None:
    await store.append("s", [new_event()], NO_STREAM)

    with pytest.raises(ConcurrencyError):
        await store.append("s", [new_event()], NO_STREAM)
    result = await store.append("s", [new_event()], ANY_VERSION)
    fresh = await store.append("t", [new_event()], ANY_VERSION)

    assert result.stream_version == 2
    assert fresh.stream_version == 1
    with pytest.raises(ConcurrencyError):
        await store.append("never-written", [new_event()], 3)


async def test_a_failing_batch_writes_none_of_its_events(store: EventStore) -> None:
    stored = new_event()
    await store.append("s", [stored], NO_STREAM)
    repeated = new_event()

    with pytest.raises(ConcurrencyError):
        await store.append("s", [new_event(), new_event()], NO_STREAM)
    with pytest.raises(DuplicateEventError, match="more than once"):
        await store.append("s", [new_event(), repeated, repeated])
    with pytest.raises(DuplicateEventError, match="some of these events were stored before"):
        await store.append("other", [new_event(), stored])

    assert ids(await store.read_all()) == [stored.event_id]
    assert await store.read_stream("other") == []
    assert await store.last_position() == 1


async def test_a_retried_batch_returns_its_first_positions_and_stores_nothing(
    store: EventStore,
) -> None:
    batch = [new_event(), new_event()]
    first = await store.append("s", batch, NO_STREAM)
    await store.append("s", [new_event()])

    # The expected version is stale by now: a retry is still recognised, not a conflict.
    retry = await store.append("s", batch, NO_STREAM)

    assert first.duplicate is False
    assert retry == AppendResult(stream_version=2, positions=first.positions, duplicate=True)
    assert len(await store.read_all()) == 3
    assert await store.last_position() == 3


async def test_read_all_pages_from_a_position_with_a_limit(store: EventStore) -> None:
    events = [new_event() for _ in range(5)]
    for i, event in enumerate(events):
        await store.append(f"s{i % 2}", [event])

    page = await store.read_all(after_position=2, limit=2)
    rest = await store.read_all(after_position=page[-1].position)

    assert ids(page) == ids(events[2:4])
    assert ids(rest) == ids(events[4:])
    assert await store.read_all(after_position=5) == []
    assert await store.read_all(limit=0) == []


async def test_positions_strictly_increase_across_streams_and_appends(store: EventStore) -> None:
    results = [
        await store.append(stream, [new_event() for _ in range(size)])
        for stream, size in [("a", 1), ("b", 3), ("a", 2), ("c", 1)]
    ]

    positions = [e.position for e in await store.read_all()]
    assert positions == sorted(set(positions))
    assert [p for r in results for p in r.positions] == positions
    assert await store.last_position() == positions[-1]


async def test_catch_up_receives_new_appends_and_resumes_from_a_checkpoint(
    store: EventStore,
) -> None:
    before = [new_event(), new_event()]
    await store.append("s", before)

    async with subscribed(store, 0) as received:
        assert ids(await take(received, 2)) == ids(before)
        later = new_event()
        await store.append("t", [later])
        (delivered,) = await take(received, 1)
    assert delivered.event_id == later.event_id

    checkpoint = delivered.position - 1
    async with subscribed(store, checkpoint) as resumed:
        assert ids(await take(resumed, 1)) == [later.event_id]
        last = new_event()
        await store.append("s", [last])
        assert ids(await take(resumed, 1)) == [last.event_id]
        assert resumed.empty()


async def test_a_waiting_subscriber_is_woken_by_the_append_not_its_poll(store: EventStore) -> None:
    spy = WaitSpy(store)
    async with subscribed(spy, 0, safety_poll_s=60) as received:
        await asyncio.wait_for(spy.waiting.wait(), DEADLINE_S)
        event = new_event()
        await store.append("s", [event])
        # Far sooner than the 60 s poll: only the append notification can deliver it in time.
        assert ids(await take(received, 1)) == [event.event_id]


async def test_upcasters_upgrade_old_event_data_on_read(open_store: OpenStore) -> None:
    upcasters = Upcasters()
    upcasters.register("MoodCheckedIn", 1, lambda d: {"score": d["mood"], "scale": 5})
    upcasters.register("MoodCheckedIn", 2, lambda d: {**d, "scale": 10, "score": d["score"] * 2})
    store = await open_store(upcasters)
    await store.append("s", [new_event(data={"mood": 3}, version=1)])
    await store.append("s", [new_event(data={"score": 4, "scale": 5}, version=2)])
    await store.append("s", [new_event("HugSent", data={"to": "x"}, version=1)])

    stream = await store.read_stream("s")

    assert [(e.version, e.data) for e in stream] == [
        (3, {"score": 6, "scale": 10}),
        (3, {"score": 8, "scale": 10}),
        (1, {"to": "x"}),
    ]
    assert [(e.version, e.data) for e in await store.read_all()] == [
        (e.version, e.data) for e in stream
    ]


async def test_the_envelope_round_trips_exactly(store: EventStore) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    data: dict[str, JSONValue] = {
        "note": 'Ça va 😊 — 你好, "quoted" \\ and a NUL \u0000 inside',
        "nested": {"list": [1, 2.5, 0.1, None, True, False, "x"], "empty": {}},
        "big": 2**53 + 1,
        "negative": -7,
    }
    metadata: dict[str, JSONValue] = {
        "deviceId": "📱-1",
        "appVersion": "1.2.3",
        "privacySetting": "friends",
        "correlationId": str(uuid4()),
    }
    event = NewEvent(
        event_id=uuid4(),
        event_type="MoodCheckedIn",
        version=2,
        timestamp=datetime(2024, 2, 29, 23, 59, 59, 987654, tzinfo=india),
        user_id="ユーザー-1",
        data=data,
        metadata=metadata,
    )
    anonymous = NewEvent(uuid4(), "PresenceChanged", 1, datetime.now(UTC), None, {})

    await store.append("s", [event, anonymous])
    got, got_anonymous = await store.read_stream("s")

    assert got.event_id == event.event_id
    assert (got.event_type, got.version, got.user_id) == ("MoodCheckedIn", 2, "ユーザー-1")
    assert got.timestamp == datetime(2024, 2, 29, 18, 29, 59, 987000, tzinfo=UTC)
    assert got.timestamp.utcoffset() == timedelta(0)
    assert got.data == data
    assert got.metadata == metadata
    assert got.to_envelope()["timestamp"] == "2024-02-29T18:29:59.987Z"
    assert got_anonymous.user_id is None
    assert got_anonymous.timestamp == anonymous.timestamp
    assert (got_anonymous.data, got_anonymous.metadata) == ({}, {})


async def test_many_concurrent_appends_to_different_streams_all_land_exactly_once(
    store: EventStore,
) -> None:
    batches = {f"user-{i}": [new_event(), new_event()] for i in range(40)}

    results = await asyncio.gather(
        *(store.append(stream, events, NO_STREAM) for stream, events in batches.items())
    )

    stored = await store.read_all()
    assert sorted(map(str, ids(stored))) == sorted(
        str(e.event_id) for events in batches.values() for e in events
    )
    positions = [e.position for e in stored]
    assert positions == sorted(set(positions))
    by_id = {e.event_id: e for e in stored}
    for (stream, events), result in zip(batches.items(), results, strict=True):
        assert result.positions == tuple(by_id[e.event_id].position for e in events)
        assert [by_id[e.event_id].stream_id for e in events] == [stream, stream]
        assert [by_id[e.event_id].stream_version for e in events] == [1, 2]


async def test_concurrent_appends_expecting_the_same_version_let_exactly_one_win(
    store: EventStore,
) -> None:
    contenders = [new_event() for _ in range(8)]

    outcomes = await asyncio.gather(
        *(store.append("contested", [e], NO_STREAM) for e in contenders),
        return_exceptions=True,
    )

    winners = [c for c, o in zip(contenders, outcomes, strict=True) if isinstance(o, AppendResult)]
    assert len(winners) == 1
    assert all(isinstance(o, ConcurrencyError) for o in outcomes if not isinstance(o, AppendResult))
    assert ids(await store.read_stream("contested")) == [winners[0].event_id]


async def test_appends_issued_together_apply_in_order_and_see_each_other(
    store: EventStore,
) -> None:
    first, second, other = new_event(), new_event(), new_event()

    # Issued in one go, these may share a transaction; each still sees those before it.
    outcomes = await asyncio.gather(
        store.append("s", [first], NO_STREAM),
        store.append("s", [second], 1),
        store.append("t", [other], NO_STREAM),
        store.append("s", [first], NO_STREAM),
    )

    assert [o.stream_version for o in outcomes] == [1, 2, 1, 1]
    assert outcomes[3] == AppendResult(1, outcomes[0].positions, duplicate=True)
    assert ids(await store.read_stream("s")) == [first.event_id, second.event_id]
    assert await store.last_position() == 3


async def test_one_rejected_append_does_not_fail_concurrent_ones(store: EventStore) -> None:
    stored = new_event()
    await store.append("known", [stored])
    good_a, good_b = new_event(), new_event()

    outcomes = await asyncio.gather(
        store.append("a", [good_a], NO_STREAM),
        store.append("partial", [new_event(), stored]),
        store.append("stale", [new_event()], 5),
        store.append("b", [good_b], NO_STREAM),
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], AppendResult)
    assert isinstance(outcomes[1], DuplicateEventError)
    assert isinstance(outcomes[2], ConcurrencyError)
    assert isinstance(outcomes[3], AppendResult)
    assert sorted(map(str, ids(await store.read_all()))) == sorted(
        str(e.event_id) for e in (stored, good_a, good_b)
    )


async def test_sqlite_events_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "data" / "events.sqlite3"
    store = await SqliteEventStore.open(path)
    first = [new_event(), new_event()]
    await store.append("s", first, NO_STREAM)
    await store.append("t", [new_event()])
    before = await store.read_all()
    await store.close()

    reopened = await SqliteEventStore.open(path)
    try:
        assert await reopened.read_all() == before
        result = await reopened.append("s", [new_event()], 2)
        assert result == AppendResult(stream_version=3, positions=(4,))
        retry = await reopened.append("s", first, NO_STREAM)
        assert retry.duplicate
        assert retry.positions == (1, 2)
    finally:
        await reopened.close()


async def test_sqlite_failures_surface_as_event_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EventStoreUnavailable, match="cannot open the event store"):
        await SqliteEventStore.open(tmp_path)  # a directory, not a database file

    store = await SqliteEventStore.open(tmp_path / "events.sqlite3")
    await store.close()
    with pytest.raises(EventStoreUnavailable, match="closed"):
        await store.append("s", [new_event()])
    with pytest.raises(EventStoreUnavailable, match="closed"):
        await store.read_all()
