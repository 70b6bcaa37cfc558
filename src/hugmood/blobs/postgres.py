"""Blobs in PostgreSQL, a `blobs` table (bytea) beside the event log in the same schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hugmood.blobs.store import (
    BLOB_ID,
    BlobStoreUnavailable,
    StoredBlob,
    blob_id_of,
    check_blob_id,
)
from hugmood.sql.database import DatabaseUnavailable
from hugmood.sql.migrations import migrate
from hugmood.sql.postgres import PostgresDatabase

T = TypeVar("T")


class PostgresBlobStore:
    """Owns a small pool of its own: a blob of megabytes should not hold up read-model queries."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    @classmethod
    async def open(cls, dsn: str, *, schema: str = "public") -> PostgresBlobStore:
        try:
            db = await PostgresDatabase.connect(dsn, schema=schema, min_size=1, max_size=4)
        except DatabaseUnavailable as e:
            raise BlobStoreUnavailable(str(e)) from e
        try:
            await migrate(db, "blobs", "hugmood.blobs")
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def put(self, data: bytes, *, owner: str | None = None) -> StoredBlob:
        blob_id = blob_id_of(data)
        return StoredBlob(blob_id, await self.put_named(blob_id, data))

    async def put_named(self, blob_id: str, data: bytes) -> bool:
        check_blob_id(blob_id)
        # Concurrent writers of the same bytes: one inserts, the other sees the conflict and
        # returns no row; either way the blob is there once the statement has run.
        row = await self._run(
            lambda conn: conn.fetchrow(
                "INSERT INTO blobs (blob_id, data, size) VALUES ($1, $2, $3)"
                " ON CONFLICT (blob_id) DO NOTHING RETURNING blob_id",
                blob_id,
                data,
                len(data),
            )
        )
        return row is not None

    async def get(self, blob_id: str) -> bytes | None:
        if not BLOB_ID.match(blob_id):
            return None
        row = await self._run(
            lambda conn: conn.fetchrow("SELECT data FROM blobs WHERE blob_id = $1", blob_id)
        )
        return None if row is None else bytes(row[0])

    async def delete(self, blob_id: str) -> bool:
        if not BLOB_ID.match(blob_id):
            return False
        row = await self._run(
            lambda conn: conn.fetchrow(
                "DELETE FROM blobs WHERE blob_id = $1 RETURNING blob_id", blob_id
            )
        )
        return row is not None

    async def close(self) -> None:
        await self._db.close()

    async def _run(self, statement: Callable[[Any], Awaitable[T]]) -> T:
        try:
            return await self._db.run(statement)
        except DatabaseUnavailable as e:
            raise BlobStoreUnavailable(str(e)) from e
