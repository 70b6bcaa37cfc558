"""The relay from the event store to the bus: the store is the outbox. Every event is
published in position order, with its id as the message id, and the relay's checkpoint moves
only after the bus acknowledged the batch; one relay publishes at a time, under a lease."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import Sequence

import orjson

from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.messaging.bus import BusUnavailable, EventBus, OutgoingMessage
from hugmood.messaging.lease import Lease
from hugmood.observability.tracing import message_traceparent
from hugmood.services import Loop, Service
from hugmood.sql.database import SqlDatabase
from hugmood.sql.migrations import Migration, apply_migrations

log = logging.getLogger(__name__)

POSITION_HEADER = "Hugmood-Position"
"""The event's position in the store, so a consumer can tell a gap from a quiet log."""
TRACEPARENT_HEADER = "traceparent"

# The relay's place is kept in the read-model database beside the projections' checkpoints,
# but it is not a read model: a rebuild of the read models leaves it alone. It is kept there
# rather than in NATS because a compare-and-set on it (`SqlDatabase.apply`'s guard) is what
# stops a relay that lost its lease without noticing from moving it, and because if NATS
# loses its own state the relay must not forget what the store says it already published
# (consumers read gaps from the store; republishing years of events would not help them).
CHECKPOINT_COMPONENT = "messaging:relay"
CHECKPOINT_MIGRATIONS = (
    Migration(
        1,
        "relay checkpoints",
        "CREATE TABLE IF NOT EXISTS bus_relay_checkpoints ("
        " relay TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    ),
)

_NOT_IN_A_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def subject_token(text: str) -> str:
    """`text` as one NATS subject token: no dots, wildcards or spaces (each becomes `_`)."""
    return _NOT_IN_A_TOKEN.sub("_", text) or "_"


def event_subject(prefix: str, region: str, event: RecordedEvent) -> str:
    """`<prefix>.<region>.events.<stream category>.<eventType>`; the category is the stream
    id before its first `-` (`user`, `mood`, `hug`, `boardDoc`, …)."""
    return _subject(prefix, region, event.stream_id.split("-", 1)[0], event.event_type)


@functools.lru_cache(maxsize=4096)
def _subject(prefix: str, region: str, category: str, event_type: str) -> str:
    # Cached: a handful of categories and types make every subject, and the relay asks for
    # one per event (the regular expression was an eighth of its time per event).
    tokens = (region, "events", category, event_type)
    return ".".join([prefix, *map(subject_token, tokens)])


def event_message(prefix: str, region: str, event: RecordedEvent) -> OutgoingMessage:
    """The event as it travels: its envelope as JSON, its id as the message id, its trace."""
    headers = {POSITION_HEADER: str(event.position)}
    subject = event_subject(prefix, region, event)
    traceparent = message_traceparent(event.metadata, subject)  # the relay's span, in its trace
    if traceparent:
        headers[TRACEPARENT_HEADER] = traceparent
    envelope = event.to_envelope()
    return OutgoingMessage(
        subject=subject,
        data=orjson.dumps(envelope),
        msg_id=envelope["eventId"],
        headers=headers,
    )


class EventRelay(Service):
    """Publishes the log to the bus while it holds the lease.

    A batch is published and acknowledged before the checkpoint moves past it, so a crash in
    between publishes it again on restart, and the bus drops the copies by message id (within
    its duplicate window). Two loops: one takes and renews the lease, the other publishes
    while the lease is known to be held; a relay that cannot renew stops publishing before its
    lease can have expired, and another process takes over once it has.
    """

    name = "event relay"

    def __init__(
        self,
        store: EventStore,
        db: SqlDatabase,
        bus: EventBus,
        lease: Lease,
        *,
        region: str,
        subject_prefix: str = "hugmood",
        relay: str = "events",
        batch_size: int = 500,
        safety_poll_s: float = 1.0,
    ) -> None:
        super().__init__()
        self._store = store
        self._db = db
        self._bus = bus
        self._lease = lease
        self._region = region
        self._prefix = subject_prefix
        self._relay = relay
        self._batch_size = batch_size
        self._safety_poll_s = safety_poll_s
        self._position = 0
        self._valid_until = 0.0
        self._lease_changed = asyncio.Event()
        self._stream_ready = False
        self._advanced = asyncio.Event()
        self.bus_ok = True
        """Whether the bus answered the last publish or lease renewal (for `/healthz`)."""

    @property
    def position(self) -> int:
        """The last position published and acknowledged (as this process last saw it)."""
        return self._position

    @property
    def publishing(self) -> bool:
        """Whether this process holds the lease now (as of its last renewal)."""
        return asyncio.get_running_loop().time() < self._valid_until

    async def wait_for(self, position: int, timeout_s: float) -> bool:
        """Wait until this process has published up to `position`; False after `timeout_s`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._position < position:
                    await self._advanced.wait()
        return self._position >= position

    async def lag(self) -> int:
        """How many positions the bus is behind the log, as this process's checkpoint says."""
        await self._load_checkpoint()
        return max(0, await self._store.last_position() - self._position)

    async def starting(self) -> None:
        await apply_migrations(self._db, CHECKPOINT_COMPONENT, CHECKPOINT_MIGRATIONS)
        await self._load_checkpoint()

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("hold the lease", self._hold_lease), ("publish the log", self._publish_log)]

    async def stopped(self) -> None:
        self._valid_until = 0.0
        with contextlib.suppress(BusUnavailable):
            await self._lease.release()

    async def _hold_lease(self) -> None:
        clock = asyncio.get_running_loop().time
        while True:
            asked_at = clock()
            try:
                held = await (self._lease.renew() if self._lease.held else self._lease.acquire())
                self.bus_ok = True
            except BusUnavailable as e:
                log.warning("relay lease: %s", e)
                self.bus_ok = False
                held = False
            was = self.publishing
            # Trust the lease for two thirds of its life from when it was asked for: the
            # remaining third covers clock rate differences and the time a batch takes.
            self._valid_until = asked_at + self._lease.ttl_s * 2 / 3 if held else 0.0
            if held != was:
                log.info(
                    "relay %s: %s the lease",
                    self._lease.holder,
                    "holds" if held else "does not hold",
                )
                self._lease_changed.set()
                self._lease_changed = asyncio.Event()
            await asyncio.sleep(self._lease.ttl_s / 4)

    async def _publish_log(self) -> None:
        delay = 0.1
        while True:
            while not self.publishing:
                changed = self._lease_changed
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._lease.ttl_s):
                        await changed.wait()
            try:
                await self._publish_while_held()
                delay = 0.1
            except BusUnavailable as e:
                self.bus_ok = False
                log.warning("relay: %s; publishing again from %s", e, self._position + 1)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _publish_while_held(self) -> None:
        if not self._stream_ready:
            await self._bus.start()  # here, not at start: the store stays the truth without NATS
            self._stream_ready = True
        await self._load_checkpoint()
        # One batch in flight: the next batch is read and encoded while the bus acknowledges
        # the previous one, and is sent only once that one is acknowledged and checkpointed,
        # so the stream still receives the log in position order.
        read_up_to = self._position
        in_flight: tuple[asyncio.Task[object], int] | None = None
        try:
            while self.publishing:
                batch = await self._store.read_all(read_up_to, self._batch_size)
                if not batch:
                    if in_flight is None:
                        await self._store.wait_for_append(read_up_to, self._safety_poll_s)
                        continue
                else:
                    messages = [event_message(self._prefix, self._region, e) for e in batch]
                    read_up_to = batch[-1].position
                if in_flight is not None:
                    task, position = in_flight
                    in_flight = None
                    await task
                    if not await self._advance(position):
                        return  # another relay moved the checkpoint: start again from there
                if batch and self.publishing:
                    publish = self._bus.publish(messages)
                    in_flight = (asyncio.ensure_future(publish), read_up_to)
        finally:
            if in_flight is not None:
                in_flight[0].cancel()
                with contextlib.suppress(asyncio.CancelledError, BusUnavailable):
                    await in_flight[0]

    async def _advance(self, position: int) -> bool:
        guard = (
            "UPDATE bus_relay_checkpoints SET position = $2 WHERE relay = $1 AND position = $3",
            (self._relay, position, self._position),
        )
        if await self._db.apply([], guard=guard):
            self._position = position
            self.bus_ok = True
            self._advanced.set()
            self._advanced = asyncio.Event()
            return True
        log.info("relay: the checkpoint moved under this process; reloading it")
        return False

    async def _load_checkpoint(self) -> None:
        await self._db.apply(
            [
                (
                    "INSERT INTO bus_relay_checkpoints (relay, position) VALUES ($1, 0)"
                    " ON CONFLICT (relay) DO NOTHING",
                    (self._relay,),
                )
            ]
        )
        row = await self._db.fetchrow(
            "SELECT position FROM bus_relay_checkpoints WHERE relay = $1", self._relay
        )
        self._position = int(row[0]) if row else 0
