"""The relay from the event store to NATS JetStream: every event in position order with its
id as the message id, a republish after a crash removed by JetStream's de-duplication, one
relay at a time under a lease, and publishing that resumes after NATS restarts.

The machine's NATS (HUGMOOD_TEST_NATS_URL) serves most tests, each with a stream and a subject
prefix of its own; the restart test starts a private `nats-server -js` it can kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nats
import orjson
import pytest
from nats.js.api import StreamInfo

from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.eventstore.sqlite import SqliteEventStore
from hugmood.messaging.bus import Delivery, StreamSettings
from hugmood.messaging.jetstream import JetStreamBus, NatsKvLease
from hugmood.messaging.relay import POSITION_HEADER, EventRelay
from hugmood.sql.sqlite import SqliteDatabase
from tests.conftest import IN_CI, unique
from tests.integration.relay_process import open_relay

DEADLINE_S = 15.0
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def new_event(n: int, event_type: str = "MoodRecorded") -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type=event_type,
        version=1,
        timestamp=datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC),
        user_id="u1",
        data={"n": n},
        metadata={"deviceId": "d1", "traceparent": TRACEPARENT},
    )


async def eventually(probe: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while not await probe():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting: {what}"
        await asyncio.sleep(0.05)


@dataclass
class Deployment:
    """One region's log and read-model database, shared by relays as processes would share
    PostgreSQL, and one NATS stream."""

    url: str
    prefix: str
    store: InMemoryEventStore = field(default_factory=InMemoryEventStore)
    db: SqliteDatabase = field(default_factory=lambda: SqliteDatabase(None))
    opened: list[JetStreamBus] = field(default_factory=list)

    @property
    def stream(self) -> StreamSettings:
        return StreamSettings(
            name=self.prefix.upper(),
            subjects=(f"{self.prefix}.eu-west.events.>",),
            duplicate_window_s=60,
        )

    async def bus(self) -> JetStreamBus:
        bus = await JetStreamBus.connect(self.url, self.stream)
        self.opened.append(bus)
        return bus

    async def lease(self, holder: str, ttl_s: float = 2.0) -> NatsKvLease:
        bus = await self.bus()
        return NatsKvLease(bus.jetstream, f"{self.stream.name}_leases", "relay", holder, ttl_s)

    async def relay(self, holder: str, ttl_s: float = 2.0) -> EventRelay:
        return EventRelay(
            self.store,
            self.db,
            await self.bus(),
            await self.lease(holder, ttl_s),
            region="eu-west",
            subject_prefix=self.prefix,
            batch_size=50,
            safety_poll_s=0.2,
        )

    async def append(self, count: int) -> list[RecordedEvent]:
        for n in range(count):
            await self.store.append(f"mood-{uuid.uuid4().hex[:8]}", [new_event(n)])
        return await self.store.read_all(0, 100_000)

    async def stream_info(self) -> StreamInfo:
        nc = await nats.connect(self.url)
        try:
            return await nc.jetstream().stream_info(self.stream.name)
        finally:
            await nc.close()

    async def stored(self) -> int:
        return int((await self.stream_info()).state.messages or 0)

    async def read_stream(self, count: int) -> list[Delivery]:
        bus = await self.bus()
        got: list[Delivery] = []
        reader = unique("reader")  # a consumer of its own, from the stream's start
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        while len(got) < count:
            assert asyncio.get_running_loop().time() < deadline, f"{len(got)} of {count} came"
            got += await bus.pull(reader, max_messages=count - len(got), timeout=0.5)
        return got


@contextlib.asynccontextmanager
async def deployment(url: str) -> AsyncIterator[Deployment]:
    d = Deployment(url, unique("r").replace("_", ""))
    try:
        yield d
    finally:
        for bus in d.opened:
            await bus.close()
        await d.db.close()
        with contextlib.suppress(Exception):  # the restart test's server may be gone already
            nc = await nats.connect(url, max_reconnect_attempts=0)
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await nc.jetstream().delete_stream(d.stream.name)
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await nc.jetstream().delete_key_value(f"{d.stream.name}_leases")
            await nc.close()


async def test_the_relay_publishes_every_event_in_position_order_with_its_id(
    nats_url: str,
) -> None:
    async with deployment(nats_url) as d:
        events = await d.append(120)

        async with await d.relay("a") as relay:
            await eventually(lambda: _at(relay, events[-1].position), "the relay's checkpoint")

        got = await d.read_stream(len(events))
        assert [m.msg_id for m in got] == [str(e.event_id) for e in events]
        assert [int(m.headers[POSITION_HEADER]) for m in got] == [e.position for e in events]
        assert got[0].subject == f"{d.prefix}.eu-west.events.mood.MoodRecorded"
        assert got[0].headers["traceparent"] == TRACEPARENT
        envelope = orjson.loads(got[7].data)
        assert envelope["eventId"] == str(events[7].event_id)
        assert envelope["data"] == {"n": 7} and envelope["position"] == events[7].position


async def test_a_republish_after_a_crash_is_stored_once(nats_url: str) -> None:
    async with deployment(nats_url) as d:
        events = await d.append(60)
        async with await d.relay("first") as relay:
            await eventually(lambda: _at(relay, events[-1].position), "the first relay")
        # The crash: every publish was acknowledged, but the checkpoint never moved.
        await d.db.apply([("UPDATE bus_relay_checkpoints SET position = 0", ())])
        events = await d.append(15)

        async with await d.relay("second") as relay:
            await eventually(lambda: _at(relay, events[-1].position), "the second relay")

        assert await d.stored() == len(events) == 75
        got = await d.read_stream(len(events))
        assert [m.msg_id for m in got] == [str(e.event_id) for e in events]


async def test_another_relay_takes_over_when_the_holder_stops_renewing(nats_url: str) -> None:
    async with deployment(nats_url) as d:
        events = await d.append(30)
        stalled = await d.lease("stalled", ttl_s=2.0)
        assert await stalled.acquire()  # and never renews: its process hung or died

        async with await d.relay("successor") as relay:
            await eventually(lambda: _at(relay, events[-1].position), "the successor relay")
            assert relay.publishing
            assert not await stalled.renew()

        assert await d.stored() == len(events)


async def test_two_relays_publish_each_event_once_in_order(nats_url: str) -> None:
    async with deployment(nats_url) as d:
        async with await d.relay("a") as a, await d.relay("b") as b:
            events = await d.append(200)
            await eventually(
                lambda: _at_any((a, b), events[-1].position), "either relay reaching the end"
            )
            assert [a.publishing, b.publishing].count(True) == 1

        got = await d.read_stream(len(events))
        assert [m.msg_id for m in got] == [str(e.event_id) for e in events]
        assert await d.stored() == len(events)


async def test_the_relay_resumes_after_nats_restarts(tmp_path: Path) -> None:
    with private_nats(tmp_path) as server:
        async with deployment(server.url) as d:
            events = await d.append(40)
            async with await d.relay("a", ttl_s=2.0) as relay:
                await eventually(lambda: _at(relay, events[-1].position), "before the restart")
                server.kill()
                events = await d.append(40)  # the store keeps taking events meanwhile
                server.start()

                await eventually(lambda: _at(relay, events[-1].position), "after the restart")

            assert await d.stored() == len(events) == 80
            got = await d.read_stream(len(events))
            assert [m.msg_id for m in got] == [str(e.event_id) for e in events]


async def test_a_server_configured_with_nats_runs_the_relay(nats_url: str, tmp_path: Path) -> None:
    prefix = unique("s").replace("_", "")
    settings = Settings(
        database_url="memory",
        data_dir=tmp_path,
        nats_url=nats_url,
        nats_stream=prefix.upper(),
        nats_subject_prefix=prefix,
        nats_storage="memory",
    )
    async with deployment(nats_url) as d:
        d.prefix = prefix  # so that its stream and lease bucket are removed afterwards
        async with open_hugmood(settings) as hugmood:
            [relay] = [s for s in hugmood.services if isinstance(s, EventRelay)]
            result = await hugmood.store.append("user-u1", [new_event(1, "UserRegistered")])

            await eventually(lambda: _at(relay, result.last_position), "the server's relay")

        # The server's start recorded the region's rules first (a RegionPolicyChanged).
        messages = await d.read_stream(2)
        assert [m.subject for m in messages] == [
            f"{prefix}.eu-west.events.policy.RegionPolicyChanged",
            f"{prefix}.eu-west.events.user.UserRegistered",
        ]


async def test_the_embedded_default_runs_no_relay(tmp_path: Path) -> None:
    async with open_hugmood(Settings(database_url="memory", data_dir=tmp_path)) as hugmood:
        assert not [s for s in hugmood.services if isinstance(s, EventRelay)]


async def _at(relay: EventRelay, position: int) -> bool:
    return relay.position >= position


async def _at_any(relays: tuple[EventRelay, ...], position: int) -> bool:
    return any(r.position >= position for r in relays)


@dataclass
class PrivateNats:
    """A `nats-server -js` of this test's own, on a free port, with its store in a folder."""

    store_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["nats-server", "-js", "-sd", str(self.store_dir), "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + DEADLINE_S
        while not _answers(self.port):
            assert self.process.poll() is None, "nats-server exited at start"
            assert time.monotonic() < deadline, "nats-server did not start"
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@contextlib.contextmanager
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    if shutil.which("nats-server") is None:
        message = "the nats-server binary is not installed"
        if IN_CI:
            pytest.fail(message + " (CI=true: fault-injection tests must run)")
        pytest.skip(message)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = PrivateNats(tmp_path / "jetstream", port)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(4) == b"INFO"
    except OSError:
        return False


async def test_a_relay_killed_with_sigkill_is_replaced_and_nothing_is_stored_twice(
    nats_url: str, tmp_path: Path
) -> None:
    async with deployment(nats_url) as d:
        d.prefix = unique("k").replace("_", "")
        store = await SqliteEventStore.open(tmp_path / "events.sqlite3")
        try:
            for n in range(200):
                await store.append(f"mood-{n}", [new_event(n)])
            victim = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.integration.relay_process",
                *(nats_url, d.prefix, str(tmp_path), "victim"),
                cwd=Path(__file__).parents[2],
            )
            try:
                await eventually(lambda: _stored_at_least(d, 40), "the victim publishing")
            finally:
                victim.kill()  # SIGKILL: its lease is left to expire, its checkpoint wherever it was
                await victim.wait()
            for n in range(200, 300):
                await store.append(f"mood-{n}", [new_event(n)])
            events = await store.read_all(0, 1000)

            async with await open_relay(nats_url, d.prefix, tmp_path, "successor") as relay:
                assert await relay.wait_for(events[-1].position, DEADLINE_S)

            assert await d.stored() == len(events) == 300
            got = await d.read_stream(len(events))
            assert [m.msg_id for m in got] == [str(e.event_id) for e in events]
        finally:
            await store.close()


async def _stored_at_least(d: Deployment, count: int) -> bool:
    with contextlib.suppress(nats.js.errors.NotFoundError):
        return await d.stored() >= count
    return False
