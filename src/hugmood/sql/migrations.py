"""Versioned schema migrations per component, applied once: numbered `.sql` files (per engine)
for the event store and blobs, or declared in code beside the tables they create (each read
model)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from importlib import resources
from typing import Any

from hugmood.sql.database import SqlDatabase
from hugmood.sql.postgres import PostgresDatabase
from hugmood.sql.sqlite import SqliteDatabase

_LEDGER = """
CREATE TABLE IF NOT EXISTS hm_schema_migrations (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL,
    PRIMARY KEY (component, version)
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str
    rebuild: bool = False
    """Read models only: it changes what a table holds, so once applied to a database that
    already follows the log, every read model is rebuilt from it (`projections.schema`)."""


def load_migrations(package: str, engine: str) -> list[Migration]:
    """Files named `NNNN_what.sql` in `<package>/migrations/<engine>/`, in order.

    A component whose SQL both engines run alike keeps one `migrations/portable/` folder.
    """
    migrations = resources.files(package).joinpath("migrations")
    folder = migrations.joinpath(engine)
    if not folder.is_dir():
        folder = migrations.joinpath("portable")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    found.sort(key=lambda m: m.version)
    return found


async def migrate(db: SqlDatabase, component: str, package: str) -> list[int]:
    """Apply the `.sql` files of `package` (`load_migrations`) as `component`."""
    return await apply_migrations(db, component, load_migrations(package, db.engine))


async def applied_versions(db: SqlDatabase, component: str) -> set[int]:
    """The versions of `component` already applied (none on a database never migrated)."""
    await db.apply([(_LEDGER, ())])
    rows = await db.fetch(
        "SELECT version FROM hm_schema_migrations WHERE component = $1", component
    )
    return {int(r[0]) for r in rows}


async def apply_migrations(
    db: SqlDatabase, component: str, migrations: Sequence[Migration]
) -> list[int]:
    """Apply every migration of `component` not yet applied; returns the versions applied.

    Each migration and its ledger row commit together, so a crash leaves it wholly applied
    or not at all. On PostgreSQL an advisory lock keeps concurrent starters from racing.
    """
    migrations = sorted(migrations, key=lambda m: m.version)
    if isinstance(db, SqliteDatabase):
        return await _migrate_sqlite(db, component, migrations)
    if isinstance(db, PostgresDatabase):
        return await _migrate_postgres(db, component, migrations)
    raise TypeError(f"no migration runner for {type(db).__name__}")


async def _migrate_sqlite(
    db: SqliteDatabase, component: str, migrations: list[Migration]
) -> list[int]:
    await db.executescript(_LEDGER)
    applied = {
        row[0]
        for row in await db.fetch(
            "SELECT version FROM hm_schema_migrations WHERE component = $1", component
        )
    }
    done = []
    for m in migrations:
        if m.version in applied:
            continue
        await db.write(partial(_apply_sqlite, component=component, migration=m))
        done.append(m.version)
    return done


def _apply_sqlite(conn: sqlite3.Connection, component: str, migration: Migration) -> None:
    """Run a migration statement by statement inside the caller's transaction.

    `executescript` would commit any open transaction first, so a script failing half-way
    could not be rolled back; splitting on complete statements keeps it all-or-nothing.
    """
    statement = ""
    for piece in migration.sql.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \t\r\n;"):
                conn.execute(statement)
            statement = ""
    if statement.strip(" \t\r\n;"):
        raise ValueError(f"migration {migration.version} ends with an incomplete statement")
    conn.execute(
        "INSERT INTO hm_schema_migrations VALUES "
        "(?, ?, ?, CAST(strftime('%s','now') AS INTEGER) * 1000)",
        (component, migration.version, migration.name),
    )


async def _migrate_postgres(
    db: PostgresDatabase, component: str, migrations: list[Migration]
) -> list[int]:
    async def run(conn: Any) -> list[int]:
        done: list[int] = []
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('hm_schema_migrations'))")
            await conn.execute(_LEDGER)
            applied = {
                r[0]
                for r in await conn.fetch(
                    "SELECT version FROM hm_schema_migrations WHERE component = $1", component
                )
            }
            for m in migrations:
                if m.version in applied:
                    continue
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO hm_schema_migrations VALUES ($1, $2, $3, "
                    "(extract(epoch from now()) * 1000)::bigint)",
                    component,
                    m.version,
                    m.name,
                )
                done.append(m.version)
        return done

    return await db.run(run)
