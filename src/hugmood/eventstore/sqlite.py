"""The SQLite event store, the embedded default: durable appends that share commits under load."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.group_commit import GroupCommit
from hugmood.eventstore.notifier import AppendNotifier
from hugmood.eventstore.sqlcommon import (
    EVENT_COLUMNS,
    decode_row,
    event_row,
    partially_stored,
    repeated_event_id,
)
from hugmood.eventstore.store import (
    ANY_VERSION,
    AppendResult,
    ConcurrencyError,
    EventStoreUnavailable,
)
from hugmood.observability.tracing import append_span
from hugmood.private_files import private_dir
from hugmood.sql.database import DatabaseUnavailable
from hugmood.sql.migrations import migrate
from hugmood.sql.sqlite import SqliteDatabase, Synchronous

T = TypeVar("T")

_FAILURES = (DatabaseUnavailable, sqlite3.Error, BrokenExecutor, OSError)
"""What a failing or unreachable database file raises (a broken pool: it could not be opened)."""

_LOOKUP_CHUNK = 500
"""Event ids per `IN (…)` lookup, well under SQLite's limit on bound parameters."""

EventRow = tuple[bytes, str, int, int, str | None, str, str]
"""event_id, event_type, version, timestamp_ms, user_id, data, metadata: what the caller gave."""


@dataclass(frozen=True, slots=True)
class _Append:
    stream_id: str
    expected_version: int | None
    rows: list[EventRow]


class SqliteEventStore:
    """Events in one SQLite file (WAL); `synchronous=FULL` makes every acknowledged append durable.

    Appends go through group commit: all appends waiting while a transaction is being written
    are written together in the next one, each inside its own savepoint, so they share one
    fsync and one append's conflict does not fail the others.
    """

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._notifier = AppendNotifier()
        self._commits: GroupCommit[_Append, AppendResult] = GroupCommit(self._flush)
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        synchronous: Synchronous = "FULL",
    ) -> SqliteEventStore:
        """Open (creating if needed) the event store file at `path` and bring its schema up."""
        path = Path(path)
        db = SqliteDatabase(path, synchronous=synchronous)
        try:
            private_dir(path.parent)
            await migrate(db, "eventstore", "hugmood.eventstore")
        except _FAILURES as e:
            await db.close()
            raise EventStoreUnavailable(f"cannot open the event store at {path}: {e}") from e
        return cls(db)

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None = ANY_VERSION,
    ) -> AppendResult:
        self._ensure_open()
        if not events:
            version = await self._read(lambda conn: _stream_version(conn, stream_id))
            return AppendResult(stream_version=version, positions=())
        rows = [event_row(e, e.event_id.bytes) for e in events]
        with append_span("sqlite", len(rows)):
            return await self._commits.submit(_Append(stream_id, expected_version, rows))

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        sql = (
            f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ? AND stream_version >= ? "
            "ORDER BY stream_version"
        )
        return await self._read(lambda conn: _select(conn, sql, (stream_id, from_version)))

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
        params = (after_position, max(limit, 0))
        return await self._read(lambda conn: _select(conn, sql, params))

    async def last_position(self) -> int:
        return await self._read(_last_position)

    async def wait_for_append(self, after_position: int, timeout: float) -> None:
        # Only appends made through this store wake it; another process writing the same file
        # is seen on the subscription's safety poll.
        await self._notifier.wait(after_position, timeout)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._commits.drain()
        await self._db.close()

    def _ensure_open(self) -> None:
        if self._closed:
            raise EventStoreUnavailable("the event store is closed")

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._ensure_open()
        try:
            return await self._db.read(fn)
        except _FAILURES as e:
            raise EventStoreUnavailable(f"SQLite event store failed: {e}") from e

    async def _flush(self, requests: list[_Append]) -> list[AppendResult | Exception]:
        try:
            outcomes = await self._db.write(lambda conn: _write_group(conn, requests))
        except _FAILURES as e:
            return [_unavailable(e) for _ in requests]
        appended = [
            o.last_position for o in outcomes if isinstance(o, AppendResult) and not o.duplicate
        ]
        if appended:
            self._notifier.notify(max(appended))
        return outcomes


def _unavailable(cause: BaseException) -> EventStoreUnavailable:
    error = EventStoreUnavailable(f"SQLite event store failed; nothing was appended: {cause}")
    error.__cause__ = cause
    return error


def _write_group(
    conn: sqlite3.Connection, requests: list[_Append]
) -> list[AppendResult | Exception]:
    """Runs on the writer thread, inside the group's transaction."""
    head: int = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
    outcomes: list[AppendResult | Exception] = []
    for request in requests:
        conn.execute("SAVEPOINT append_request")
        try:
            result = _append_one(conn, request, head)
        except Exception as e:  # whatever fails one request is undone and stays with it
            conn.execute("ROLLBACK TO append_request")
            outcomes.append(_unavailable(e) if isinstance(e, sqlite3.Error) else e)
        else:
            if not result.duplicate:
                head = result.last_position
            outcomes.append(result)
        conn.execute("RELEASE append_request")
    return outcomes


def _append_one(conn: sqlite3.Connection, request: _Append, head: int) -> AppendResult:
    ids = [row[0] for row in request.rows]
    known = _stored(conn, ids)
    originals = [known[i] for i in ids if i in known]
    if len(originals) == len(ids):
        return AppendResult(
            stream_version=originals[-1][1],
            positions=tuple(position for position, _ in originals),
            duplicate=True,
        )
    if originals:
        raise partially_stored()
    if len(set(ids)) != len(ids):
        raise repeated_event_id()
    current = _stream_version(conn, request.stream_id)
    expected = request.expected_version
    if expected is not None and expected != current:
        raise ConcurrencyError(request.stream_id, expected, current)
    conn.executemany(
        f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (head + i, row[0], request.stream_id, current + i, *row[1:])
            for i, row in enumerate(request.rows, start=1)
        ],
    )
    n = len(request.rows)
    return AppendResult(stream_version=current + n, positions=tuple(range(head + 1, head + n + 1)))


def _stored(conn: sqlite3.Connection, event_ids: list[bytes]) -> dict[bytes, tuple[int, int]]:
    """`event_id -> (position, stream_version)` for the ids already stored."""
    found: dict[bytes, tuple[int, int]] = {}
    for chunk in _chunks(event_ids, _LOOKUP_CHUNK):
        marks = ", ".join("?" * len(chunk))
        for event_id, position, version in conn.execute(
            f"SELECT event_id, position, stream_version FROM events WHERE event_id IN ({marks})",
            chunk,
        ):
            found[event_id] = (position, version)
    return found


def _chunks(items: list[bytes], size: int) -> Iterator[list[bytes]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stream_version(conn: sqlite3.Connection, stream_id: str) -> int:
    version: int = conn.execute(
        "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = ?", (stream_id,)
    ).fetchone()[0]
    return version


def _last_position(conn: sqlite3.Connection) -> int:
    position: int = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
    return position


def _select(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[RecordedEvent]:
    return [decode_row(row, UUID(bytes=row[1])) for row in conn.execute(sql, params)]
