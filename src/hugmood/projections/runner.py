"""Runs every projection from the event log, storing the checkpoint in the same transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.eventstore.subscription import catch_up
from hugmood.observability.tracing import projection_span
from hugmood.projections.projection import Projection
from hugmood.services import Loop, Service
from hugmood.sql.database import SqlDatabase, Statement
from hugmood.sql.migrations import Migration

log = logging.getLogger(__name__)

CHECKPOINT = "read_models"
CHECKPOINT_TABLE = "rm_checkpoints"
CHECKPOINT_MIGRATIONS = (
    Migration(
        1,
        "checkpoints",
        "CREATE TABLE IF NOT EXISTS rm_checkpoints ("
        " projection TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    ),
)


class ProjectionRunner(Service):
    """Follows the log with a catch-up subscription and applies batches of events.

    Each batch's read-model writes and the checkpoint advance commit together, so a crash
    never applies an event twice or skips one. The checkpoint advance is a compare-and-set:
    if another process advanced it first, this runner reloads it and carries on from there,
    so several processes may share one database.
    """

    name = "read models"

    def __init__(
        self,
        store: EventStore,
        db: SqlDatabase,
        projections: Sequence[Projection],
        *,
        batch_size: int = 500,
        safety_poll_s: float = 1.0,
        wait_timeout_s: float = 10.0,
    ) -> None:
        super().__init__()
        self._store = store
        self._db = db
        self._projections = tuple(projections)
        self._batch_size = batch_size
        self._safety_poll_s = safety_poll_s
        self._wait_timeout_s = wait_timeout_s
        self._position = 0
        self._advanced = asyncio.Event()

    @property
    def position(self) -> int:
        """The last event position every read model reflects."""
        return self._position

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(t for p in self._projections for t in p.tables)

    async def starting(self) -> None:
        await self.load_checkpoint()

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("follow the log", self._run)]

    async def wait_for(self, position: int) -> None:
        """Read-your-writes: wait until the read models reflect `position`."""
        deadline = asyncio.get_running_loop().time() + self._wait_timeout_s
        while self._position < position:
            advanced = self._advanced
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                log.warning("read models lag: at %s, waited for %s", self._position, position)
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await advanced.wait()

    async def lag(self) -> int:
        """How many positions the read models are behind the log."""
        return max(0, await self._store.last_position() - self._position)

    async def rebuild(self) -> int:
        """Clear every read model and replay the whole log; returns the events replayed."""
        await self._db.apply(
            [(f"DELETE FROM {table}", ()) for table in self.tables]
            + [(self._upsert_checkpoint_sql(), (CHECKPOINT, 0))]
            + [("UPDATE rm_checkpoints SET position = 0 WHERE projection = $1", (CHECKPOINT,))]
        )
        self._set_position(0)
        replayed = 0
        while batch := await self._store.read_all(self._position, self._batch_size):
            await self.apply(batch)
            replayed += len(batch)
        return replayed

    async def catch_up_now(self) -> int:
        """Apply everything appended so far without a background task (used by the CLI)."""
        await self.load_checkpoint()
        applied = 0
        while batch := await self._store.read_all(self._position, self._batch_size):
            await self.apply(batch)
            applied += len(batch)
        return applied

    def _upsert_checkpoint_sql(self) -> str:
        return (
            "INSERT INTO rm_checkpoints (projection, position) VALUES ($1, $2)"
            " ON CONFLICT (projection) DO NOTHING"
        )

    async def load_checkpoint(self) -> None:
        await self._db.apply([(self._upsert_checkpoint_sql(), (CHECKPOINT, 0))])
        row = await self._db.fetchrow(
            "SELECT position FROM rm_checkpoints WHERE projection = $1", CHECKPOINT
        )
        self._set_position(int(row[0]) if row else 0)

    def _set_position(self, position: int) -> None:
        self._position = position
        self._advanced.set()
        self._advanced = asyncio.Event()

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                async for batch in catch_up(
                    self._store,
                    self._position,
                    batch_size=self._batch_size,
                    safety_poll_s=self._safety_poll_s,
                ):
                    if not await self.apply(batch):
                        break  # another process moved the checkpoint: resume from its position
                    delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:
                # Never skip an event: log loudly, back off, and try the same batch again.
                log.exception("projection batch failed after position %s; retrying", self._position)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                await self.load_checkpoint()

    async def apply(self, batch: list[RecordedEvent]) -> bool:
        with projection_span([e.metadata for e in batch]):
            return await self._apply(batch)

    async def _apply(self, batch: list[RecordedEvent]) -> bool:
        statements: list[Statement] = []
        for event in batch:
            if event.position <= self._position:
                continue
            for projection in self._projections:
                statements.extend(projection.statements(event))
        new_position = batch[-1].position
        guard: Statement = (
            "UPDATE rm_checkpoints SET position = $2 WHERE projection = $1 AND position = $3",
            (CHECKPOINT, new_position, self._position),
        )
        if await self._db.apply(statements, guard=guard):
            self._set_position(new_position)
            return True
        await self.load_checkpoint()
        return False
