"""The `insights` consumer (`application.consumers`): when a person's check-ins have changed
enough (a new day of them, or several edits), it works out what they say
(`insights.statistics`) and tells what is new as `InsightGenerated` — once per finding and
data, whoever computes it, so a redelivery or a second worker tells nothing twice.

Embedded, it follows the store from a checkpoint of its own; with NATS it is the effect of a
parallel consumer in the workers (`InsightsEffect`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import orjson

from hugmood.application.consumers import INSIGHTS, consumer
from hugmood.application.messagebus import MessageBus
from hugmood.application.ports import ReadModelsProgress
from hugmood.application.queries.insights import (
    EntryForAnalysis,
    days_with_check_ins,
    entries_for_analysis,
    told_keys,
)
from hugmood.domain.insights import TellInsight, insight_id
from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.eventstore.subscription import catch_up
from hugmood.ids import UserId
from hugmood.insights.days import DayTable, context_labels, day_table_of
from hugmood.insights.statistics import Finding, findings_of
from hugmood.services import Loop, Service
from hugmood.sql.database import SqlDatabase, Statement
from hugmood.sql.migrations import Migration, apply_migrations

log = logging.getLogger(__name__)

CHANGES_BEFORE_RECOMPUTE = 5
"""Edits and deletions that make a person's insights worth recomputing without a new day."""
MAX_TOLD = 8
"""At most this many findings are told at a time, the strongest first."""
EFFECT_STEP = 0.05
"""A finding is told again only when its effect moved by at least this much (or flipped)."""
CHECKPOINT_LAG = 1000
"""A batch without check-ins moves the checkpoint only once it is this many positions behind:
every other event (a hug, a login) would otherwise cost a write. After a restart the events
since are read again and, holding no check-in, skipped again."""

CHECKPOINT_MIGRATIONS = (
    Migration(
        1,
        "insights checkpoint",
        "CREATE TABLE IF NOT EXISTS insight_checkpoints ("
        " consumer TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    ),
)


class Insights:
    """Works out and tells one person's insights; remembers (in this process) how much of
    each person's data it last analysed, so it recomputes only when enough changed."""

    def __init__(self, db: SqlDatabase, bus: MessageBus) -> None:
        self._db = db
        self._bus = bus
        self._analysed: dict[str, tuple[int, int]] = {}
        """Owner → (days with check-ins, changes since) at the last analysis."""

    def changed(self, owner_id: str, event: RecordedEvent) -> None:
        """Note an edit or a deletion (a new check-in shows as a new day, or not at all)."""
        if event.event_type != "MoodRecorded":
            days, changes = self._analysed.get(owner_id, (-1, 0))
            self._analysed[owner_id] = (days, changes + 1)

    async def refresh(self, owner_id: UserId) -> int:
        """Analyse the person's check-ins if enough changed; returns how many were told."""
        days = await days_with_check_ins(self._db, owner_id)
        last_days, changes = self._analysed.get(owner_id, (-1, 0))
        if days == last_days and changes < CHANGES_BEFORE_RECOMPUTE:
            return 0  # checked without reading the diary (its cells are sealed)
        self._analysed[owner_id] = (days, 0)
        table = days_of(await entries_for_analysis(self._db, owner_id))
        # The statistics run in a thread: a long diary must not hold up the event loop.
        found = await asyncio.to_thread(findings_of, table)
        return await self._tell(owner_id, found[:MAX_TOLD])

    async def _tell(self, owner_id: UserId, found: Sequence[Finding]) -> int:
        known = await told_keys(self._db, owner_id)
        told = 0
        for finding in found:
            # Same key, same direction and size (to the step): the same insight.
            fingerprint = str(round(finding.strength / EFFECT_STEP))
            new_id = insight_id(owner_id, finding.key, fingerprint)
            if known.get(finding.key) == new_id:
                continue
            await self._bus.handle(
                TellInsight(
                    owner_id,
                    new_id,
                    finding.kind,
                    finding.key,
                    finding.sentence,
                    orjson.dumps(finding.numbers).decode(),
                )
            )
            told += 1
        return told


def days_of(entries: Sequence[EntryForAnalysis]) -> DayTable:
    """A person's check-ins, as read for analysis, summarised per day."""
    return day_table_of(
        [e.recorded_at_ms for e in entries],
        [e.mood for e in entries],
        [e.intensity for e in entries],
        [context_labels(e.context) for e in entries],
        [e.sentiment for e in entries],
    )


def owner_of(event: RecordedEvent) -> str | None:
    return event.user_id


class InsightsService(Service):
    """The consumer in one process (the embedded bus): follows the store from its checkpoint,
    once the read models have each event."""

    name = INSIGHTS

    def __init__(
        self,
        store: EventStore,
        db: SqlDatabase,
        insights: Insights,
        progress: ReadModelsProgress,
    ) -> None:
        super().__init__()
        self._store = store
        self._db = db
        self._insights = insights
        self._progress = progress
        self._types = consumer(INSIGHTS).handles or frozenset()
        self._position = 0

    async def starting(self) -> None:
        await apply_migrations(self._db, "insights:checkpoint", CHECKPOINT_MIGRATIONS)
        await self._db.apply(
            [
                (
                    "INSERT INTO insight_checkpoints (consumer, position) VALUES ($1, 0)"
                    " ON CONFLICT (consumer) DO NOTHING",
                    (INSIGHTS,),
                )
            ]
        )
        row = await self._db.fetchrow(
            "SELECT position FROM insight_checkpoints WHERE consumer = $1", INSIGHTS
        )
        self._position = int(row[0]) if row else 0

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("follow the log", self._follow)]

    async def _follow(self) -> None:
        async for batch in catch_up(self._store, self._position):
            owners: list[str] = []
            for event in batch:
                owner = owner_of(event)
                if event.event_type in self._types and owner is not None:
                    self._insights.changed(owner, event)
                    if owner not in owners:
                        owners.append(owner)
            if owners:
                await self._progress.wait_for(batch[-1].position)
            for owner in owners:
                await self._insights.refresh(owner)
            if owners or batch[-1].position - self._position >= CHECKPOINT_LAG:
                await self._advance(batch[-1].position)

    async def _advance(self, position: int) -> None:
        guard: Statement = (
            "UPDATE insight_checkpoints SET position = $2 WHERE consumer = $1 AND position = $3",
            (INSIGHTS, position, self._position),
        )
        if await self._db.apply([], guard=guard):
            self._position = position


class InsightsEffect:
    """The consumer as a parallel consumer's effect (`messaging.parallel`), in the workers:
    what it tells goes through the command bus; nothing else is written with the event."""

    def __init__(self, insights: Insights, progress: ReadModelsProgress) -> None:
        self._insights = insights
        self._progress = progress

    async def statements(self, event: RecordedEvent) -> list[Statement]:
        owner = owner_of(event)
        if owner is not None:
            self._insights.changed(owner, event)
            await self._progress.wait_for(event.position)
            await self._insights.refresh(owner)
        return []
