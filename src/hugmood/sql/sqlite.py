"""SQLite on dedicated threads: one writer connection and a few reader connections (WAL)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from hugmood.private_files import private_sqlite
from hugmood.sql.database import DatabaseUnavailable, Row, Statement
from hugmood.sql.sealed import CellCipher, prepared, query_args

T = TypeVar("T")
Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]

_PARAM = re.compile(r"\$(\d+)")


@lru_cache(maxsize=1024)
def to_sqlite(sql: str) -> str:
    """Portable `$1` parameters become SQLite's numbered `?1`."""
    return _PARAM.sub(r"?\1", sql)


class SqliteDatabase:
    """One SQLite file (or a private in-memory database) used from asyncio.

    SQLite allows one writer at a time, so every write runs on a single writer thread, in
    order; reads run on separate connections, which WAL lets proceed during a write. An
    in-memory database has only the writer connection, which then serves reads too.
    """

    engine = "sqlite"
    cells: CellCipher | None = None
    """Seals and opens read-model cells of personal data (`sql.sealed`); None: kept as given."""

    def __init__(self, path: Path | None, *, synchronous: Synchronous = "FULL") -> None:
        self._path = path
        self._synchronous = synchronous
        self._local = threading.local()
        self._writer = ThreadPoolExecutor(1, "sqlite-writer", initializer=self._open_on_thread)
        self._reader: sqlite3.Connection | None = None
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()

    @property
    def path(self) -> Path | None:
        return self._path

    def _open_on_thread(self) -> None:
        self._local.conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self._path is not None:
            private_sqlite(self._path)
        target = str(self._path) if self._path is not None else ":memory:"
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        if self._path is not None:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        # What is deleted (an erased person's rows) is overwritten, not left in free pages.
        conn.execute("PRAGMA secure_delete = ON")
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = self._local.conn
        return conn

    async def _run(self, executor: ThreadPoolExecutor, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, lambda: fn(self._conn()))
        except sqlite3.OperationalError as e:
            raise DatabaseUnavailable(f"SQLite failed: {e}") from e

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` for a read.

        A file database reads on the event loop's own connection: WAL lets a reader proceed
        while the writer thread writes, and the short indexed reads HugMood makes cost less
        than the hop to a thread and back (measured: about 1.5x more requests per second).
        A private in-memory database exists only on the writer's connection, so it reads there.
        """
        if self._path is None:
            return await self._run(self._writer, fn)
        if self._reader is None:
            self._reader = self._connect()
        try:
            return fn(self._reader)
        except sqlite3.OperationalError as e:
            raise DatabaseUnavailable(f"SQLite failed: {e}") from e

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` on the writer thread inside one `BEGIN IMMEDIATE` transaction."""

        def in_transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._run(self._writer, in_transaction)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        query, args = to_sqlite(sql), tuple(await query_args(self.cells, args))
        rows: list[Row] = await self.read(lambda conn: conn.execute(query, args).fetchall())
        return rows if self.cells is None else await self.cells.open_cells(rows)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        query, args = to_sqlite(sql), tuple(await query_args(self.cells, args))
        row: Row | None = await self.read(lambda conn: conn.execute(query, args).fetchone())
        if row is None or self.cells is None:
            return row
        return (await self.cells.open_cells([row]))[0]

    async def apply(
        self, statements: Sequence[Statement], *, guard: Statement | None = None
    ) -> bool:
        class _GuardFailed(Exception):
            pass

        statements = await prepared(self.cells, statements)

        def run(conn: sqlite3.Connection) -> None:
            if (
                guard is not None
                and conn.execute(to_sqlite(guard[0]), tuple(guard[1])).rowcount != 1
            ):
                raise _GuardFailed
            for sql, params in statements:
                conn.execute(to_sqlite(sql), tuple(params))

        try:
            await self.write(run)
        except _GuardFailed:
            return False
        return True

    async def executescript(self, script: str) -> None:
        """Run a whole SQL script on the writer (used by migrations, which bring their own BEGIN)."""
        await self._run(self._writer, lambda conn: conn.executescript(script))

    async def close(self) -> None:
        self._writer.shutdown(wait=True)
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
