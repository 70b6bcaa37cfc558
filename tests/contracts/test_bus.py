"""The event-bus contract, run against every backend (in-process and NATS JetStream).

A `Backend` stands for one deployment: `peer()` is another process sharing the same stream
(the in-process bus has one process, so its peer is the bus itself; on NATS it is a second
connection). NATS runs at HUGMOOD_TEST_NATS_URL (default nats://127.0.0.1:4222), each test
with a stream and a subject prefix of its own. Without NATS these tests skip, or fail under
CI=true.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest

from hugmood.messaging.bus import (
    BusUnavailable,
    Delivery,
    EventBus,
    OutgoingMessage,
    StreamSettings,
    subject_matches,
)
from hugmood.messaging.jetstream import JetStreamBus
from hugmood.messaging.memory import InMemoryBus
from tests.conftest import unique

DEADLINE_S = 10.0


@dataclass
class Backend:
    name: str
    bus: EventBus
    prefix: str
    peer_factory: Callable[[], Awaitable[EventBus]]
    opened: list[EventBus] = field(default_factory=list)

    async def peer(self) -> EventBus:
        bus = await self.peer_factory()
        await bus.start()
        return bus


@pytest.fixture(params=["memory", "nats"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    prefix = unique("t").replace("_", "")
    settings = StreamSettings(
        name=prefix.upper(), subjects=(f"{prefix}.>",), storage="memory", duplicate_window_s=60
    )
    if request.param == "memory":
        bus = InMemoryBus(settings)

        async def same() -> EventBus:
            return bus

        await bus.start()
        yield Backend("memory", bus, prefix, same)
        await bus.close()
        return
    url: str = request.getfixturevalue("nats_url")
    opened: list[JetStreamBus] = []

    async def another() -> EventBus:
        peer = await JetStreamBus.connect(url, settings)
        opened.append(peer)
        return peer

    first = await another()
    await first.start()
    yield Backend("nats", first, prefix, another)
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(settings.name)
    finally:
        await nc.close()
        for peer in opened:
            await peer.close()


def message(prefix: str, what: str, n: int, msg_id: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        subject=f"{prefix}.{what}",
        data=f"{what}-{n}".encode(),
        msg_id=msg_id or uuid.uuid4().hex,
        headers={"traceparent": f"00-{n:032x}-{n:016x}-01"},
    )


async def pull_until(
    bus: EventBus, consumer: str, count: int, *, filter_subject: str | None = None, **kw: Any
) -> list[Delivery]:
    """Pull (acking nothing) until `count` deliveries came, or fail at the deadline."""
    got: list[Delivery] = []
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while len(got) < count:
        assert asyncio.get_running_loop().time() < deadline, f"only {len(got)} of {count} came"
        got += await bus.pull(
            consumer,
            filter_subject=filter_subject,
            max_messages=count - len(got),
            timeout=0.5,
            **kw,
        )
    return got


async def test_published_messages_reach_a_consumer_in_order_with_their_headers(
    backend: Backend,
) -> None:
    sent = [message(backend.prefix, "mood", n) for n in range(5)]

    acks = await backend.bus.publish(sent)

    assert [a.duplicate for a in acks] == [False] * 5
    assert [a.sequence for a in acks] == sorted({a.sequence for a in acks})
    got = await pull_until(backend.bus, "c1", 5)
    assert [d.data for d in got] == [m.data for m in sent]
    assert [d.msg_id for d in got] == [m.msg_id for m in sent]
    assert [d.sequence for d in got] == [a.sequence for a in acks]
    assert got[2].headers["traceparent"] == sent[2].headers["traceparent"]
    assert {d.attempt for d in got} == {1}


async def test_a_message_published_again_with_the_same_id_is_stored_once(
    backend: Backend,
) -> None:
    first = message(backend.prefix, "hug", 1)
    [stored] = await backend.bus.publish([first])

    again = await backend.bus.publish([first, message(backend.prefix, "hug", 2)])

    assert again[0].duplicate and again[0].sequence == stored.sequence
    assert not again[1].duplicate
    got = await pull_until(backend.bus, "c1", 2)
    assert [d.data for d in got] == [b"hug-1", b"hug-2"]
    assert await backend.bus.pull("c1", timeout=0.2) == []


async def test_a_durable_consumer_resumes_after_what_it_acknowledged_in_another_process(
    backend: Backend,
) -> None:
    await backend.bus.publish([message(backend.prefix, "mood", n) for n in range(4)])
    for delivery in await pull_until(backend.bus, "worker", 2):
        await delivery.ack()

    peer = await backend.peer()
    rest = await pull_until(peer, "worker", 2, ack_wait_s=30)

    assert [d.data for d in rest] == [b"mood-2", b"mood-3"]


async def test_a_nakd_message_is_delivered_again(backend: Backend) -> None:
    await backend.bus.publish([message(backend.prefix, "mood", 1)])
    [first] = await pull_until(backend.bus, "c1", 1)

    await first.nak()

    [again] = await pull_until(backend.bus, "c1", 1)
    assert again.sequence == first.sequence and again.attempt == 2
    await again.ack()
    assert await backend.bus.pull("c1", timeout=0.2) == []


async def test_a_message_not_acknowledged_in_time_is_delivered_again(backend: Backend) -> None:
    await backend.bus.publish([message(backend.prefix, "mood", 1)])
    [first] = await pull_until(backend.bus, "slow", 1, ack_wait_s=1.0)

    [again] = await pull_until(backend.bus, "slow", 1, ack_wait_s=1.0)

    assert again.msg_id == first.msg_id and again.sequence == first.sequence


async def test_a_consumer_gets_only_the_subjects_it_filters_on(backend: Backend) -> None:
    subjects = ["hugs.sent", "moods.recorded", "hugs.seen"]
    await backend.bus.publish([message(backend.prefix, s, n + 1) for n, s in enumerate(subjects)])

    got = await pull_until(backend.bus, "hugs", 2, filter_subject=f"{backend.prefix}.hugs.*")

    assert [d.data for d in got] == [b"hugs.sent-1", b"hugs.seen-3"]
    assert await backend.bus.pull("hugs", timeout=0.2) == []


async def test_pullers_of_one_consumer_share_its_messages(backend: Backend) -> None:
    await backend.bus.publish([message(backend.prefix, "mood", n) for n in range(6)])
    peer = await backend.peer()

    a = await pull_until(backend.bus, "shared", 3)
    b = await pull_until(peer, "shared", 3)

    assert sorted(d.sequence for d in a + b) == sorted({d.sequence for d in a + b})


async def test_a_closed_bus_refuses_to_publish(backend: Backend) -> None:
    bus = await backend.peer() if backend.name == "nats" else backend.bus

    await bus.close()

    with pytest.raises(BusUnavailable):
        await bus.publish([message(backend.prefix, "mood", 1)])


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("a.b", "a.b", True),
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.>", "a.b.c", True),
        ("a.>", "a", False),
        ("a.*.c", "a.x.c", True),
        ("a.b", "a.c", False),
    ],
)
def test_subject_patterns_match_like_nats(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches
