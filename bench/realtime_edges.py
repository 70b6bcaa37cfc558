"""Delivered hugs/s with one edge process and with two, sharing PostgreSQL and Redis (and, in
full mode, NATS JetStream): the same authenticated clients and closed-loop load, all on one
edge or split over both, in alternating rounds.

Run: `.venv/bin/python bench/realtime_edges.py [--quick]`; one JSON object a line. Needs
PostgreSQL (`--postgres-url`, trust auth) and Redis (`--redis-url`); each run uses a schema,
a Redis prefix and a NATS stream of its own and removes them afterwards. NATS (`--nats-url`)
is skipped, with a message, when it is not reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import nats
import orjson
import redis.asyncio as aioredis
from nats.js.errors import NotFoundError

from _common import (
    HOST,
    HttpConnection,
    HttpError,
    ServerProcess,
    emit,
    graphql_headers,
    hugmood_env,
    machine_params,
    run,
)
from realtime import (
    SEND_HUG,
    Account,
    Hugs,
    Inbox,
    Shape,
    Target,
    abort_all,
    collector_paused,
    connect_all,
    delivered_rate,
    hugmood_accounts,
)

BENCH = "realtime.edges"
BASELINE = "one edge process, same deployment, same clients and load, alternating rounds"


@dataclass(frozen=True, slots=True)
class Load:
    pairs: int
    """Friend pairs sending each other hugs; each user has one socket."""
    connections: int
    """Keep-alive HTTP connections sending hugs, spread evenly over the edges in use."""
    rounds: int
    round_s: float
    grace_s: float

    def shape(self) -> Shape:
        """The realtime bench's shape for account setup: the pairs and no idle crowd."""
        return Shape(
            sockets=2 * self.pairs,
            pairs=self.pairs,
            crowd_users=0,
            seconds=self.round_s,
            warmup_s=0.0,
            idle_s=0.0,
            grace_s=self.grace_s,
            rate=1.0,
            rounds=self.rounds,
            round_s=self.round_s,
            connections=self.connections,
        )


@dataclass(frozen=True, slots=True)
class Services:
    postgres_url: str
    redis_url: str
    nats_url: str
    """Empty: no NATS deployment."""


@dataclass
class Edges:
    """One way of spreading the clients: user i's socket on `edges[i % n]`, HTTP connection j
    on `edges[j % n]`, so about half the hugs cross from one edge to the other."""

    name: str
    edges: list[ServerProcess]
    inbox: Inbox
    rounds: list[Hugs]
    edge_cpu_s: list[float]
    workers: list[ServerProcess]
    worker_cpu_s: float = 0.0
    machine_busy_s: float = 0.0
    sending_s: float = 0.0
    client_cpu_s: float = 0.0


# --- a deployment: edges sharing PostgreSQL, Redis and maybe NATS -----------------------------


@contextlib.asynccontextmanager
async def deployment(
    workdir: Path, services: Services, *, with_nats: bool, edges: int = 2
) -> AsyncIterator[tuple[list[ServerProcess], list[ServerProcess]]]:
    """Its edges and its workers, on a fresh schema and Redis prefix; all removed at the end.

    Without NATS: `edges` `hugmood serve` processes, each running every consumer too (the log
    on PostgreSQL is the only link). With NATS: one `hugmood worker` (read models, the relay to
    JetStream) and `edges` `hugmood serve --edge-only` (API, sockets, pushes), on a stream of
    their own. Started one after the other: the first creates the schema.
    """
    tag = uuid.uuid4().hex[:10]
    settings = {
        "database_url": services.postgres_url,
        "postgres_schema": f"bench_edges_{tag}",
        "redis_url": services.redis_url,
        "redis_prefix": f"bench-edges-{tag}",
        "secret_key": secrets.token_urlsafe(48),
        "hugs_per_minute": "1000000",
    }
    stream = f"BENCH_EDGES_{tag}"
    if with_nats:
        settings |= {
            "nats_url": services.nats_url,
            "nats_stream": stream,
            "nats_subject_prefix": f"bench{tag}",
        }
    env = hugmood_env(workdir / f"data-{tag}", **settings)
    serve = [sys.executable, "-m", "hugmood", "serve", "--host", HOST, "--port", "{port}"]
    workers = []
    if with_nats:
        worker = [sys.executable, "-m", "hugmood", "worker", "--host", HOST, "--port", "{port}"]
        workers = [ServerProcess("worker", worker, env, workdir / f"worker-{tag}.log")]
        serve.append("--edge-only")
    processes = [
        ServerProcess(f"edge {i + 1}", serve, env, workdir / f"edge-{tag}-{i}.log")
        for i in range(edges)
    ]
    try:
        for process in [*workers, *processes]:
            process.start()
            await process.wait_ready()
        yield processes, workers
    finally:
        for process in [*processes, *workers]:
            process.stop()
        await remove(services, settings, stream if with_nats else None)


async def remove(services: Services, settings: dict[str, str], stream: str | None) -> None:
    """Drop the run's schema, Redis keys and NATS stream (with the relay's lease bucket)."""
    conn = await asyncpg.connect(services.postgres_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{settings["postgres_schema"]}" CASCADE')
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(services.redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"hm:{settings['redis_prefix']}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
    if stream is not None and services.nats_url:
        nc = await nats.connect(services.nats_url)
        try:
            js = nc.jetstream()
            for name in (stream, f"KV_{stream}_leases"):
                with contextlib.suppress(NotFoundError):
                    await js.delete_stream(name)
        finally:
            await nc.close()


# --- the load --------------------------------------------------------------------------------


async def one_round(layout: Edges, active: list[Account], load: Load, counter: list[int]) -> None:
    """Connect every user's socket to its edge, send hugs over the layout's HTTP connections
    for `round_s` as fast as they are answered, wait for the arrivals, disconnect."""
    n = len(layout.edges)
    targets = [
        Target(layout.name, edge, f"ws://{HOST}:{edge.port}/graphql", [], [], layout.inbox)
        for edge in layout.edges
    ]
    for i, target in enumerate(targets):
        plan = [(a, "phone") for j, a in enumerate(active) if j % n == i]
        await connect_all(target, plan, read=True)
    failed = sum(t.connect_failures for t in targets)
    if failed:
        why = next(t.first_connect_error for t in targets if t.first_connect_error)
        raise RuntimeError(f"{failed} sockets failed to connect to {layout.name}: {why}")
    pool = [await HttpConnection.open(layout.edges[j % n].port) for j in range(load.connections)]
    heads = {
        (conn.port, a.handle): conn.head("POST", "/graphql", graphql_headers(a.token))
        for conn in pool[:n]
        for a in active
    }
    hugs = Hugs()

    async def worker(conn: HttpConnection, stop: float) -> None:
        with contextlib.suppress(HttpError):  # counted; a broken connection stays broken
            while (began := time.perf_counter()) < stop:
                i = counter[0]
                counter[0] += 1
                a, b = active[2 * (i % load.pairs)], active[2 * (i % load.pairs) + 1]
                sender, recipient = (a, b) if (i // load.pairs) % 2 == 0 else (b, a)
                hug_id = str(uuid.uuid4())
                hugs.scheduled[hug_id] = began
                body = {
                    "query": SEND_HUG,
                    "variables": {
                        "input": {"id": hug_id, "to": recipient.handle, "hugType": "WARM"}
                    },
                }
                try:
                    response = await conn.send(heads[conn.port, sender.handle], orjson.dumps(body))
                except HttpError as e:
                    hugs.failed(hug_id, str(e))
                    raise
                if response.status != 200 or b'"errors"' in response.body:
                    hugs.failed(hug_id, f"HTTP {response.status} {response.body[:200]!r}")
                else:
                    hugs.acked.add(hug_id)

    cpu_before = [edge.cpu_seconds() or 0.0 for edge in layout.edges]
    worker_before = sum(w.cpu_seconds() or 0.0 for w in layout.workers)
    busy_before, client_before = machine_busy_s(), time.process_time()
    try:
        with collector_paused():
            hugs.started = time.perf_counter()
            stop = hugs.started + load.round_s
            async with asyncio.timeout(load.round_s + load.grace_s):
                await asyncio.gather(*(worker(conn, stop) for conn in pool))
            hugs.sending_s = time.perf_counter() - hugs.started
            await layout.inbox.drained(hugs, load.grace_s)
    finally:
        for conn in pool:
            conn.close()
        for target in targets:
            abort_all(target)
    layout.sending_s += hugs.sending_s
    layout.client_cpu_s += time.process_time() - client_before
    layout.machine_busy_s += machine_busy_s() - busy_before
    layout.worker_cpu_s += sum(w.cpu_seconds() or 0.0 for w in layout.workers) - worker_before
    for i, edge in enumerate(layout.edges):
        layout.edge_cpu_s[i] += (edge.cpu_seconds() or 0.0) - cpu_before[i]
    layout.rounds.append(hugs)


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all processes, everyone's), from /proc."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def compare(
    name: str, workdir: Path, services: Services, load: Load, *, with_nats: bool, quick: bool
) -> None:
    """One deployment of two edges; rounds alternate between all clients on the first edge
    and the clients split over both."""
    async with deployment(workdir, services, with_nats=with_nats) as (edges, workers):
        started = time.perf_counter()
        active, _ = await hugmood_accounts(edges[0].port, load.shape())
        setup_s = time.perf_counter() - started
        one = Edges("one edge", edges[:1], Inbox(), [], [0.0], workers)
        two = Edges("two edges", edges, Inbox(), [], [0.0, 0.0], workers)
        counter = [0]
        # A short warm-up on each layout, not counted: first connections, caches, the JIT-less
        # but cold paths of a fresh process.
        for layout in (one, two):
            await one_round(layout, active, replace_round(load, 0.5), counter)
            layout.rounds.clear()
            layout.edge_cpu_s = [0.0] * len(layout.edges)
            layout.sending_s = layout.client_cpu_s = layout.machine_busy_s = 0.0
            layout.worker_cpu_s = 0.0
        for _ in range(load.rounds):
            for layout in (one, two):
                await one_round(layout, active, load, counter)
    report(name, load, quick, setup_s, with_nats, one, two)


def replace_round(load: Load, round_s: float) -> Load:
    return Load(load.pairs, load.connections, 1, round_s, load.grace_s)


def report(
    name: str, load: Load, quick: bool, setup_s: float, with_nats: bool, one: Edges, two: Edges
) -> None:
    one_rate, two_rate = (
        delivered_rate(one.rounds, one.inbox),
        delivered_rate(two.rounds, two.inbox),
    )
    params: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "deployment": (
            "edges: hugmood serve --edge-only; 1 hugmood worker (read models, relay to "
            "JetStream); PostgreSQL + Redis + NATS JetStream"
            if with_nats
            else "edges: hugmood serve (each also runs every consumer); PostgreSQL + Redis"
        ),
        "client": "one process; closed loop over keep-alive HTTP, sockets over websockets",
        "friend_pairs": load.pairs,
        "http_connections": load.connections,
        "rounds": load.rounds,
        "round_s": load.round_s,
        "setup_s": round(setup_s, 1),
        "one_edge_per_s": round(one_rate, 1),
        "cross_edge_share": "about half: sockets and HTTP connections alternate edges",
        **layout_params("one_edge", one),
        **layout_params("two_edges", two),
        **machine_params(),
    }
    emit(f"{BENCH}.{name}", "delivered_hugs_per_s", two_rate, "1/s", BASELINE, one_rate, params)


def layout_params(prefix: str, layout: Edges) -> dict[str, Any]:
    whole = Hugs()
    for hugs in layout.rounds:
        whole.scheduled.update(hugs.scheduled)
        whole.refused |= hugs.refused
        whole.acked |= hugs.acked
        whole.first_error = whole.first_error or hugs.first_error
    seconds = layout.sending_s or 1.0
    found = {
        f"{prefix}_edge_cpu_cores": [round(c / seconds, 2) for c in layout.edge_cpu_s],
        f"{prefix}_client_cpu_cores": round(layout.client_cpu_s / seconds, 2),
        f"{prefix}_worker_cpu_cores": round(layout.worker_cpu_s / seconds, 2),
        f"{prefix}_machine_busy_cores": round(layout.machine_busy_s / seconds, 2),
        # Every HugMood process's CPU (edges and worker) per answered hug.
        f"{prefix}_hugmood_cpu_ms_per_hug": round(
            (sum(layout.edge_cpu_s) + layout.worker_cpu_s) * 1000 / max(len(whole.acked), 1), 3
        ),
        f"{prefix}_hugs_sent": len(whole.scheduled),
        f"{prefix}_send_errors": len(whole.refused),
        f"{prefix}_undelivered": len(whole.expected()) - len(layout.inbox.delivered(whole)),
    }
    if whole.first_error:
        print(f"realtime_edges bench: {layout.name}: {whole.first_error}", file=sys.stderr)
    return found


# --- command line ------------------------------------------------------------------------------


async def problems(services: Services) -> tuple[list[str], str | None]:
    """What is unreachable among the required services, and why NATS is (or None)."""
    missing = []
    try:
        conn = await asyncpg.connect(services.postgres_url, timeout=5)
        await conn.close()
    except (OSError, asyncpg.PostgresError, TimeoutError) as e:
        missing.append(f"PostgreSQL at {services.postgres_url}: {e}")
    client = aioredis.Redis.from_url(services.redis_url, socket_connect_timeout=3)
    try:
        await client.ping()
    except (OSError, aioredis.RedisError) as e:
        missing.append(f"Redis at {services.redis_url}: {e}")
    finally:
        await client.aclose()
    nats_problem = None
    if services.nats_url:
        try:
            nc = await nats.connect(services.nats_url, connect_timeout=3, max_reconnect_attempts=0)
            await nc.close()
        except (OSError, nats.errors.Error, TimeoutError) as e:
            nats_problem = f"NATS at {services.nats_url}: {e or type(e).__name__}"
    return missing, nats_problem


async def main(load: Load, services: Services, quick: bool) -> None:
    missing, nats_problem = await problems(services)
    if missing:
        print(f"realtime_edges bench: skipped, {'; '.join(missing)}", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-edges-") as tmp:
        workdir = Path(tmp)
        await compare("postgres_redis", workdir, services, load, with_nats=False, quick=quick)
        if quick:
            print("realtime_edges bench: --quick leaves out the NATS deployment", file=sys.stderr)
        elif nats_problem:
            print(f"realtime_edges bench: NATS deployment skipped, {nats_problem}", file=sys.stderr)
        else:
            await compare(
                "postgres_redis_nats", workdir, services, load, with_nats=True, quick=quick
            )


def load_for(quick: bool) -> Load:
    if quick:
        return Load(pairs=10, connections=16, rounds=2, round_s=1.5, grace_s=5.0)
    return Load(pairs=50, connections=32, rounds=4, round_s=3.0, grace_s=10.0)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="PostgreSQL + Redis only, short rounds"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "HUGMOOD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222", help="empty: no NATS")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    run(
        main(
            load_for(args.quick),
            Services(args.postgres_url, args.redis_url, args.nats_url),
            args.quick,
        )
    )
