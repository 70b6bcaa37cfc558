"""HugMood distributed, as `hugmood distributed` runs it: two edges (`serve --edge-only`) and
two workers (`hugmood worker`) on PostgreSQL, Redis and NATS JetStream. Check-ins and hugs
through either edge reach the read models through the workers; a worker SIGKILLed mid-stream,
the relay's process killed, and the NATS server restarted all end with read models equal to a
full replay of the log; a message that is not an event is parked, listed, retried and
discarded from the CLI.

NATS is a private `nats-server -js` per test (so it can be restarted); PostgreSQL and Redis are
the machine's, with a schema and a key prefix of the test's own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from hugmood.bootstrap import open_data_keys
from hugmood.config import Settings
from hugmood.entrypoints.distributed import Topology, topology_env
from hugmood.privacy.keys.cells import SealedCells
from tests.conftest import IN_CI, POSTGRES_URL, unique
from tests.e2e.client import GraphQLClient, User, befriend, log_in, recent_ids, register
from tests.e2e.server import free_port, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DEADLINE_S = 60.0
RECORD_MOODS = (
    "mutation($e: [RecordMoodInput!]!) { recordMoods(entries: $e) { id status code message } }"
)
SEND_HUG = "mutation($i: SendHugInput!) { sendHug(input: $i) { id status } }"
INBOX = "{ inbox { id sender { handle } } }"


@dataclass
class Edge:
    """What the e2e client needs of a server: its URL and an HTTP client."""

    url: str
    http: httpx.Client


class PrivateNats:
    """A `nats-server -js` of the test's own, on a free port, its store in a folder."""

    def __init__(self, store_dir: Path) -> None:
        binary = shutil.which("nats-server")
        if binary is None:
            message = "nats-server is not installed"
            if IN_CI:
                pytest.fail(message + " (CI=true: the distributed tests must run)")
            pytest.skip(message)
        self.binary = binary
        self.port = free_port()
        self.store_dir = store_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "-js",
                "-sd",
                str(self.store_dir),
                "-p",
                str(self.port),
                "-a",
                "127.0.0.1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.05)
        raise AssertionError("the private nats-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class Deployment:
    topology: Topology
    nats: PrivateNats
    env: dict[str, str]
    schema: str

    def edge(self, n: int) -> Edge:
        return Edge(self.topology.edges[n].url, httpx.Client(timeout=30.0))

    def user(self, n: int, prefix: str) -> User:
        edge = self.edge(n)
        handle = unique(prefix)
        register(edge, handle)  # type: ignore[arg-type]
        return User(handle, GraphQLClient(edge, log_in(edge, handle)))  # type: ignore[arg-type]

    def health(self, process: int) -> dict[str, Any]:
        url = self.topology.processes[process].url
        response: dict[str, Any] = httpx.get(f"{url}/healthz", timeout=5).json()
        return response


@pytest.fixture
def deployment(tmp_path: Path, machine_redis: tuple[str, str]) -> Iterator[Deployment]:
    asyncio.run(_postgres_or_skip())
    private = PrivateNats(tmp_path / "nats")
    private.start()
    schema = unique("dist")
    redis_url, redis_prefix = machine_redis
    prefix = unique("hmd")
    env = topology_env(
        {
            "HUGMOOD_DATABASE_URL": POSTGRES_URL,
            "HUGMOOD_POSTGRES_SCHEMA": schema,
            "HUGMOOD_REDIS_URL": redis_url,
            "HUGMOOD_REDIS_PREFIX": f"hm:{redis_prefix}",
            "HUGMOOD_NATS_URL": private.url,
            "HUGMOOD_NATS_STREAM": prefix.upper(),
            "HUGMOOD_NATS_SUBJECT_PREFIX": prefix,
            "HUGMOOD_RELAY_LEASE_TTL_S": "2",
            "HUGMOOD_DATA_DIR": str(tmp_path / "data"),
            "HUGMOOD_LOG_JSON": "true",
        }
    )
    topology = Topology(
        env,
        tmp_path / "logs",
        edge_ports=[free_port(), free_port()],
        worker_ports=[free_port(), free_port()],
    )
    try:
        topology.start()
        yield Deployment(topology, private, env, schema)
    finally:
        topology.stop()
        private.kill()
        asyncio.run(_drop(schema))


async def _postgres_or_skip() -> None:
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as e:
        if IN_CI:
            pytest.fail(f"PostgreSQL is not reachable: {e} (CI=true: the tests must run)")
        pytest.skip(f"PostgreSQL is not reachable: {e}")
    await conn.close()


async def _drop(schema: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def entries(count: int, privacy: str = "FRIENDS_ONLY") -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "id": str(uuid.uuid4()),
            "moodType": "calm",
            "intensity": 0.5,
            "privacy": privacy,
            "recordedAt": now,
        }
        for _ in range(count)
    ]


def eventually(probe: Any, what: str, deadline_s: float = DEADLINE_S) -> float:
    """Wait until `probe()` is truthy; returns the seconds it took."""
    start = time.monotonic()
    while not probe():
        assert time.monotonic() - start < deadline_s, f"timed out waiting: {what}"
        time.sleep(0.05)
    return time.monotonic() - start


def caught_up(d: Deployment) -> bool:
    """The read models (as an edge sees them) and the publishing relay are at the log's end."""
    workers = [d.health(i) for i, w in enumerate(d.topology.workers) if w.process is not None]
    relay_lags = [w["relay"]["lag"] for w in workers if w["relay"]["publishing"]]
    return d.health(2)["readModelsLag"] == 0 and relay_lags == [0]


async def read_models(schema: str, env: Mapping[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows in a stable order, personal cells opened (each sealing
    draws a fresh nonce, so only their text can be compared)."""
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        async with AsyncExitStack() as stack:
            cells = SealedCells(await open_data_keys(Settings.from_env(env), stack))
            tables = [
                r["table_name"]
                for r in await conn.fetch(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1"
                    " AND table_name LIKE 'rm\\_%' AND table_name <> 'rm_checkpoints'",
                    schema,
                )
            ]
            dump: dict[str, list[tuple[Any, ...]]] = {}
            for table in sorted(tables):
                rows = await conn.fetch(f'SELECT * FROM "{schema}"."{table}"')
                opened = await cells.open_cells([tuple(r.values()) for r in rows])
                dump[table] = sorted((tuple(r) for r in opened), key=repr)
            return dump
    finally:
        await conn.close()


def replay_equals_live(d: Deployment) -> None:
    """Stop everything, keep what the workers built, rebuild from the log, compare."""
    d.topology.stop()
    live = asyncio.run(read_models(d.schema, d.env))
    rebuilt = run_cli("projections", "rebuild", env=d.env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    replayed = asyncio.run(read_models(d.schema, d.env))
    assert live.keys() == replayed.keys()
    for table in live:
        assert live[table] == replayed[table], f"{table} differs from a replay of the log"


def test_check_ins_and_hugs_through_both_edges_reach_the_read_models_through_workers(
    deployment: Deployment,
) -> None:
    d = deployment
    ann, ben = d.user(0, "ann"), d.user(1, "ben")
    befriend(ann, ben)

    [mine] = ann.api(RECORD_MOODS, e=entries(1))["recordMoods"]
    assert mine["status"] == "STORED", mine
    hug = ben.api(SEND_HUG, i={"to": ann.handle, "hugType": "WARM"})["sendHug"]

    # Read-your-writes through the other edge, though neither edge applies read models.
    assert mine["id"] in recent_ids(ben, ann.handle)
    inbox = ann.api(INBOX)["inbox"]
    assert [h["id"] for h in inbox] == [hug["id"]]
    assert inbox[0]["sender"]["handle"] == ben.handle
    eventually(
        lambda: all(d.health(i)["consumers"]["read models"]["lag"] == 0 for i in (0, 1)),
        "both workers to see the read models at the log's end",
        deadline_s=5,
    )
    workers = [d.health(i) for i in range(2)]
    assert [w["relay"]["publishing"] for w in workers].count(True) == 1, "one relay publishes"
    metrics = httpx.get(f"{d.topology.workers[0].url}/metrics", timeout=5).text
    for name in (
        'hugmood_bus_consumer_lag{consumer="read models"}',
        "hugmood_bus_consumer_redeliveries",
        "hugmood_bus_parked_messages",
        "hugmood_bus_relay_lag",
        "hugmood_mesh_requests_total",
    ):
        assert name in metrics, f"{name} is not in a worker's /metrics"
    assert d.health(2)["role"] == "edge" and d.health(2)["bus"] == "nats"


def test_a_worker_killed_mid_stream_loses_nothing_and_applies_nothing_twice(
    deployment: Deployment,
) -> None:
    d = deployment
    ann, ben = d.user(0, "ann"), d.user(1, "ben")
    befriend(ann, ben)
    recorded = 0
    for batch in range(50):  # 5,000 check-ins, half through each edge
        if batch == 20:
            d.topology.workers[0].kill()  # it holds the relay's lease: it started first
        author = ann if batch % 2 else ben
        results = author.api(RECORD_MOODS, e=entries(100))["recordMoods"]
        recorded += sum(r["status"] == "STORED" for r in results)
    assert recorded == 5000

    took = eventually(lambda: caught_up(d), "the surviving worker to catch up")
    assert took < 30
    survivor = d.health(1)  # worker 2
    assert survivor["relay"]["publishing"], "the survivor took the relay over"
    replay_equals_live(d)


def test_nats_restarted_under_load_loses_nothing(deployment: Deployment) -> None:
    d = deployment
    ann = d.user(0, "ann")
    ann.api(RECORD_MOODS, e=entries(50))
    d.nats.kill()
    # An edge starts without NATS: it only needs the store (and says the bus is away).
    d.topology.edges[1].stop()
    d.topology.edges[1].start()
    d.topology.edges[1].wait_until_healthy()
    assert d.health(3)["bus"] == "unreachable at start"
    # The store is the truth: the edges keep taking check-ins while NATS is away, and the
    # workers keep the read models up from the store.
    results = ann.api(RECORD_MOODS, e=entries(50))["recordMoods"]
    assert all(r["status"] == "STORED" for r in results)
    eventually(lambda: d.health(2)["readModelsLag"] == 0, "read models without NATS")
    eventually(lambda: d.health(0)["status"] == "degraded", "a worker to say the bus is away")
    d.nats.start()
    ann.api(RECORD_MOODS, e=entries(50))
    eventually(lambda: caught_up(d) and d.health(0)["status"] == "ok", "recovery after NATS")
    replay_equals_live(d)


def test_a_message_that_is_not_an_event_is_parked_listed_retried_and_discarded(
    deployment: Deployment,
) -> None:
    d = deployment
    # A subject only the read models consume (each consumer parks its own copy of a bad
    # message: the insights consumer also reads the mood subjects).
    subject = f"{d.env['HUGMOOD_NATS_SUBJECT_PREFIX']}.eu-west.events.user.UserRegistered"

    async def publish_garbage() -> None:
        nc = await nats.connect(d.nats.url)
        try:
            await nc.jetstream().publish(subject, b"\x00 not an event", headers={"x": "1"})
        finally:
            await nc.close()

    asyncio.run(publish_garbage())

    def parked() -> list[dict[str, Any]]:
        listed = run_cli("bus", "parked", "list", "--json", env=d.env)
        assert listed.returncode == 0, listed.stderr
        found: list[dict[str, Any]] = json.loads(listed.stdout)
        return found

    eventually(lambda: len(parked()) == 1, "the garbage to be parked")
    [first] = parked()
    assert first["consumer"] == "read models"
    assert first["reason"].startswith("not JSON")
    assert first["subject"] == subject

    retried = run_cli("bus", "parked", "retry", str(first["sequence"]), env=d.env)
    assert retried.returncode == 0, retried.stderr
    # Still not an event: parked again, as a new entry.
    eventually(
        lambda: [p["sequence"] for p in parked()] not in ([], [first["sequence"]]),
        "the retried message to be parked again",
    )
    [again] = parked()

    discarded = run_cli("bus", "parked", "discard", str(again["sequence"]), env=d.env)
    assert discarded.returncode == 0, discarded.stderr
    assert parked() == []
    unknown = run_cli("bus", "parked", "discard", str(again["sequence"]), env=d.env)
    assert unknown.returncode == 1 and "no parked message number" in unknown.stderr

    # The consumer carried on through all of it.
    ann = d.user(0, "ann")
    [mine] = ann.api(RECORD_MOODS, e=entries(1))["recordMoods"]
    assert mine["status"] == "STORED"
    eventually(lambda: d.health(0)["readModelsLag"] == 0, "the read models to carry on")
