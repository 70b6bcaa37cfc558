"""Durable consumers on the in-process bus. The ordered one: it applies the store's events up to what the
messages name (so a message the bus lost is read from the store), acknowledges only after the
effect committed, changes nothing on a redelivery, parks what is not an event, and keeps up
with the store when the bus is quiet or away. Parallel ones split the messages, apply each
event once, and audit the store for what the bus lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pytest

from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.messaging.bus import BusUnavailable, Delivery, OutgoingMessage, StreamSettings
from hugmood.messaging.consumer import BusConsumer, EffectFailed, OrderedConsumer
from hugmood.messaging.memory import InMemoryBus
from hugmood.messaging.parallel import ParallelConsumer
from hugmood.messaging.parking import InMemoryParking
from hugmood.messaging.relay import POSITION_HEADER, event_message
from hugmood.sql.sqlite import SqliteDatabase

SUBJECTS = "hm.eu.events.>"


class RecordingEffect:
    """An ordered effect that keeps what it applied (a fake read model)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.position = 0
        self.applied: list[int] = []
        self.fail_at = fail_at

    async def load_checkpoint(self) -> None:
        pass

    async def apply(self, batch: list[RecordedEvent]) -> bool:
        if self.fail_at is not None and any(e.position == self.fail_at for e in batch):
            raise RuntimeError("this read model cannot take that event")
        assert batch[0].position == self.position + 1, "applied out of order"
        self.applied += [e.position for e in batch]
        self.position = batch[-1].position
        return True


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def event(n: int) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type="MoodRecorded",
        version=1,
        timestamp=datetime(2026, 5, 1, tzinfo=UTC),
        user_id="u1",
        data={"n": n},
        metadata={"traceparent": TRACEPARENT},
    )


async def setup(
    count: int, effect: RecordingEffect | None = None
) -> tuple[InMemoryEventStore, InMemoryBus, InMemoryParking, RecordingEffect, OrderedConsumer]:
    store = InMemoryEventStore()
    for n in range(count):
        await store.append(f"mood-{n}", [event(n)])
    bus = InMemoryBus(StreamSettings("T", (SUBJECTS,)))
    parking = InMemoryParking()
    effect = effect or RecordingEffect()
    consumer = OrderedConsumer(
        "read models",
        store,
        bus,
        parking,
        effect,
        filter_subject=SUBJECTS,
        known_types={"MoodRecorded"},
        batch_size=4,
        max_deliver=2,
        quiet_s=0.05,
    )
    return store, bus, parking, effect, consumer


async def publish(bus: InMemoryBus, store: InMemoryEventStore, positions: Sequence[int]) -> None:
    events = {e.position: e for e in await store.read_all(0, 1000)}
    await bus.publish([event_message("hm", "eu", events[p]) for p in positions])


async def pull(bus: InMemoryBus, consumer: BusConsumer) -> list[Delivery]:
    return await bus.pull(consumer.durable, filter_subject=SUBJECTS, timeout=0.05)


async def test_a_message_the_bus_lost_is_read_from_the_store() -> None:
    store, bus, _, effect, consumer = await setup(10)
    await publish(bus, store, [10])  # 1 to 9 never reached the bus

    await consumer.take(await pull(bus, consumer))

    assert effect.applied == list(range(1, 11))
    assert await pull(bus, consumer) == [], "acknowledged once applied"


async def test_a_redelivered_message_changes_nothing() -> None:
    store, bus, _, effect, consumer = await setup(3)
    await publish(bus, store, [1, 2, 3])
    first = await pull(bus, consumer)
    await consumer.take(first)
    await publish(bus, store, [])  # nothing new
    await consumer.take(first)  # the same messages again, as after an expired ack wait

    assert effect.applied == [1, 2, 3]


async def test_a_quiet_or_absent_bus_still_keeps_up_with_the_store() -> None:
    _, _, _, effect, consumer = await setup(6)

    await consumer.take([])  # nothing came from the bus

    assert effect.applied == [1, 2, 3, 4, 5, 6]


async def test_what_is_not_an_event_is_parked_with_the_reason_and_unknown_types_are_acked() -> None:
    store, bus, parking, effect, consumer = await setup(2)
    real = (await store.read_all(0, 10))[1]
    forged = orjson.loads(event_message("hm", "eu", real).data)
    forged["eventId"] = str(uuid.uuid4())
    unknown = forged | {"eventType": "FromTheFuture", "eventId": str(uuid.uuid4())}
    beyond = forged | {"position": 99, "eventId": str(uuid.uuid4())}
    await bus.publish(
        [
            OutgoingMessage("hm.eu.events.x.Y", b"\x00\xffgarbage", msg_id="g1"),
            OutgoingMessage("hm.eu.events.x.Y", b'{"eventId": 3}', msg_id="g2"),
            OutgoingMessage("hm.eu.events.x.Y", b"[1, 2]", msg_id="g3"),
            OutgoingMessage("hm.eu.events.x.Y", orjson.dumps(forged), msg_id=forged["eventId"]),
            OutgoingMessage("hm.eu.events.x.Y", orjson.dumps(unknown), msg_id=unknown["eventId"]),
            OutgoingMessage("hm.eu.events.x.Y", orjson.dumps(beyond), msg_id=beyond["eventId"]),
        ]
    )

    await consumer.take(await pull(bus, consumer))

    reasons = [m.reason for m in await parking.list()]
    assert len(reasons) == 5
    assert reasons[0].startswith("not JSON")
    assert reasons[1] == "not an event envelope: KeyError: 'position'"
    assert reasons[2] == "not an event envelope: the JSON is not an object"
    assert reasons[3] == "the event store holds another event at position 2"
    assert reasons[4] == "position 99 is not in the event store"
    assert consumer.stats.unknown == 1
    assert effect.applied == [1, 2], "the real events were applied all the same"
    assert await pull(bus, consumer) == [], "every message was settled"


async def test_an_effect_that_keeps_failing_is_parked_but_never_skipped() -> None:
    store, bus, parking, effect, consumer = await setup(3, RecordingEffect(fail_at=2))
    await publish(bus, store, [1, 2, 3])

    for _ in range(2):  # max_deliver is 2
        with pytest.raises(EffectFailed):
            await consumer.take(await bus.pull(consumer.durable, timeout=2.0))

    [parked] = await parking.list()
    assert parked.reason.startswith("failed 2 times: RuntimeError")
    assert parked.headers[POSITION_HEADER] == "2", "only the event it failed on is parked"
    assert effect.applied == [1], "an ordered consumer cannot go past an event it failed on"
    with pytest.raises(EffectFailed):
        await consumer.take([])  # and it keeps trying from the store


class AbsentBus(InMemoryBus):
    async def pull(self, *args: object, **kwargs: object) -> list[Delivery]:
        raise BusUnavailable("NATS is restarting")


async def test_the_consumer_follows_the_store_while_the_bus_is_away() -> None:
    store = InMemoryEventStore()
    for n in range(3):
        await store.append(f"mood-{n}", [event(n)])
    effect = RecordingEffect()
    consumer = OrderedConsumer(
        "read models",
        store,
        AbsentBus(StreamSettings("T", (SUBJECTS,))),
        InMemoryParking(),
        effect,
        filter_subject=SUBJECTS,
        known_types={"MoodRecorded"},
        quiet_s=0.01,
    )

    async with consumer:
        for _ in range(200):
            if effect.position == 3:
                break
            await asyncio.sleep(0.01)

    assert effect.applied == [1, 2, 3]
    assert not consumer.bus_ok


class CountingEffect:
    """A per-event effect: one row per event in `effects` (applying twice would add two)."""

    async def statements(self, event: RecordedEvent) -> list[tuple[str, tuple[object, ...]]]:
        return [("INSERT INTO effects (position) VALUES ($1)", (event.position,))]


async def test_parallel_consumers_split_the_messages_apply_each_once_and_audit_gaps() -> None:
    store = InMemoryEventStore()
    for n in range(40):
        await store.append(f"mood-{n}", [event(n)])
    db = SqliteDatabase(None)
    await db.apply([("CREATE TABLE effects (position BIGINT NOT NULL)", ())])
    bus = InMemoryBus(StreamSettings("T", (SUBJECTS,)))
    await publish(bus, store, [p for p in range(1, 41) if p != 17])  # the bus lost 17

    def worker() -> ParallelConsumer:
        return ParallelConsumer(
            "insights",
            store,
            db,
            bus,
            InMemoryParking(),
            CountingEffect(),
            types=frozenset({"MoodRecorded"}),
            filter_subject=SUBJECTS,
            known_types={"MoodRecorded"},
            batch_size=5,
            audit_s=0.05,
            quiet_s=0.02,
        )

    one, two = worker(), worker()
    async with one, two:
        for _ in range(200):
            rows = await db.fetch("SELECT position FROM effects")
            if len(rows) >= 40 and one.position >= 40:
                break
            await asyncio.sleep(0.02)
        await one.take(await pull(bus, one))  # nothing left for anyone

    positions = sorted(int(r[0]) for r in await db.fetch("SELECT position FROM effects"))
    assert positions == list(range(1, 41)), "every event once, 17 from the store"
    assert one.stats.applied > 0 and two.stats.applied > 0, "both workers took a share"
    assert one.stats.applied + two.stats.applied == 40


class SlowEffect(RecordingEffect):
    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()

    async def apply(self, batch: list[RecordedEvent]) -> bool:
        self.started.set()
        await asyncio.sleep(0.3)
        return await super().apply(batch)


async def test_stopping_lets_the_batch_in_hand_commit_and_be_acknowledged() -> None:
    store, bus, _, _, _ = await setup(4)
    effect = SlowEffect()
    consumer = OrderedConsumer(
        "read models",
        store,
        bus,
        InMemoryParking(),
        effect,
        filter_subject=SUBJECTS,
        known_types={"MoodRecorded"},
        quiet_s=0.05,
    )
    await publish(bus, store, [1, 2, 3, 4])

    async with consumer:
        await effect.started.wait()  # SIGTERM arrives mid-batch

    assert effect.applied == [1, 2, 3, 4], "the batch in hand was committed"
    assert await pull(bus, consumer) == [], "and acknowledged before the worker stopped"
