"""PostgreSQL through an asyncpg connection pool, optionally inside one schema."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from hugmood.sql.database import DatabaseUnavailable, Row, Statement
from hugmood.sql.sealed import CellCipher, prepared, query_args

T = TypeVar("T")

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_UNAVAILABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


class PostgresDatabase:
    """A pool of connections whose `search_path` is the configured schema."""

    engine = "postgresql"
    cells: CellCipher | None = None
    """Seals and opens read-model cells of personal data (`sql.sealed`); None: kept as given."""

    def __init__(self, pool: Any, schema: str) -> None:
        self._pool = pool
        self.schema = schema

    @classmethod
    async def connect(
        cls, dsn: str, *, schema: str = "public", min_size: int = 2, max_size: int = 10
    ) -> PostgresDatabase:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"invalid PostgreSQL schema name {schema!r}")
        try:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            except asyncpg.UniqueViolationError:
                pass  # another process created it at the same moment: IF NOT EXISTS races
            finally:
                await conn.close()
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                server_settings={"search_path": schema},
            )
        except _UNAVAILABLE as e:
            raise DatabaseUnavailable(f"cannot reach PostgreSQL: {e}") from e
        return cls(pool, schema)

    @property
    def pool(self) -> Any:
        return self._pool

    async def run(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run `fn(connection)` on a pooled connection, translating connection failures."""
        try:
            async with self._pool.acquire() as conn:
                return await fn(conn)
        except _UNAVAILABLE as e:
            raise DatabaseUnavailable(f"PostgreSQL failed: {e}") from e

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        args = tuple(await query_args(self.cells, args))
        rows: list[Row] = await self.run(lambda conn: conn.fetch(sql, *args))
        return rows if self.cells is None else await self.cells.open_cells(rows)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        args = tuple(await query_args(self.cells, args))
        row: Row | None = await self.run(lambda conn: conn.fetchrow(sql, *args))
        if row is None or self.cells is None:
            return row
        return (await self.cells.open_cells([row]))[0]

    async def apply(
        self, statements: Sequence[Statement], *, guard: Statement | None = None
    ) -> bool:
        statements = await prepared(self.cells, statements)

        async def run(conn: Any) -> bool:
            async with conn.transaction():
                if guard is not None:
                    status = await conn.execute(guard[0], *guard[1])
                    if not status.endswith(" 1"):
                        return False
                for sql, params in statements:
                    await conn.execute(sql, *params)
            return True

        return await self.run(run)

    async def close(self) -> None:
        await self._pool.close()
