"""The edge's durable queue of check-ins and hugs accepted while the home region is away: a
SQLite file in the edge's data dir, committed with a full fsync before the sender is answered,
one row per (kind, device-chosen id), each row sealed (AES-256-GCM, `sealing`)."""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from hugmood.domain.errors import Conflict
from hugmood.edge.commands import HeldCommand, from_json, to_json
from hugmood.edge.sealing import QueueSeal, QueueSealBroken
from hugmood.sql.sqlite import SqliteDatabase

log = logging.getLogger(__name__)

ID_TAKEN = "this id is already used; choose a new one"
UNREADABLE = "UNREADABLE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS held (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    accepted_at_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sealed BLOB NOT NULL,
    UNIQUE (kind, item_id)
);
CREATE TABLE IF NOT EXISTS refused (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    code TEXT NOT NULL,
    refused_at_ms INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class QueuedEntry:
    seq: int
    held: HeldCommand
    accepted_at_ms: int


def _aad(kind: str, item_id: str) -> bytes:
    return f"{kind}:{item_id}".encode()


class HeldQueue:
    """Accepted commands in the order they were accepted, until forwarded or refused."""

    def __init__(self, db: SqliteDatabase, seal: QueueSeal) -> None:
        self._db = db
        self._seal = seal

    @classmethod
    async def open(cls, path: Path, seal: QueueSeal) -> HeldQueue:
        # FULL: each commit is fsynced (WAL and the file) before `hold` returns, which is
        # what lets the edge tell the sender "accepted" while the region is away.
        db = SqliteDatabase(path, synchronous="FULL")
        await db.executescript(_SCHEMA)
        return cls(db, seal)

    async def close(self) -> None:
        await self._db.close()

    async def hold(self, held: HeldCommand) -> bool:
        """Keep `held` durably; True if new, False if this id was already held for the same
        person (a retry: kept once). Another person's id answers `CONFLICT` (decision 0011)."""
        kind, item_id = held.kind, held.item_id
        sealed = self._seal.seal(orjson.dumps(to_json(held)), _aad(kind, item_id))
        now_ms = int(time.time() * 1000)

        def insert(conn: sqlite3.Connection) -> bytes | None:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO held (kind, item_id, accepted_at_ms, sealed)"
                " VALUES (?, ?, ?, ?)",
                (kind, item_id, now_ms, sealed),
            )
            if cursor.rowcount == 1:
                return None
            row = conn.execute(
                "SELECT sealed FROM held WHERE kind = ? AND item_id = ?", (kind, item_id)
            ).fetchone()
            return bytes(row[0])

        existing = await self._db.write(insert)
        if existing is None:
            return True
        earlier = from_json(orjson.loads(self._seal.open(existing, _aad(kind, item_id))))
        if earlier.owner_id != held.owner_id:
            raise Conflict(ID_TAKEN, field="id")
        return False

    async def oldest(self, limit: int = 50) -> list[QueuedEntry]:
        """The oldest held commands. A row that does not open under this edge's key (the
        secret key changed) can never be forwarded: it is set aside as `UNREADABLE` rather
        than blocking everything behind it."""
        rows = await self._db.fetch(
            "SELECT seq, kind, item_id, accepted_at_ms, sealed FROM held ORDER BY seq LIMIT $1",
            limit,
        )
        entries = []
        for seq, kind, item_id, accepted_at_ms, sealed in rows:
            try:
                opened = self._seal.open(bytes(sealed), _aad(kind, item_id))
            except QueueSealBroken:
                log.error("a held %s does not open under this edge's key; set aside", kind)
                await self._set_aside(int(seq), str(kind), str(item_id), UNREADABLE)
                continue
            entries.append(
                QueuedEntry(int(seq), from_json(orjson.loads(opened)), int(accepted_at_ms))
            )
        return entries

    async def forwarded(self, seq: int) -> None:
        """The entry is in the region's store: it leaves the queue."""
        await self._db.write(lambda conn: conn.execute("DELETE FROM held WHERE seq = ?", (seq,)))

    async def refused(self, entry: QueuedEntry, code: str) -> None:
        """The region refused the entry (e.g. a hug to someone no longer a friend): its
        sealed content is deleted, its kind, id and the refusal's code are kept."""
        await self._set_aside(entry.seq, entry.held.kind, entry.held.item_id, code)

    async def _set_aside(self, seq: int, kind: str, item_id: str, code: str) -> None:
        now_ms = int(time.time() * 1000)

        def move(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM held WHERE seq = ?", (seq,))
            conn.execute(
                "INSERT OR REPLACE INTO refused (seq, kind, item_id, code, refused_at_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (seq, kind, item_id, code, now_ms),
            )

        await self._db.write(move)

    async def attempted(self, seq: int) -> None:
        await self._db.write(
            lambda conn: conn.execute(
                "UPDATE held SET attempts = attempts + 1 WHERE seq = ?", (seq,)
            )
        )

    async def depth(self) -> int:
        row = await self._db.fetchrow("SELECT COUNT(*) FROM held")
        return int(row[0]) if row else 0

    async def refusals(self) -> list[tuple[str, str, str]]:
        """(kind, id, code) of every entry the region refused, oldest first."""
        rows = await self._db.fetch("SELECT kind, item_id, code FROM refused ORDER BY seq")
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]
