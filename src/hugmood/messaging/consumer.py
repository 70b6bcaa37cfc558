"""Durable consumers on the bus: an `ANYWHERE` entry of the event table
(`application.consumers`) as a JetStream pull consumer, shared by every process that runs it
(workers, or a web process that is not edge-only).

The store is the truth and the bus is how a consumer hears of it. Two kinds share what is
here (`BusConsumer`): an *ordered* consumer (`OrderedConsumer`, the read models) and a
*parallel* one (`parallel.ParallelConsumer`, per-event effects that workers split). A batch
of messages names positions; the ordered consumer applies the store's events up to the
highest of them, in order, each batch committed with its checkpoint (compare-and-set), and
only then acknowledges the messages. So a message the bus lost (a gap in positions) is read from the store, a message
delivered twice changes nothing, and a worker killed mid-batch leaves its messages to be
delivered again to another. When the bus is quiet, or away, the consumer still catches up
with the store's end: nothing the store holds waits for NATS.

Messages that are not HugMood events never stop a consumer: an unknown event type is counted
and acknowledged, anything else (not JSON, not an envelope, a position the store contradicts)
is parked with the reason (`messaging.parking`). An effect that keeps failing on a real event
is parked after `max_deliver` attempts so an operator sees it, but an ordered consumer cannot
skip it: it retries from the store, with back-off, and its lag says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import structlog

from hugmood.eventstore.envelope import RecordedEvent, from_envelope
from hugmood.eventstore.store import EventStore
from hugmood.messaging.bus import BusUnavailable, Delivery, EventBus
from hugmood.messaging.parking import Parking
from hugmood.messaging.relay import POSITION_HEADER, TRACEPARENT_HEADER
from hugmood.observability.error_reports import report_error
from hugmood.observability.tracing import consumer_span
from hugmood.services import Loop, Service

log = logging.getLogger(__name__)


class OrderedEffect(Protocol):
    """What an ordered consumer applies (the read models, `projections.runner`): every event,
    in position order, each batch committed with the checkpoint by compare-and-set."""

    @property
    def position(self) -> int:
        """The last position applied."""
        ...

    async def load_checkpoint(self) -> None: ...

    async def apply(self, batch: list[RecordedEvent]) -> bool:
        """Apply `batch` (events after `position`, in order) and move the checkpoint to its
        last event; False, with nothing written, if another process moved it first."""
        ...


def contradiction(event: RecordedEvent, stored: dict[int, uuid.UUID]) -> str:
    """Why the store disagrees with a message's event, or '' if it holds exactly it."""
    if event.position not in stored:
        return f"position {event.position} is not in the event store"
    if stored[event.position] != event.event_id:
        return f"the event store holds another event at position {event.position}"
    return ""


RETRY_MARK = ":retry:"


class EffectFailed(Exception):
    """The consumer's effect failed on the event at `position` (everything before it is
    applied)."""

    def __init__(self, position: int, reason: str, traceparent: str | None = None) -> None:
        super().__init__(f"the effect failed at position {position}: {reason}")
        self.position = position
        self.reason = reason
        self.traceparent = traceparent


class NotAnEvent(ValueError):
    """A message on an event subject that is not a HugMood event; the message says why."""


def decode(delivery: Delivery) -> RecordedEvent:
    """The event a message carries (`relay.event_message`'s shape), checked field by field."""
    try:
        envelope = orjson.loads(delivery.data)
    except orjson.JSONDecodeError as e:
        raise NotAnEvent(f"not JSON: {e}") from None
    if not isinstance(envelope, dict):
        raise NotAnEvent("not an event envelope: the JSON is not an object")
    try:
        event = from_envelope(envelope)
    except (KeyError, TypeError, ValueError) as e:
        raise NotAnEvent(f"not an event envelope: {type(e).__name__}: {e}") from None
    header = delivery.headers.get(POSITION_HEADER)
    if header is not None and header != str(event.position):
        raise NotAnEvent(f"its {POSITION_HEADER} header {header!r} is not its position")
    # An operator's retry of a parked message publishes it as `<event id>:retry:<n>`.
    if delivery.msg_id and delivery.msg_id.split(RETRY_MARK)[0] != str(event.event_id):
        raise NotAnEvent("its message id is not its event id")
    return event


@dataclass
class ConsumerStats:
    """What `/metrics` exports per consumer."""

    delivered: int = 0
    redelivered: int = 0
    """Deliveries after the first of a message (an ack wait expired, or a nak)."""
    parked: int = 0
    unknown: int = 0
    """Events of a type this version does not know (a newer process wrote them): acked."""
    applied: int = 0
    """Events applied (read from the store, up to the positions the messages named)."""


DRAIN_S = 10.0
"""How long stopping waits for the batch in hand."""


def backoff_s(attempt: int) -> float:
    """How long a failed message waits before its next delivery: 0.5 s, 1 s, 2 s … 30 s."""
    return float(min(30.0, 0.5 * 2 ** max(0, attempt - 1)))


class BusConsumer(Service):
    """What every durable consumer on the bus shares: pulling (and standing in for the bus
    when it is away), decoding and checking messages, parking, back-off, draining on SIGTERM.
    Subclasses say what a batch of messages does (`take`)."""

    max_ack_pending: int | None = None
    """Messages out unacknowledged at once across every process (None: no limit)."""

    def __init__(
        self,
        name: str,
        store: EventStore,
        bus: EventBus,
        parking: Parking,
        *,
        filter_subject: str,
        known_types: Collection[str],
        batch_size: int = 500,
        ack_wait_s: float = 5.0,
        max_deliver: int = 5,
        quiet_s: float = 1.0,
    ) -> None:
        super().__init__()
        self.name = name
        self.stats = ConsumerStats()
        self._store = store
        self._bus = bus
        self._parking = parking
        self._filter = filter_subject
        self._known = frozenset(known_types)
        self._batch_size = batch_size
        self._ack_wait_s = ack_wait_s
        self._max_deliver = max_deliver
        self._quiet_s = quiet_s
        self.bus_ok = True
        """Whether the last pull reached the bus (the health endpoint reports it)."""
        self.caught_up = False
        """Whether its last pull came back empty: the bus has nothing more for it now."""
        self._draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def position(self) -> int:
        """Every event up to here is applied (for lag: `/healthz`, `/metrics`)."""
        raise NotImplementedError

    async def take(self, deliveries: Sequence[Delivery]) -> None:
        raise NotImplementedError

    @property
    def durable(self) -> str:
        """The JetStream consumer's name: the table's name as one subject token."""
        return "hugmood_" + "".join(c if c.isalnum() else "_" for c in self.name)

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("consume the bus", self._consume)]

    async def stopping(self) -> None:
        """SIGTERM: pull nothing more, and let the batch in hand commit and be acknowledged
        (what is not acknowledged in time is delivered again to another process)."""
        self._draining = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_S):
                await self._idle.wait()

    async def _consume(self) -> None:
        failures = 0
        while not self._draining:
            self._idle.clear()
            try:
                deliveries = await self._pull()
                self.caught_up = not deliveries
                await self.take(deliveries)
                failures = 0
            except BusUnavailable as e:
                log.warning("%s: %s; carrying on", self.name, e)
                await asyncio.sleep(self._quiet_s)
            except Exception as e:
                # The effect failed (logged with the event's trace where it is known): its
                # messages were nak'd or parked; wait, then the store's events are tried
                # again whether or not the bus redelivers them.
                failures += 1
                if not isinstance(e, EffectFailed):
                    log.exception("%s failed after position %s", self.name, self.position)
                self._idle.set()  # nothing in hand while it waits
                await asyncio.sleep(backoff_s(failures))
            finally:
                self._idle.set()

    async def _pull(self) -> list[Delivery]:
        try:
            deliveries = await self._bus.pull(
                self.durable,
                filter_subject=self._filter,
                max_messages=self._batch_size,
                timeout=self._quiet_s,
                ack_wait_s=self._ack_wait_s,
                max_ack_pending=self.max_ack_pending,
            )
        except BusUnavailable as e:
            if self.bus_ok:
                log.warning("%s: the bus is away (%s); following the store meanwhile", self.name, e)
            self.bus_ok = False
            await asyncio.sleep(self._quiet_s)
            return []
        if not self.bus_ok:
            log.info("%s: the bus is back", self.name)
        self.bus_ok = True
        return deliveries

    async def _events(self, deliveries: Sequence[Delivery]) -> list[tuple[Delivery, RecordedEvent]]:
        """The deliveries that carry events of known types; the others are settled here
        (parked with the reason, or acked and counted when the type is unknown)."""
        events: list[tuple[Delivery, RecordedEvent]] = []
        for delivery in deliveries:
            self.stats.delivered += 1
            if delivery.attempt > 1:
                self.stats.redelivered += 1
            try:
                event = decode(delivery)
            except NotAnEvent as e:
                await self._park(delivery, str(e))
                continue
            if event.event_type not in self._known:
                self.stats.unknown += 1
                log.info("%s: acked an event of unknown type at %s", self.name, event.position)
                await delivery.ack()
                continue
            events.append((delivery, event))
        return events

    async def _stored_ids(self, positions: list[int]) -> dict[int, uuid.UUID]:
        """The store's event id at each of `positions` (one read when they are close)."""
        if not positions:
            return {}
        low, high = min(positions), max(positions)
        if high - low < 4 * self._batch_size:
            found = await self._store.read_all(low - 1, high - low + 1)
        else:
            found = [e for p in set(positions) for e in await self._store.read_all(p - 1, 1)]
        return {e.position: e.event_id for e in found}

    async def _retry_later(self, delivery: Delivery, error: str) -> None:
        if delivery.attempt >= self._max_deliver:
            await self._park(delivery, f"failed {delivery.attempt} times: {error}")
        else:
            await delivery.nak(backoff_s(delivery.attempt))

    async def _park(self, delivery: Delivery, reason: str) -> None:
        await self._parking.park(self.name, delivery, reason)
        self.stats.parked += 1
        log.warning("%s parked message %s: %s", self.name, delivery.sequence, reason[:200])
        await delivery.ack()


class OrderedConsumer(BusConsumer):
    """A durable, ordered consumer of the log through the bus (see the module's docstring).

    Every process running it pulls from the same JetStream consumer, which lets one batch be
    out at a time (`max_ack_pending`): the others stand by and take over when its ack wait
    ends, or sooner from the store when their pull comes back empty."""

    def __init__(
        self,
        name: str,
        store: EventStore,
        bus: EventBus,
        parking: Parking,
        effect: OrderedEffect,
        *,
        batch_size: int = 500,
        **settings: Any,
    ) -> None:
        super().__init__(name, store, bus, parking, batch_size=batch_size, **settings)
        self._effect = effect
        self.max_ack_pending = batch_size

    @property
    def position(self) -> int:
        return self._effect.position

    async def starting(self) -> None:
        await self._effect.load_checkpoint()

    async def take(self, deliveries: Sequence[Delivery]) -> None:
        """Apply what `deliveries` name (or, with none, whatever the store holds beyond the
        checkpoint), then acknowledge, park or nak each of them."""
        events = await self._events(deliveries)
        if deliveries:
            target = max((e.position for _, e in events), default=0)
        else:
            # Quiet, or another process holds the batch: learn where the shared checkpoint
            # is, and apply from the store only what nobody has (the bus lost it, or the
            # process holding it died).
            await self._effect.load_checkpoint()
            target = await self._store.last_position()
        traceparent = next(
            (d.headers[TRACEPARENT_HEADER] for d, _ in events if TRACEPARENT_HEADER in d.headers),
            None,
        )
        failed: EffectFailed | None = None
        try:
            # Every log line about this batch carries the trace of the first event in it.
            with (
                structlog.contextvars.bound_contextvars(traceparent=traceparent),
                consumer_span(
                    self.name, self._filter, [d.headers.get(TRACEPARENT_HEADER) for d, _ in events]
                ),
            ):
                await self._apply_up_to(target)
        except EffectFailed as e:
            failed = e
            with structlog.contextvars.bound_contextvars(traceparent=e.traceparent):
                log.error("%s: %s", self.name, e)
        stored = await self._stored_ids([e.position for _, e in events])
        for delivery, event in events:
            if failed is not None and event.position == failed.position:
                await self._retry_later(delivery, failed.reason)
            elif failed is not None and event.position > failed.position:
                await delivery.nak(backoff_s(delivery.attempt))  # waits behind the failure
            elif reason := contradiction(event, stored):
                await self._park(delivery, reason)
            else:
                await delivery.ack()
        if failed is not None:
            raise failed

    async def _apply_up_to(self, target: int) -> None:
        while self._effect.position < target:
            start = self._effect.position
            batch = await self._store.read_all(start, min(self._batch_size, target - start))
            if not batch:
                return  # the store ends before `target`: those messages contradict it
            try:
                applied = await self._effect.apply(batch)
            except Exception:
                # One event spoils its batch: apply them one by one, so that every event
                # before it is committed and the failure names the event.
                applied = await self._apply_singly(batch)
            if not applied:
                await self._effect.load_checkpoint()  # another process applied it
                continue
            self.stats.applied += len(batch)

    async def _apply_singly(self, batch: list[RecordedEvent]) -> bool:
        for event in batch:
            if event.position <= self._effect.position:
                continue
            try:
                if not await self._effect.apply([event]):
                    return False
            except Exception as e:
                report_error(e)
                trace = event.metadata.get(TRACEPARENT_HEADER)
                raise EffectFailed(
                    event.position,
                    f"{type(e).__name__}: {e}",
                    trace if isinstance(trace, str) else None,
                ) from e
        return True
