"""Each read model brings its own tables up to date at start; a database from the older layout
(one `projections` component, versions 1 to 7) is kept when complete, and cleared to be
rebuilt from the log when it stopped part way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hugmood.bootstrap import open_read_models
from hugmood.config import Settings
from hugmood.projections.catalog import all_projections
from hugmood.sql.database import SqlDatabase
from hugmood.sql.migrations import applied_versions, apply_migrations
from hugmood.sql.postgres import PostgresDatabase
from hugmood.sql.sqlite import SqliteDatabase

ACCOUNT = (
    "INSERT INTO rm_accounts (user_id, handle, display_name, home_region, default_visibility,"
    " registered_at_ms) VALUES ('u1', 'ann', 'Ann', 'eu-west', 'private', 1)"
)
CHECKPOINT = "INSERT INTO rm_checkpoints (projection, position) VALUES ('read_models', 9)"


async def raw_database(settings: Settings) -> SqlDatabase:
    if settings.database_url == "sqlite":
        return SqliteDatabase(settings.data_dir / "readmodels.sqlite3")
    return await PostgresDatabase.connect(settings.database_url, schema=settings.postgres_schema)


@pytest.fixture
async def legacy(durable_settings: Settings) -> AsyncIterator[SqlDatabase]:
    db = await raw_database(durable_settings)
    await applied_versions(db, "projections")  # the ledger, as every version had it
    yield db
    await db.close()


async def record_legacy_versions(db: SqlDatabase, up_to: int) -> None:
    await db.apply(
        [
            ("INSERT INTO hm_schema_migrations VALUES ('projections', $1, 'old', 0)", (v,))
            for v in range(1, up_to + 1)
        ]
    )


async def test_a_fresh_database_gets_every_read_models_tables(durable_settings: Settings) -> None:
    db = await open_read_models(durable_settings)
    try:
        for projection in all_projections():
            assert await applied_versions(db, f"readmodel:{projection.name}") == {
                m.version for m in projection.migrations
            }
            for table in projection.tables:
                assert await db.fetch(f"SELECT COUNT(*) FROM {table}") == [(0,)]
    finally:
        await db.close()


async def test_a_complete_older_layout_is_kept_with_its_data(
    durable_settings: Settings, legacy: SqlDatabase
) -> None:
    # Version 7 of the older layout made exactly the tables the read models' first
    # migrations declare (later ones, such as a column added since, are applied on top).
    for projection in all_projections():
        await apply_migrations(legacy, "scratch", projection.migrations[:1])
        await legacy.apply([("DELETE FROM hm_schema_migrations WHERE component = 'scratch'", ())])
    await legacy.apply(
        [
            ("CREATE TABLE rm_checkpoints (projection TEXT PRIMARY KEY, position BIGINT)", ()),
            (ACCOUNT, ()),
            (CHECKPOINT, ()),
        ]
    )
    await record_legacy_versions(legacy, 7)

    db = await open_read_models(durable_settings)
    try:
        assert await db.fetch("SELECT handle, appear_offline FROM rm_accounts") == [("ann", 0)]
        assert await db.fetch("SELECT position FROM rm_checkpoints") == [(9,)]
    finally:
        await db.close()


async def test_an_unfinished_older_layout_is_cleared_to_be_rebuilt(
    durable_settings: Settings, legacy: SqlDatabase
) -> None:
    # As version 3 left it: accounts without the appear-offline column, no boards yet.
    await legacy.apply(
        [
            (
                "CREATE TABLE rm_accounts (user_id TEXT PRIMARY KEY, handle TEXT NOT NULL UNIQUE,"
                " display_name TEXT NOT NULL, bio TEXT NOT NULL DEFAULT '',"
                " home_region TEXT NOT NULL, default_visibility TEXT NOT NULL,"
                " registered_at_ms BIGINT NOT NULL)",
                (),
            ),
            ("CREATE TABLE rm_checkpoints (projection TEXT PRIMARY KEY, position BIGINT)", ()),
            (ACCOUNT, ()),
            (CHECKPOINT, ()),
        ]
    )
    await record_legacy_versions(legacy, 3)

    db = await open_read_models(durable_settings)
    try:
        assert await db.fetch("SELECT handle, appear_offline FROM rm_accounts") == []
        assert await db.fetch("SELECT position FROM rm_checkpoints") == []
        assert await db.fetch("SELECT COUNT(*) FROM rm_boards") == [(0,)]
        assert await applied_versions(db, "projections") == set()
    finally:
        await db.close()


async def test_a_read_model_new_to_a_database_that_follows_the_log_has_every_read_model_rebuilt(
    durable_settings: Settings,
) -> None:
    # A deployment whose read models are at position 9, upgraded to a version that adds a read
    # model: the new one must see the events from before it existed, so all start again at 0.
    db = await open_read_models(durable_settings)
    try:
        await db.apply([(ACCOUNT, ()), (CHECKPOINT, ())])
        newest = all_projections()[-1]
        await db.apply(
            [(f"DROP TABLE {table}", ()) for table in newest.tables]
            + [
                (
                    "DELETE FROM hm_schema_migrations WHERE component = $1",
                    (f"readmodel:{newest.name}",),
                )
            ]
        )
    finally:
        await db.close()

    db = await open_read_models(durable_settings)
    try:
        assert await db.fetch("SELECT COUNT(*) FROM rm_accounts") == [(0,)], "to be rebuilt"
        assert await db.fetch("SELECT position FROM rm_checkpoints") == [(0,)]
        for table in newest.tables:
            assert await db.fetch(f"SELECT COUNT(*) FROM {table}") == [(0,)]
    finally:
        await db.close()

    db = await open_read_models(durable_settings)  # and only once
    try:
        await db.apply([(ACCOUNT, ())])
    finally:
        await db.close()
    db = await open_read_models(durable_settings)
    try:
        assert await db.fetch("SELECT COUNT(*) FROM rm_accounts") == [(1,)]
    finally:
        await db.close()


async def test_a_migration_that_changes_what_a_table_holds_has_every_read_model_rebuilt(
    durable_settings: Settings,
) -> None:
    # Before the e-mail addresses and push endpoints were sealed (reminders' version 3).
    db = await open_read_models(durable_settings)
    try:
        await db.apply(
            [
                (ACCOUNT, ()),
                (CHECKPOINT, ()),
                (
                    "DELETE FROM hm_schema_migrations WHERE component = 'readmodel:reminders'"
                    " AND version = 3",
                    (),
                ),
            ]
        )
    finally:
        await db.close()

    db = await open_read_models(durable_settings)
    try:
        assert await db.fetch("SELECT COUNT(*) FROM rm_accounts") == [(0,)], "to be rebuilt"
        assert await db.fetch("SELECT position FROM rm_checkpoints") == [(0,)]
    finally:
        await db.close()
