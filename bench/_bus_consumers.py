"""Durable consumers on the bus, measured for `bench/bus.py`:

- lag: from an acknowledged append to the read models' commit of it, at 1,000 events/s
  offered (real check-in events, SQLite with synchronous=FULL), through the relay, JetStream
  and the ordered consumer, against the embedded path (the projection runner following the
  store) at the same rate in the same run;
- scaling: a CPU-bound parallel consumer in one worker process and in two, on PostgreSQL;
- recovery: `hugmood distributed`'s topology under load, the worker holding the relay and the
  other one SIGKILLed in turn, seconds until the read models are within 1 s of the log.

Run as a module by bench/bus.py; `python bench/_bus_consumers.py worker …` is the worker
process of the scaling measurement."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sys
import tempfile
import threading
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats.js.errors

from _common import emit, emit_latencies, free_port, machine_params
from hugmood.application.consumers import known_event_types
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.domain.moods import ContextFactors, MoodRecorded
from hugmood.entrypoints.distributed import Topology, topology_env
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.postgres import PostgresEventStore
from hugmood.eventstore.sqlite import SqliteEventStore
from hugmood.eventstore.store import EventStore
from hugmood.messaging.bus import StreamSettings
from hugmood.messaging.consumer import OrderedConsumer
from hugmood.messaging.jetstream import JetStreamBus, JetStreamParking
from hugmood.messaging.lease import SingleProcessLease
from hugmood.messaging.parallel import ParallelConsumer
from hugmood.messaging.relay import EventRelay
from hugmood.projections.catalog import all_projections
from hugmood.projections.runner import ProjectionRunner
from hugmood.projections.schema import prepare_read_models
from hugmood.sql.postgres import PostgresDatabase
from hugmood.sql.sqlite import SqliteDatabase

BENCH = "bus"
REGION = "eu-west"
POSTGRES_URL = os.environ.get(
    "HUGMOOD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
RELAY_CAUGHT_UP = 5
"""A relay this many events behind (check-ins of the last moment) has caught up."""
CPU_ITERATIONS = 3_000
"""PBKDF2 rounds per event in the CPU-bound consumer (a few ms of one core)."""


def check_in(n: int) -> NewEvent:
    owner = f"bench-user-{n % 50}"
    event = MoodRecorded(
        entry_id=str(uuid.uuid4()),
        owner_id=owner,
        mood_type="calm",
        intensity=0.5,
        note=None,
        context_factors=ContextFactors(),
        privacy="friends-only",
        recorded_at_ms=int(time.time() * 1000),
    )
    return to_new_event(event, user_id=owner, context=CommandContext(), now=datetime.now(UTC))


def settings(prefix: str) -> StreamSettings:
    return StreamSettings(prefix.upper(), (f"{prefix}.{REGION}.events.>",), duplicate_window_s=60)


async def offer(
    store: EventStore, rate: float, seconds: float, runner: ProjectionRunner
) -> list[float]:
    """Append `rate` check-ins a second (in ticks of 10 ms) and time each tick's events from
    the append's acknowledgement until the read models have committed them."""
    lags: list[float] = []
    pending: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def watch() -> None:
        while (item := await pending.get()) is not None:
            position, acked = item
            await runner.wait_for(position)
            lags.append(time.perf_counter() - acked)

    async def append(n: int, per_tick: int) -> None:
        result = await store.append(
            f"mood-{uuid.uuid4().hex[:12]}", [check_in(n + i) for i in range(per_tick)]
        )
        pending.put_nowait((result.last_position, time.perf_counter()))

    watcher = asyncio.create_task(watch())
    per_tick = max(1, round(rate / 100))
    started = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for tick in range(int(seconds * 100)):
        delay = started + tick / 100 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(append(tick * per_tick, per_tick)))
    await asyncio.gather(*tasks)
    pending.put_nowait(None)
    await watcher
    return lags


async def lag_through(url: str | None, seconds: float, rate: float) -> list[float]:
    """Lags through the bus (`url`), or through the embedded path (None)."""
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        store = await SqliteEventStore.open(folder / "events.sqlite3", synchronous="FULL")
        stack.push_async_callback(store.close)
        db = SqliteDatabase(folder / "readmodels.sqlite3", synchronous="NORMAL")
        stack.push_async_callback(db.close)
        await prepare_read_models(db, all_projections())
        runner = ProjectionRunner(store, db, all_projections())
        if url is None:
            await stack.enter_async_context(runner)
            return await offer(store, rate, seconds, runner)
        prefix = f"benchlag{uuid.uuid4().hex[:8]}"
        bus = await JetStreamBus.connect(url, settings(prefix))
        stack.push_async_callback(bus.close)
        stack.push_async_callback(delete_streams, bus, prefix.upper())
        await bus.start()
        relay = EventRelay(
            store, db, bus, SingleProcessLease(), region=REGION, subject_prefix=prefix
        )
        consumer = OrderedConsumer(
            "read models",
            store,
            bus,
            JetStreamParking(bus.jetstream, f"{prefix.upper()}_PARKED", f"{prefix}.{REGION}"),
            runner,
            filter_subject=f"{prefix}.{REGION}.events.>",
            known_types=known_event_types(),
        )
        await stack.enter_async_context(relay)
        await stack.enter_async_context(consumer)
        lags = await offer(store, rate, seconds, runner)
        assert consumer.stats.delivered > 0, "the consumer heard of the events from the bus"
        return lags


async def measure_lag(url: str, quick: bool) -> None:
    seconds, rate = (5.0, 1000.0) if quick else (15.0, 1000.0)
    embedded = await lag_through(None, seconds, rate)
    through_bus = await lag_through(url, seconds, rate)
    emit_latencies(
        BENCH + ".lag",
        through_bus,
        "the embedded path: the projection runner following the store, same rate",
        embedded,
        {
            "offered_events_per_s": rate,
            "seconds": seconds,
            "events": len(through_bus) * round(rate / 100),
            "store": "SQLite synchronous=FULL; read models SQLite; NATS file storage",
            "path": "append ack -> relay -> JetStream -> ordered consumer -> read-model commit",
            **machine_params(),
        },
        target_p99_ms=100,
    )


async def delete_streams(bus: JetStreamBus, name: str) -> None:
    """The measurement's stream and its parked stream (if anything was parked)."""
    for stream in (name, f"{name}_PARKED"):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await bus.jetstream.delete_stream(stream)


async def count(db: PostgresDatabase, table: str) -> int:
    row = await db.fetchrow(f"SELECT count(*) FROM {table}")
    return int(row[0]) if row else 0


async def _drop(schema: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


# --- scaling: a CPU-bound parallel consumer in one worker process or two ------------------


class CpuBoundEffect:
    """Stands in for an analytics consumer: a few ms of hashing per event, then one row."""

    async def statements(self, event: RecordedEvent) -> list[tuple[str, tuple[Any, ...]]]:
        digest = hashlib.pbkdf2_hmac(
            "sha256", str(event.event_id).encode(), b"bench", CPU_ITERATIONS
        )
        return [
            (
                "INSERT INTO bench_effects (event_id, digest) VALUES ($1, $2)",
                (str(event.event_id), digest.hex()),
            )
        ]


async def run_worker(url: str, schema: str, prefix: str) -> None:
    """One worker process: the parallel consumer until its parent kills it."""
    store = await PostgresEventStore.open(POSTGRES_URL, schema=schema)
    db = await PostgresDatabase.connect(POSTGRES_URL, schema=schema)
    bus = await JetStreamBus.connect(url, settings(prefix))
    consumer = ParallelConsumer(
        "cpu",
        store,
        db,
        bus,
        JetStreamParking(bus.jetstream, f"{prefix.upper()}_PARKED", f"{prefix}.{REGION}"),
        CpuBoundEffect(),
        types=frozenset({"MoodRecorded"}),
        filter_subject=f"{prefix}.{REGION}.events.>",
        known_types=known_event_types(),
        batch_size=10,
    )
    async with consumer:
        print("ready", flush=True)
        await asyncio.Event().wait()


async def scaling_run(url: str, workers: int, events: int) -> float:
    """Events a second a CPU-bound parallel consumer applies with `workers` processes."""
    schema = f"benchcpu_{uuid.uuid4().hex[:8]}"
    prefix = f"benchcpu{uuid.uuid4().hex[:8]}"
    store = await PostgresEventStore.open(POSTGRES_URL, schema=schema)
    db = await PostgresDatabase.connect(POSTGRES_URL, schema=schema)
    processes: list[asyncio.subprocess.Process] = []
    bus = await JetStreamBus.connect(url, settings(prefix))
    try:
        await db.apply(
            [("CREATE TABLE bench_effects (event_id TEXT PRIMARY KEY, digest TEXT)", ())]
        )
        for start in range(0, events, 100):
            await store.append(
                f"mood-{start}", [check_in(n) for n in range(start, min(events, start + 100))]
            )
        await bus.start()
        for _ in range(workers):
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "worker",
                    url,
                    schema,
                    prefix,
                    stdout=asyncio.subprocess.PIPE,
                )
            )
        for process in processes:
            assert process.stdout is not None
            if (await process.stdout.readline()).strip() != b"ready":
                raise RuntimeError("a worker did not start")
        started = time.perf_counter()
        relay = EventRelay(
            store, db, bus, SingleProcessLease(), region=REGION, subject_prefix=prefix
        )
        async with relay:
            while True:
                if await count(db, "bench_effects") >= events:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
        doubled = await count(db, "bus_processed")
        assert doubled == events, f"{doubled} effects for {events} events"
        return events / elapsed
    finally:
        for process in processes:
            process.kill()
            await process.wait()
        await delete_streams(bus, prefix.upper())
        await bus.close()
        await store.close()
        await db.close()
        await _drop(schema)


async def measure_scaling(url: str, quick: bool) -> None:
    events = 600 if quick else 1500
    one = await scaling_run(url, 1, events)
    two = await scaling_run(url, 2, events)
    emit(
        BENCH,
        "cpu_bound_consumer_two_workers_events_per_s",
        two,
        "1/s",
        "the same consumer in one worker process",
        one,
        {
            "events": events,
            "effect": f"PBKDF2-SHA256 x{CPU_ITERATIONS} per event, one row, on PostgreSQL",
            "target": "ratio >= 1.6",
            "meets_target": two / one >= 1.6,
            **machine_params(),
        },
    )


# --- recovery after SIGKILL ---------------------------------------------------------------


RECORD = "mutation($i: RecordMoodInput!) { recordMood(input: $i) { id } }"


def check_in_took_s(client: httpx.Client, edge: str, token: str) -> float:
    """One check-in through the edge; it answers once the read models hold it (read-your-
    writes: the edge waits on the workers' checkpoint, up to 10 s)."""
    started = time.monotonic()
    response = client.post(
        f"{edge}/graphql",
        json={"query": RECORD, "variables": {"i": {"moodType": "calm", "intensity": 0.5}}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert "errors" not in response.json(), response.text
    return time.monotonic() - started


def recovery_after_kill(
    topology: Topology, victim: int, edge: str, client: httpx.Client, token: str
) -> tuple[float, float]:
    """SIGKILL worker `victim` while check-ins flow. Seconds until the read models are again
    within 1 s of the log (a check-in is answered, read models included, within 1 s), and
    until a live worker publishes the log again with its relay caught up."""
    topology.workers[victim].kill()
    killed = time.monotonic()
    read_models: float | None = None
    relay: float | None = None
    while time.monotonic() - killed < 60 and (read_models is None or relay is None):
        if read_models is None and check_in_took_s(client, edge, token) < 1.0:
            read_models = time.monotonic() - killed
        if relay is None:
            for worker in topology.workers:
                if worker.process is None:
                    continue
                health = client.get(f"{worker.url}/healthz").json()["relay"]
                if health["publishing"] and health["lag"] <= RELAY_CAUGHT_UP:
                    relay = time.monotonic() - killed
        time.sleep(0.02)
    if read_models is None or relay is None:
        raise RuntimeError("no recovery within 60 s")
    return read_models, relay


def sign_up(client: httpx.Client, edge: str) -> str:
    handle = f"b{uuid.uuid4().hex[:10]}"
    password = "a good password"  # noqa: S105 (a bench account on a throwaway schema)
    client.post(
        f"{edge}/graphql",
        json={
            "query": "mutation($i: RegisterInput!) { register(input: $i) { handle } }",
            "variables": {"i": {"handle": handle, "displayName": "B", "password": password}},
        },
    )
    answer = client.post(
        f"{edge}/graphql",
        json={
            "query": "mutation($h: String!, $p: String!) { logIn(handle: $h, password: $p) { token } }",
            "variables": {"h": handle, "p": password},
        },
    ).json()
    token: str = answer["data"]["logIn"]["token"]
    return token


def measure_recovery(url: str, quick: bool) -> None:
    schema = f"benchrec_{uuid.uuid4().hex[:8]}"
    prefix = f"benchrec{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp())
    env = topology_env(
        {
            "HUGMOOD_POSTGRES_SCHEMA": schema,
            "HUGMOOD_NATS_URL": url,
            "HUGMOOD_NATS_STREAM": prefix.upper(),
            "HUGMOOD_NATS_SUBJECT_PREFIX": prefix,
            "HUGMOOD_REDIS_PREFIX": prefix,
            "HUGMOOD_DATA_DIR": str(folder),
            "HUGMOOD_LOG_JSON": "true",
        }
    )
    topology = Topology(
        env, folder / "logs", edge_ports=[free_port()], worker_ports=[free_port(), free_port()]
    )
    topology.start()
    edge = topology.edges[0].url
    stop = False
    client = httpx.Client(timeout=10)

    token = sign_up(client, edge)

    def load() -> None:
        # A steady stream of check-ins from another device, as a day's use would be.
        with httpx.Client(timeout=15) as c:
            while not stop:
                check_in_took_s(c, edge, token)
                time.sleep(0.01)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    try:
        time.sleep(2)
        # The first worker started first, so it holds the relay's lease.
        relay_holder = recovery_after_kill(topology, 0, edge, client, token)
        topology.workers[0].start()
        topology.workers[0].wait_until_healthy()
        time.sleep(2)
        other = recovery_after_kill(topology, 1, edge, client, token)
    finally:
        stop = True
        loader.join(timeout=10)
        topology.stop()
        client.close()

        asyncio.run(_drop(schema))
    params = {
        "topology": "1 edge, 2 workers, PostgreSQL + Redis + NATS",
        "load": "check-ins through the edge, one at a time, each waiting for read-your-writes",
        "relay_lease_ttl_s": float(env.get("HUGMOOD_RELAY_LEASE_TTL_S", "3")),
        "read_models_recovered": "a check-in answered (read models included) within 1 s",
        "relay_recovered": f"a live worker holds the lease and is <= {RELAY_CAUGHT_UP} behind",
        "target": "< 5 s",
        **machine_params(),
    }
    results = {
        "relay_worker_killed_read_models": relay_holder[0],
        "relay_worker_killed_relay": relay_holder[1],
        "other_worker_killed_read_models": other[0],
        "other_worker_killed_relay": other[1],
    }
    for name, seconds in results.items():
        emit(
            BENCH,
            f"recovery_s_{name}",
            seconds,
            "s",
            "the target",
            5.0,
            {**params, "meets_target": seconds < 5},
            lower_is_better=True,
            digits=2,
        )


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    asyncio.run(run_worker(*sys.argv[2:5]))
