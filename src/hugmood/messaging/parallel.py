"""Consumers whose effect is per event and idempotent (a person's insights, notifications):
every process running one takes its own share of the messages, so workers split the load.

Each effect commits in one transaction with the event's id in `bus_processed`; a delivery of
an event already there (a redelivery, another worker's audit) writes nothing. Since the bus
may lose what the store holds, an audit follows the store behind the messages: every event of
the consumer's types up to the watermark is applied (or found applied), and the watermark
moves only over events old enough for their messages to have arrived.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import structlog

from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.messaging.bus import Delivery, EventBus
from hugmood.messaging.consumer import BusConsumer, contradiction
from hugmood.messaging.parking import Parking
from hugmood.messaging.relay import TRACEPARENT_HEADER
from hugmood.observability.error_reports import report_error
from hugmood.observability.tracing import consumer_span
from hugmood.services import Loop
from hugmood.sql.database import SqlDatabase, Statement
from hugmood.sql.migrations import Migration, apply_migrations

log = logging.getLogger(__name__)

COMPONENT = "messaging:parallel"
MIGRATIONS = (
    Migration(
        1,
        "processed events",
        "CREATE TABLE IF NOT EXISTS bus_processed ("
        " consumer TEXT NOT NULL, event_id TEXT NOT NULL, position BIGINT NOT NULL,"
        " PRIMARY KEY (consumer, event_id))",
    ),
    Migration(
        2,
        "audit watermarks",
        "CREATE TABLE IF NOT EXISTS bus_watermarks ("
        " consumer TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    ),
)


class EachEventEffect(Protocol):
    """What a parallel consumer does with one event: the statements that record its effect
    (computed here, however long that takes; committed by the consumer with the event's id)."""

    async def statements(self, event: RecordedEvent) -> Sequence[Statement]: ...


class ParallelConsumer(BusConsumer):
    """A durable consumer whose messages are shared out among every process running it."""

    def __init__(
        self,
        name: str,
        store: EventStore,
        db: SqlDatabase,
        bus: EventBus,
        parking: Parking,
        effect: EachEventEffect,
        *,
        types: frozenset[str] | None,
        audit_s: float = 5.0,
        batch_size: int = 20,
        ack_wait_s: float = 30.0,
        **settings: Any,
    ) -> None:
        super().__init__(
            name, store, bus, parking, batch_size=batch_size, ack_wait_s=ack_wait_s, **settings
        )
        self._db = db
        self._effect = effect
        self._types = types
        self._audit_s = audit_s
        self._watermark = 0

    @property
    def position(self) -> int:
        """Every event of its types up to here is applied (the audit's watermark)."""
        return self._watermark

    async def starting(self) -> None:
        await apply_migrations(self._db, COMPONENT, MIGRATIONS)
        await self._db.apply(
            [
                (
                    "INSERT INTO bus_watermarks (consumer, position) VALUES ($1, 0)"
                    " ON CONFLICT (consumer) DO NOTHING",
                    (self.name,),
                )
            ]
        )
        await self._load_watermark()

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [*super().loops(), ("audit the store", self._audit)]

    async def take(self, deliveries: Sequence[Delivery]) -> None:
        events = await self._events(deliveries)
        stored = await self._stored_ids([e.position for _, e in events])
        for delivery, event in events:
            if reason := contradiction(event, stored):
                await self._park(delivery, reason)
                continue
            # Every log line about this event carries its trace (`traceparent` header).
            trace = delivery.headers.get(TRACEPARENT_HEADER)
            with (
                structlog.contextvars.bound_contextvars(traceparent=trace),
                consumer_span(self.name, self._filter, [trace]),
            ):
                try:
                    await self.apply(event)
                except Exception as e:
                    log.exception("%s failed on the event at %s", self.name, event.position)
                    report_error(e)
                    await self._retry_later(delivery, f"{type(e).__name__}: {e}")
                    continue
            await delivery.ack()

    async def apply(self, event: RecordedEvent) -> bool:
        """Apply `event` once: False if it was applied before (by any process)."""
        if self._types is not None and event.event_type not in self._types:
            return False
        statements = await self._effect.statements(event)
        guard: Statement = (
            "INSERT INTO bus_processed (consumer, event_id, position) VALUES ($1, $2, $3)"
            " ON CONFLICT (consumer, event_id) DO NOTHING",
            (self.name, str(event.event_id), event.position),
        )
        applied = await self._db.apply(statements, guard=guard)
        if applied:
            self.stats.applied += 1
        return applied

    async def _audit(self) -> None:
        """Apply from the store what no message brought, up to where the log ended one audit
        period ago (what came after may still be on its way through the bus), whenever the
        bus has nothing more for this process."""
        settled = await self._store.last_position()
        while True:
            await asyncio.sleep(self._audit_s)
            if not self.caught_up:
                continue  # a backlog is not a gap: the audit waits until the bus runs dry
            await self._load_watermark()
            start = self._watermark
            while start < settled:
                batch = await self._store.read_all(start, min(500, settled - start))
                if not batch:
                    break
                filled = [e for e in batch if await self.apply(e)]
                if filled:
                    log.info(
                        "%s: applied %s events the bus had not brought", self.name, len(filled)
                    )
                start = batch[-1].position
            await self._advance_watermark(start)
            settled = await self._store.last_position()

    async def _load_watermark(self) -> None:
        row = await self._db.fetchrow(
            "SELECT position FROM bus_watermarks WHERE consumer = $1", self.name
        )
        self._watermark = int(row[0]) if row else 0

    async def _advance_watermark(self, position: int) -> None:
        if position <= self._watermark:
            return
        guard: Statement = (
            "UPDATE bus_watermarks SET position = $2 WHERE consumer = $1 AND position < $2",
            (self.name, position),
        )
        if await self._db.apply([], guard=guard):
            self._watermark = position
