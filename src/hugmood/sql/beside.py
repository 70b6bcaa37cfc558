"""A small database beside the log, on the same backend as the log: a SQLite file of its own
in the data directory, one kept in memory, or tables in the PostgreSQL schema (the data keys'
store, the regions' directory)."""

from __future__ import annotations

from pathlib import Path

from hugmood.private_files import private_dir
from hugmood.sql.database import SqlDatabase
from hugmood.sql.postgres import PostgresDatabase
from hugmood.sql.sqlite import SqliteDatabase


async def open_beside_the_log(
    database_url: str, data_dir: Path, file_name: str, *, schema: str
) -> SqlDatabase:
    """`database_url` as the log's (`memory`, `sqlite` or a `postgresql://` URL); SQLite
    writes every commit through (`synchronous=FULL`), as a store of keys must."""
    if database_url == "memory":
        return SqliteDatabase(None)
    if database_url == "sqlite":
        private_dir(data_dir)
        return SqliteDatabase(data_dir / file_name, synchronous="FULL")
    return await PostgresDatabase.connect(database_url, schema=schema, min_size=1, max_size=4)
