"""PostgreSQL event store across processes: concurrent writers never let a follower skip an
event, and NOTIFY wakes subscribers of every store instance sharing the schema."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import UUID

import asyncpg
import pytest

from hugmood.eventstore.postgres import PostgresEventStore
from hugmood.eventstore.store import NO_STREAM, AppendResult, EventStoreUnavailable
from tests.conftest import POSTGRES_URL
from tests.contracts.test_event_store import DEADLINE_S, WaitSpy, new_event, subscribed, take

WRITERS = 5
APPENDS_PER_WRITER = 40

OpenStore = Callable[[], Awaitable[PostgresEventStore]]


@pytest.fixture
async def open_store(pg_schema: str) -> AsyncIterator[OpenStore]:
    """Opens independent store instances on one schema, as separate server processes would."""
    opened: list[PostgresEventStore] = []

    async def open_() -> PostgresEventStore:
        store = await PostgresEventStore.open(POSTGRES_URL, schema=pg_schema, max_connections=2)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.close()


@pytest.mark.postgres
async def test_concurrent_writers_never_let_a_follower_skip_an_event(open_store: OpenStore) -> None:
    # Each writer has its own pool, so its appends are separate transactions racing the
    # others' in PostgreSQL rather than being grouped into one call in this process.
    writers = [await open_store() for _ in range(WRITERS)]
    reader = await open_store()
    appended: list[UUID] = []
    seen: list[UUID] = []
    final_position: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def write(store: PostgresEventStore, writer: int) -> None:
        for i in range(APPENDS_PER_WRITER):
            events = [new_event() for _ in range(1 + i % 3)]
            await store.append(f"writer-{writer}-{i % 4}", events)
            appended.extend(e.event_id for e in events)

    async def follow() -> None:
        position = 0
        while not (final_position.done() and position >= final_position.result()):
            batch = await reader.read_all(position, limit=7)
            for event in batch:
                assert event.position > position, "the follower went backwards"
                position = event.position
                seen.append(event.event_id)
            if not batch:
                await reader.wait_for_append(position, 0.5)

    follower = asyncio.create_task(follow())
    await asyncio.gather(*(write(store, n) for n, store in enumerate(writers)))
    final_position.set_result(await reader.last_position())
    await asyncio.wait_for(follower, 60)

    assert len(seen) == len(set(seen)), "the follower saw an event twice"
    missed = set(appended) - set(seen)
    assert not missed, f"the follower skipped {len(missed)} of {len(appended)} events"
    assert len(seen) == len(appended) == final_position.result()


@pytest.mark.postgres
async def test_store_instances_on_one_schema_wake_each_others_subscribers(
    open_store: OpenStore,
) -> None:
    one, other = await open_store(), await open_store()
    for writer, subscriber in [(one, other), (other, one)]:
        spy = WaitSpy(subscriber)
        async with subscribed(spy, await subscriber.last_position(), safety_poll_s=60) as got:
            await asyncio.wait_for(spy.waiting.wait(), DEADLINE_S)
            event = new_event()
            await writer.append("s", [event])
            # Within the deadline, far below the 60 s poll: only NOTIFY can have woken it.
            assert [e.event_id for e in await take(got, 1)] == [event.event_id]


@pytest.mark.postgres
async def test_a_dropped_listener_reconnects_and_wakes_its_subscribers(
    open_store: OpenStore, pg_schema: str
) -> None:
    writer, subscriber = await open_store(), await open_store()
    spy = WaitSpy(subscriber)
    async with subscribed(spy, 0, safety_poll_s=60) as got:
        await asyncio.wait_for(spy.waiting.wait(), DEADLINE_S)
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            dropped = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE query = 'LISTEN \"hm_events_' || md5($1) || '\"'",
                pg_schema,
            )
        finally:
            await admin.close()
        assert dropped == 2
        event = new_event()
        await writer.append("s", [event])
        assert [e.event_id for e in await take(got, 1)] == [event.event_id]


@pytest.mark.postgres
async def test_a_value_postgresql_refuses_fails_only_its_own_append(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    good = new_event()

    outcomes = await asyncio.gather(
        store.append("bad", [new_event(user_id="nul \x00 inside")]),
        store.append("good", [good], NO_STREAM),
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], ValueError)
    assert isinstance(outcomes[1], AppendResult)
    assert [e.event_id for e in await store.read_all()] == [good.event_id]


async def test_unreachable_postgresql_is_reported_as_unavailable() -> None:
    with pytest.raises(EventStoreUnavailable, match="PostgreSQL"):
        await PostgresEventStore.open("postgresql://postgres@127.0.0.1:1/test", schema="x")


@pytest.mark.postgres
async def test_a_closed_store_refuses_work(open_store: OpenStore) -> None:
    store = await open_store()
    await store.close()

    with pytest.raises(EventStoreUnavailable, match="closed"):
        await store.append("s", [new_event()])
    with pytest.raises(EventStoreUnavailable, match="closed"):
        await store.last_position()
