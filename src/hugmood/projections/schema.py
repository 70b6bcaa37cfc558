"""Every read model's tables brought up to date at start, each from the versioned DDL declared
beside it (its own migration component, `readmodel:<name>`).

Read models are projections of the log and can always be rebuilt, which is what makes the
move from the older layout (one `projections` component of numbered files, versions 1 to 7)
safe: a database that went all the way has exactly the tables the read models declare, so it
is kept; one stopped part way is cleared and rebuilt from position 0 by the runner.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hugmood.projections.projection import Projection
from hugmood.projections.runner import CHECKPOINT, CHECKPOINT_MIGRATIONS, CHECKPOINT_TABLE
from hugmood.sql.database import SqlDatabase
from hugmood.sql.migrations import applied_versions, apply_migrations

log = logging.getLogger(__name__)

LEGACY_COMPONENT = "projections"
LEGACY_FINAL_VERSION = 7


async def prepare_read_models(db: SqlDatabase, projections: Sequence[Projection]) -> None:
    """Create or upgrade every read model's tables, and the runner's checkpoints.

    A read model new to a database that already follows the log must see the events from
    before it existed, and a migration marked `rebuild` changed what a table holds: every
    read model is then cleared and rebuilt from position 0 (they share one checkpoint), once."""
    await _retire_an_unfinished_legacy_layout(db, projections)
    established = bool(await applied_versions(db, "readmodel:checkpoints"))
    await apply_migrations(db, "readmodel:checkpoints", CHECKPOINT_MIGRATIONS)
    changed = []
    for projection in projections:
        applied = await apply_migrations(db, f"readmodel:{projection.name}", projection.migrations)
        if any(
            m.version in applied and (m.version == 1 or m.rebuild) for m in projection.migrations
        ):
            changed.append(projection.name)
    if established and changed and await _checkpoint(db) > 0:
        log.warning("read models %s are new or changed: all are rebuilt from the log", changed)
        await db.apply(
            [(f"DELETE FROM {table}", ()) for p in projections for table in p.tables]
            + [(f"UPDATE {CHECKPOINT_TABLE} SET position = 0 WHERE projection = $1", (CHECKPOINT,))]
        )


async def _checkpoint(db: SqlDatabase) -> int:
    row = await db.fetchrow(
        f"SELECT position FROM {CHECKPOINT_TABLE} WHERE projection = $1", CHECKPOINT
    )
    return 0 if row is None else int(row[0])


async def _retire_an_unfinished_legacy_layout(
    db: SqlDatabase, projections: Sequence[Projection]
) -> None:
    legacy = await applied_versions(db, LEGACY_COMPONENT)
    if not legacy or max(legacy) >= LEGACY_FINAL_VERSION:
        return
    tables = [t for p in projections for t in p.tables] + [CHECKPOINT_TABLE]
    log.warning(
        "read models from an older layout (version %s): cleared, to be rebuilt from the log",
        max(legacy),
    )
    await db.apply(
        [(f"DROP TABLE IF EXISTS {table}", ()) for table in tables]
        + [("DELETE FROM hm_schema_migrations WHERE component = $1", (LEGACY_COMPONENT,))]
    )
