"""The coordinator's journal on real stores: rebuilt after a crash mid-round with nothing
counted twice, published weights read back from the blob store, one writer at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest

from hugmood.blobs.files import FileBlobStore
from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.blobs.postgres import PostgresBlobStore
from hugmood.blobs.store import BlobStore
from hugmood.eventstore.mapper import MappedEventStore, Mapper
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.eventstore.postgres import PostgresEventStore
from hugmood.eventstore.sqlite import SqliteEventStore
from hugmood.eventstore.store import ConcurrencyError, EventStore
from hugmood.eventstore.upcasting import NO_UPCASTERS
from hugmood.learning.aggregation import Update, UpdateRejected
from hugmood.learning.coordinator import Capabilities, Evaluation
from hugmood.learning.journal import STREAM, DurableCoordinator, JournalBroken
from hugmood.learning.model import PARAMETERS, Metrics, Vector, initial_parameters
from tests.conftest import POSTGRES_URL

Stores = tuple[Callable[[], Awaitable[EventStore]], BlobStore]
"""How to open the event store (again, as a restarted process would) and the blob store."""


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """The backend's name, and a fresh PostgreSQL schema for PostgreSQL."""
    schema = request.getfixturevalue("pg_schema") if request.param == "postgresql" else None
    return request.param, schema


@pytest.fixture
async def stores(backend: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[Stores]:
    """Each backend as the application uses it (behind the mapper); opening again gives a new
    store on the same data, as a restarted process would get."""
    opened: list[EventStore] = []
    memory = InMemoryEventStore()
    name, schema = backend

    async def reopen() -> EventStore:
        inner: EventStore
        if name == "memory":
            inner = memory
        elif schema is None:
            inner = await SqliteEventStore.open(tmp_path / "events.sqlite3")
        else:
            inner = await PostgresEventStore.open(POSTGRES_URL, schema=schema)
        store = MappedEventStore(inner, Mapper(NO_UPCASTERS))
        opened.append(store)
        return store

    blobs: BlobStore
    if schema is not None:
        blobs = await PostgresBlobStore.open(POSTGRES_URL, schema=schema)
    elif name == "sqlite":
        blobs = FileBlobStore(tmp_path / "blobs")
    else:
        blobs = InMemoryBlobStore()
    yield reopen, blobs
    for store in opened:
        await store.close()
    await blobs.close()


async def _load(store: EventStore, blobs: BlobStore) -> DurableCoordinator:
    return await DurableCoordinator.load(
        store,
        blobs,
        initial=initial_parameters(),
        norm_bound=5.0,
        round_seconds=60,
        clock=lambda: 0.0,
    )


def _update(client: str, version: int = 0) -> Update:
    return Update(client, version, np.full(PARAMETERS, 0.01), 10)


def _better(theta: Vector) -> Evaluation:
    m = Metrics(10, 0.5, 1 - float(theta.sum()), 0.1)
    return Evaluation(m, m)


def _mean(updates: list[Update]) -> Vector:
    mean: Vector = np.mean([u.delta for u in updates], axis=0)
    return mean


async def test_a_restart_mid_round_abandons_it_and_counts_no_update_twice(stores: Stores) -> None:
    open_store, blobs = stores
    store = await open_store()
    coordinator = await _load(store, blobs)
    for name in ("a", "b", "c"):
        await coordinator.register(name, Capabilities(PARAMETERS), consented=name != "c")
    await coordinator.open_round()
    await coordinator.submit("u-a", _update("a"))
    version = await coordinator.close(_mean, _better, epsilon=0.5)
    assert version is not None
    await coordinator.open_round()
    await coordinator.submit("u-b", _update("b", version=1))
    del coordinator  # the process dies here, its round open, one update in memory

    store = await open_store()  # a new process opens the same store
    again = await _load(store, blobs)
    assert again.coordinator.current_round is None  # the open round was abandoned
    assert again.coordinator.current.number == 1
    assert np.array_equal(again.coordinator.current.parameters, version.parameters)
    assert again.coordinator.current.epsilon == 0.5
    await again.open_round()
    with pytest.raises(UpdateRejected) as replayed:
        await again.submit("u-b", _update("b", version=1))
    assert replayed.value.code == "REPLAYED"
    with pytest.raises(UpdateRejected) as no_consent:
        await again.submit("u-c", _update("c", version=1))
    assert no_consent.value.code == "NO_CONSENT"
    await again.submit("u-b2", _update("b", version=1))
    published = await again.close(_mean, _better, epsilon=0.9)
    assert published is not None and published.number == 2
    kinds = [e.event_type for e in await store.read_stream(STREAM)]
    assert kinds.count("ModelUpdateAccepted") == 3
    assert kinds.count("ModelVersionPublished") == 2
    closed = [e.data for e in await store.read_stream(STREAM) if e.event_type == "ModelRoundClosed"]
    assert [c["outcome"] for c in closed] == ["published", "abandoned", "published"]
    assert closed[0]["participants"] == 1 and closed[2]["participants"] == 1


async def test_a_second_coordinator_on_the_same_stream_cannot_write(stores: Stores) -> None:
    open_store, blobs = stores
    first = await _load(await open_store(), blobs)
    second = await _load(await open_store(), blobs)
    await first.register("a", Capabilities(PARAMETERS), consented=True)
    with pytest.raises(ConcurrencyError):
        await second.register("b", Capabilities(PARAMETERS), consented=True)
    with pytest.raises(JournalBroken):
        await second.open_round()
