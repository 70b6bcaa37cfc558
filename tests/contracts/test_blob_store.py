"""The blob store contract, run against every backend: memory, files (SQLite) and PostgreSQL.

PostgreSQL runs at HUGMOOD_TEST_POSTGRES_URL, each test in a schema of its own; without it
these tests skip, or fail under CI=true.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from hugmood.blobs.files import FileBlobStore
from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.blobs.postgres import PostgresBlobStore
from hugmood.blobs.store import BlobStore, BlobStoreUnavailable, NamedBlobStore, blob_id_of
from tests.conftest import POSTGRES_URL

OpenStore = Callable[[], Awaitable[BlobStore]]


@dataclass(frozen=True)
class Backend:
    name: str
    root: Path
    pg_schema: str | None


@pytest.fixture(params=["memory", "files", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    schema = request.getfixturevalue("pg_schema") if request.param == "postgresql" else None
    return Backend(request.param, tmp_path / "blobs", schema)


@pytest.fixture
async def open_store(backend: Backend) -> AsyncIterator[OpenStore]:
    """Opens stores of the backend under test; all stores of one test share the same storage."""
    opened: list[BlobStore] = []
    shared = InMemoryBlobStore()

    async def open_() -> BlobStore:
        store: BlobStore
        if backend.name == "memory":
            return shared  # one process: the "other" store is the same one
        if backend.name == "files":
            store = FileBlobStore(backend.root)
        else:
            assert backend.pg_schema is not None
            store = await PostgresBlobStore.open(POSTGRES_URL, schema=backend.pg_schema)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.close()


async def test_a_stored_blob_reads_back_byte_identical_under_its_sha256(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    data = bytes(range(256)) * 40 + b"\x00tail"
    stored = await store.put(data)
    assert stored.blob_id == hashlib.sha256(data).hexdigest() == blob_id_of(data)
    assert stored.created
    assert await store.get(stored.blob_id) == data


async def test_the_same_bytes_twice_are_stored_once(open_store: OpenStore) -> None:
    store = await open_store()
    first = await store.put(b"same bytes")
    second = await store.put(b"same bytes")
    assert first.blob_id == second.blob_id
    assert (first.created, second.created) == (True, False)
    assert await store.get(first.blob_id) == b"same bytes"


async def test_concurrent_puts_of_the_same_bytes_store_one_blob(open_store: OpenStore) -> None:
    store, other = await open_store(), await open_store()
    data = os.urandom(300_000)
    results = await asyncio.gather(*(s.put(data) for s in (store, other, store, other)))
    assert {r.blob_id for r in results} == {blob_id_of(data)}
    assert await other.get(blob_id_of(data)) == data


async def test_an_unknown_or_malformed_id_reads_nothing(open_store: OpenStore) -> None:
    store = await open_store()
    await store.put(b"something")
    assert await store.get(blob_id_of(b"something else")) is None
    for malformed in ("", "../../etc/passwd", "ab", "Z" * 64, blob_id_of(b"x").upper()):
        assert await store.get(malformed) is None


async def test_blobs_outlive_the_store_that_wrote_them(open_store: OpenStore) -> None:
    writer = await open_store()
    stored = await writer.put(b"kept")
    await writer.close()
    reader = await open_store()
    assert await reader.get(stored.blob_id) == b"kept"
    assert not (await reader.put(b"kept")).created


async def test_a_deleted_blob_is_gone_for_every_store_and_others_stay(
    open_store: OpenStore,
) -> None:
    writer, reader = await open_store(), await open_store()
    gone, kept = await writer.put(b"forget me"), await writer.put(b"keep me")
    assert await writer.delete(gone.blob_id)
    assert await reader.get(gone.blob_id) is None
    assert await reader.get(kept.blob_id) == b"keep me"
    assert not await reader.delete(gone.blob_id), "a second delete finds nothing"
    for malformed in ("", "../../etc/passwd", "Z" * 64):
        assert not await reader.delete(malformed)
    assert (await reader.put(b"forget me")).created, "the same bytes may be stored again"


async def test_an_empty_blob_is_a_blob(open_store: OpenStore) -> None:
    store = await open_store()
    stored = await store.put(b"")
    assert await store.get(stored.blob_id) == b""


# --- backend-specific guarantees ----------------------------------------------------------


async def test_files_are_sharded_by_their_first_two_hex_digits_and_leave_no_temporaries(
    tmp_path: Path,
) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    stored = await store.put(b"a blob on disk")
    path = tmp_path / "blobs" / stored.blob_id[:2] / stored.blob_id
    assert path.read_bytes() == b"a blob on disk"
    assert [p.name for p in path.parent.iterdir()] == [stored.blob_id]


async def test_a_file_store_that_cannot_write_says_so(tmp_path: Path) -> None:
    (tmp_path / "blobs").write_text("a file where the folder should be")
    store = FileBlobStore(tmp_path / "blobs")
    with pytest.raises(BlobStoreUnavailable):
        await store.put(b"nowhere to go")


@pytest.mark.postgres
async def test_postgres_keeps_blobs_in_a_table_of_the_configured_schema(pg_schema: str) -> None:
    store = await PostgresBlobStore.open(POSTGRES_URL, schema=pg_schema)
    try:
        stored = await store.put(b"in the table")
    finally:
        await store.close()
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        row = await conn.fetchrow(
            f'SELECT data, size FROM "{pg_schema}".blobs WHERE blob_id = $1', stored.blob_id
        )
    finally:
        await conn.close()
    assert row is not None and (bytes(row[0]), row[1]) == (b"in the table", 12)


async def test_an_unreachable_postgres_is_reported_as_unavailable() -> None:
    with pytest.raises(BlobStoreUnavailable):
        await PostgresBlobStore.open("postgresql://postgres@127.0.0.1:1/none", schema="x")


async def test_a_blob_moved_from_another_region_keeps_its_id_once(open_store: OpenStore) -> None:
    store = await open_store()
    assert isinstance(store, NamedBlobStore)
    moved_id = blob_id_of(b"the id it had in the other region")
    assert await store.put_named(moved_id, b"sealed again here") is True
    assert await store.put_named(moved_id, b"a second run") is False  # nothing overwritten
    assert await (await open_store()).get(moved_id) == b"sealed again here"
    with pytest.raises(ValueError, match="not a blob id"):
        await store.put_named("../escape", b"x")
