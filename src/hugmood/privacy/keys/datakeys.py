"""Each person's data key, wrapped by the master key, in a store of its own.

A data key is made the first time a person's personal data is written and destroyed when
the person is erased: the row keeps a tombstone (no key) so that nothing can quietly make a
new key for an erased account. Destroying overwrites the row in place (SQLite's
`secure_delete`, then the write-ahead log is truncated), so the wrapped key is gone from
the files too. Unwrapped keys are kept in memory only while in use (a bounded cache).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESGCMSIV

from hugmood.domain.errors import NotFound
from hugmood.privacy.keys.errors import MasterKeyRefused
from hugmood.privacy.keys.master import KEY_BYTES, MasterKey, read_key_file
from hugmood.sql.database import SqlDatabase, Statement
from hugmood.sql.migrations import Migration, apply_migrations
from hugmood.sql.sqlite import SqliteDatabase, to_sqlite

COMPONENT = "datakeys"
MIGRATIONS = (
    Migration(
        1,
        "data keys",
        "CREATE TABLE IF NOT EXISTS hm_data_keys ("
        " user_id TEXT PRIMARY KEY,"
        " wrapped TEXT,"
        " master_key_id TEXT,"
        " created_at_ms BIGINT NOT NULL,"
        " destroyed_at_ms BIGINT);"
        "CREATE TABLE IF NOT EXISTS hm_master_key_check ("
        " id INTEGER PRIMARY KEY,"
        " master_key_id TEXT NOT NULL,"
        " check_value TEXT NOT NULL)",
    ),
)
CACHE_SIZE = 50_000
ERASED = "this account was erased"


@dataclass(frozen=True, slots=True)
class DataKey:
    """One person's data key, ready for its two uses."""

    gcm: AESGCM
    """Event fields and read-model cells: AES-256-GCM with a random nonce each time."""
    siv: AESGCMSIV
    """Blobs: AES-256-GCM-SIV, deterministic, so one person's same image is stored once."""

    @classmethod
    def of(cls, raw: bytes) -> DataKey:
        return cls(AESGCM(raw), AESGCMSIV(raw))


class DataKeyStore:
    """Wrapped per-person data keys on a SQL database (SQLite file or PostgreSQL table)."""

    def __init__(self, db: SqlDatabase, master: MasterKey) -> None:
        self._db = db
        self._master = master
        self._cache: OrderedDict[str, DataKey] = OrderedDict()
        self._erased: set[str] = set()

    @classmethod
    async def open(cls, db: SqlDatabase, master: MasterKey) -> DataKeyStore:
        """The store, its tables made, the master key checked against what the store was
        wrapped with: a missing or different key refuses (nothing is changed)."""
        await apply_migrations(db, COMPONENT, MIGRATIONS)
        store = cls(db, master)
        await store._check_master()
        return store

    @property
    def master(self) -> MasterKey:
        return self._master

    async def _check_master(self) -> None:
        row = await self._db.fetchrow("SELECT check_value FROM hm_master_key_check WHERE id = 1")
        if row is None:
            self._master = self._master.saved()
            await self._db.apply(
                [
                    (
                        "INSERT INTO hm_master_key_check (id, master_key_id, check_value)"
                        " VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
                        (self._master.key_id, self._master.check_value()),
                    )
                ]
            )
            row = await self._db.fetchrow(
                "SELECT check_value FROM hm_master_key_check WHERE id = 1"
            )
            assert row is not None
        if self._master.fresh and self._master.file is not None and self._master.file.exists():
            # Another process sharing the data directory made the key since this one looked.
            self._master = read_key_file(self._master.file)
        if self._master.opens(str(row[0])):
            return
        if self._master.fresh:
            raise MasterKeyRefused(
                f"the master key file {self._master.origin} is missing, but the data keys in "
                "this store were wrapped by a master key: restore that file (or set "
                "HUGMOOD_MASTER_KEY). A new key would leave every person's data unreadable"
            )
        raise MasterKeyRefused(
            f"the master key from {self._master.origin} is not the one that wrapped the data "
            "keys in this store: nothing was changed; start with the right key"
        )

    def cached(self, user_id: str) -> DataKey | None:
        """The person's key if this process holds it (no await: the append path's fast way)."""
        return self._cached(user_id)

    async def for_writing(self, user_id: str) -> DataKey:
        """The person's data key, made on first use; `NotFound` once they were erased."""
        cached = self._cached(user_id)
        if cached is not None:
            return cached
        if user_id in self._erased:
            raise NotFound(ERASED)
        fresh = secrets.token_bytes(KEY_BYTES)
        await self._db.apply(
            [
                (
                    "INSERT INTO hm_data_keys (user_id, wrapped, master_key_id, created_at_ms)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
                    (
                        user_id,
                        self._master.wrap(user_id, fresh),
                        self._master.key_id,
                        int(time.time() * 1000),
                    ),
                )
            ]
        )
        found = await self.for_reading([user_id])
        if user_id not in found:
            raise NotFound(ERASED)
        return found[user_id]

    async def for_reading(self, user_ids: Iterable[str]) -> dict[str, DataKey]:
        """The data keys of those of `user_ids` that still have one (erased people have none)."""
        keys: dict[str, DataKey] = {}
        missing = []
        for user_id in dict.fromkeys(user_ids):
            cached = self._cached(user_id)
            if cached is not None:
                keys[user_id] = cached
            elif user_id not in self._erased:
                missing.append(user_id)
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ", ".join(f"${i + 1}" for i in range(len(chunk)))
            rows = await self._db.fetch(
                f"SELECT user_id, wrapped FROM hm_data_keys WHERE user_id IN ({marks})", *chunk
            )
            for user_id, wrapped in rows:
                if wrapped is None:
                    self._erased.add(str(user_id))
                    continue
                try:
                    key = DataKey.of(self._master.unwrap(str(user_id), str(wrapped)))
                except (InvalidTag, ValueError) as e:
                    raise MasterKeyRefused(
                        f"the data key of one person does not unwrap under the master key "
                        f"from {self._master.origin}: was the key store altered?"
                    ) from e
                keys[str(user_id)] = self._remember(str(user_id), key)
        return keys

    async def destroy(self, user_id: str) -> None:
        """Destroy the person's data key for good (idempotent): everything encrypted under
        it can no longer be read, by this process or any other, from any copy."""
        self.forget(user_id)
        self._erased.add(user_id)
        now = int(time.time() * 1000)
        statement = (
            "INSERT INTO hm_data_keys (user_id, wrapped, master_key_id, created_at_ms,"
            " destroyed_at_ms) VALUES ($1, NULL, NULL, $2, $2) ON CONFLICT (user_id) DO UPDATE"
            " SET wrapped = NULL, master_key_id = NULL,"
            " destroyed_at_ms = COALESCE(hm_data_keys.destroyed_at_ms, $2)"
        )
        if isinstance(self._db, SqliteDatabase):
            await self._db.write(lambda conn: _destroy_in_sqlite(conn, statement, user_id, now))
            # The overwritten page is in the write-ahead log; the old one with the key
            # must not linger there either.
            await self._db.executescript("PRAGMA wal_checkpoint(TRUNCATE);")
        else:
            await self._db.apply([(statement, (user_id, now))])

    async def ensure_destroyed(self, user_id: str) -> None:
        """`destroy`, unless this process already knows the key is gone."""
        if user_id not in self._erased:
            await self.destroy(user_id)

    async def counts(self) -> tuple[int, int]:
        """How many people have had a data key, and how many of those were destroyed."""
        row = await self._db.fetchrow("SELECT COUNT(*), COUNT(destroyed_at_ms) FROM hm_data_keys")
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def forget(self, user_id: str) -> None:
        """Drop a cached key (another process erased the person)."""
        self._cache.pop(user_id, None)

    async def rotate(self, new_master: MasterKey) -> int:
        """Re-wrap every data key under `new_master` in one transaction (nothing else is
        rewritten); returns how many were re-wrapped. The store then opens only with it."""
        rows = await self._db.fetch(
            "SELECT user_id, wrapped FROM hm_data_keys WHERE wrapped IS NOT NULL"
        )
        statements: list[Statement] = [
            (
                "UPDATE hm_data_keys SET wrapped = $2, master_key_id = $3 WHERE user_id = $1",
                (
                    str(user_id),
                    new_master.wrap(str(user_id), self._master.unwrap(str(user_id), str(wrapped))),
                    new_master.key_id,
                ),
            )
            for user_id, wrapped in rows
        ]
        statements.append(
            (
                "UPDATE hm_master_key_check SET master_key_id = $1, check_value = $2 WHERE id = 1",
                (new_master.key_id, new_master.check_value()),
            )
        )
        await self._db.apply(statements)
        self._master = new_master
        return len(rows)

    def _cached(self, user_id: str) -> DataKey | None:
        key = self._cache.get(user_id)
        if key is not None:
            self._cache.move_to_end(user_id)
        return key

    def _remember(self, user_id: str, key: DataKey) -> DataKey:
        self._cache[user_id] = key
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return key


def _destroy_in_sqlite(conn: sqlite3.Connection, statement: str, user_id: str, now: int) -> None:
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute(to_sqlite(statement), (user_id, now))
