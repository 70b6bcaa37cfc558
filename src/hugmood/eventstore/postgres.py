"""The PostgreSQL event store: gap-safe positions, one round trip per group of appends, and
wake-ups across processes through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

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
from hugmood.sql.database import DatabaseUnavailable
from hugmood.sql.migrations import migrate
from hugmood.sql.postgres import PostgresDatabase
from hugmood.tasks import cancel_and_wait

# `append_events` (see the migration) checks, numbers, inserts and notifies in one call.
_APPEND = (
    "SELECT outcome, stream_version, positions "
    "FROM append_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)

_FAILURES = (DatabaseUnavailable, asyncpg.PostgresError, asyncpg.InterfaceError, OSError)

EventRow = tuple[UUID, str, int, int, str | None, str, str]
"""event_id, event_type, version, timestamp_ms, user_id, data, metadata: what the caller gave."""


@dataclass(frozen=True, slots=True)
class _Append:
    stream_id: str
    expected_version: int | None
    rows: list[EventRow]


class PostgresEventStore:
    """Events in one PostgreSQL schema, shared safely by any number of processes.

    Concurrent appends from this process are grouped into one call of `append_events` (one
    transaction, one commit); appends from every process are serialised on the log's head row,
    which is what keeps positions gap-safe for readers.
    """

    def __init__(
        self,
        db: PostgresDatabase,
        notifier: AppendNotifier,
        listener: _NotifyListener,
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._listener = listener
        self._commits: GroupCommit[_Append, AppendResult] = GroupCommit(self._flush)
        self._closed = False

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        schema: str = "public",
        max_connections: int = 10,
    ) -> PostgresEventStore:
        """Connect, bring the schema's event tables up to date and start listening."""
        try:
            db = await PostgresDatabase.connect(
                dsn, schema=schema, min_size=1, max_size=max_connections
            )
        except DatabaseUnavailable as e:
            raise EventStoreUnavailable(str(e)) from e
        notifier = AppendNotifier()
        try:
            await migrate(db, "eventstore", "hugmood.eventstore")
            head = await db.fetchrow("SELECT channel FROM events_head")
            assert head is not None, "the migration inserts the head row"
            listener = _NotifyListener(dsn, head[0], notifier)
            await listener.connect()
        except _FAILURES as e:
            await db.close()
            raise EventStoreUnavailable(f"cannot open the event store in {schema!r}: {e}") from e
        return cls(db, notifier, listener)

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None = ANY_VERSION,
    ) -> AppendResult:
        self._ensure_open()
        if not events:
            found = await self._fetch(
                "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1",
                stream_id,
            )
            return AppendResult(stream_version=found[0][0], positions=())
        rows = [event_row(e, e.event_id) for e in events]
        with append_span("postgresql", len(rows)):
            return await self._commits.submit(_Append(stream_id, expected_version, rows))

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        rows = await self._fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 "
            "ORDER BY stream_version",
            stream_id,
            from_version,
        )
        return [self._decode(row) for row in rows]

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        rows = await self._fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
            after_position,
            max(limit, 0),
        )
        return [self._decode(row) for row in rows]

    async def last_position(self) -> int:
        rows = await self._fetch("SELECT last_position FROM events_head")
        position: int = rows[0][0]
        return position

    async def wait_for_append(self, after_position: int, timeout: float) -> None:
        # Woken by this process's appends at once, and by other processes' through NOTIFY.
        await self._notifier.wait(after_position, timeout)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._commits.drain()
        await self._listener.close()
        await self._db.close()

    def _ensure_open(self) -> None:
        if self._closed:
            raise EventStoreUnavailable("the event store is closed")

    def _decode(self, row: Any) -> RecordedEvent:
        return decode_row(row, UUID(bytes=row[1].bytes))

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        self._ensure_open()
        try:
            return await self._db.fetch(sql, *args)
        except _FAILURES as e:
            raise EventStoreUnavailable(f"PostgreSQL event store failed: {e}") from e

    async def _flush(self, requests: list[_Append]) -> list[AppendResult | Exception]:
        try:
            rows = await self._db.run(lambda conn: conn.fetch(_APPEND, *_arguments(requests)))
        except asyncpg.DataError as e:
            if len(requests) > 1:
                # Some request holds a value PostgreSQL refuses (a NUL in a text, an int out of
                # range); appending each alone keeps it from failing the others.
                return [outcome for r in requests for outcome in await self._flush([r])]
            return [_failed(ValueError(f"PostgreSQL cannot store this append: {e}"), e)]
        except _FAILURES as e:
            message = f"PostgreSQL event store failed; nothing was acknowledged: {e}"
            return [_failed(EventStoreUnavailable(message), e) for _ in requests]
        outcomes = [_outcome(r, row) for r, row in zip(requests, rows, strict=True)]
        appended = [
            o.last_position for o in outcomes if isinstance(o, AppendResult) and not o.duplicate
        ]
        if appended:
            self._notifier.notify(max(appended))
        return outcomes


def _arguments(requests: list[_Append]) -> list[list[Any]]:
    """The function's ten array arguments: three per request, seven per event (flattened)."""
    events = [row for r in requests for row in r.rows]
    return [
        [r.stream_id for r in requests],
        [r.expected_version for r in requests],
        [len(r.rows) for r in requests],
        *(list(column) for column in zip(*events, strict=True)),
    ]


def _outcome(request: _Append, row: Any) -> AppendResult | Exception:
    outcome, version, positions = row
    if outcome == "appended":
        return AppendResult(stream_version=version, positions=tuple(positions))
    if outcome == "duplicate":
        return AppendResult(stream_version=version, positions=tuple(positions), duplicate=True)
    if outcome == "conflict" and request.expected_version is not None:
        return ConcurrencyError(request.stream_id, request.expected_version, version)
    if outcome == "partial_duplicate":
        return partially_stored()
    if outcome == "repeated_id":
        return repeated_event_id()
    return EventStoreUnavailable(f"append_events answered an unknown outcome {outcome!r}")


def _failed(error: Exception, cause: BaseException) -> Exception:
    error.__cause__ = cause
    return error


class _NotifyListener:
    """A dedicated connection that LISTENs on the schema's channel, reconnecting if it drops.

    Every append commits a NOTIFY with its last position, so subscribers in every process wake
    as soon as an event is visible, not on their safety poll.
    """

    def __init__(self, dsn: str, channel: str, notifier: AppendNotifier) -> None:
        self._dsn = dsn
        self._channel = channel
        self._notifier = notifier
        self._conn: Any = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False

    async def connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(self._channel, self._on_notify)
        conn.add_termination_listener(self._on_lost)
        if self._closed:
            await conn.close()
            return
        self._conn = conn

    async def close(self) -> None:
        self._closed = True
        await cancel_and_wait(self._reconnecting)
        if self._conn is not None:
            await self._conn.close()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        # The payload is the appender's last position; any other NOTIFY still means "read".
        position = int(payload) if payload.isdigit() else self._notifier.last_position
        self._notifier.notify(position)

    def _on_lost(self, conn: Any) -> None:
        if not self._closed and self._reconnecting is None:
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.05
        try:
            while not self._closed:
                try:
                    await self.connect()
                except _FAILURES:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                # Notifications sent while nobody listened are lost: wake every waiter so it
                # reads again rather than sleeping until its safety poll.
                self._notifier.notify(self._notifier.last_position)
                return
        finally:
            self._reconnecting = None
