"""Mesh request/reply latency: a signed request through `MeshClient` to a `MeshServices`
endpoint (HMAC signing and verification, replay check, JSON both ways, nats.micro stats,
Prometheus metrics) against a raw nats-py request to a bare responder echoing the same bytes,
in the same run, on the same server, both on loopback.

Run: `.venv/bin/python bench/mesh.py [--quick] [--nats-url URL]`; one JSON object a line.
Requests are sent one at a time (latency), then 16 at a time (throughput); raw and mesh rounds
alternate so that a noisy neighbour hurts both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from _common import emit, machine_params, percentile, run
from hugmood.mesh.client import MeshClient
from hugmood.mesh.identity import Caller, RequestSigner, RequestVerifier, mesh_key
from hugmood.mesh.service import JsonObject, MeshEndpoint, MeshServices, MeshServiceSpec

BENCH = "mesh"
REGION = "eu-west"
SIGNING_TEXT = "a benchmark secret of more than thirty-two characters"
CONCURRENCY = 16
PAYLOAD: JsonObject = {
    "ownerId": str(uuid.uuid4()),
    "from": "2026-11-01T00:00:00+00:00",
    "to": "2026-12-01T00:00:00+00:00",
    "aggregation": "day",
    "timeZone": "Europe/Paris",
}

Ask = Callable[[], Awaitable[Any]]


async def timed(ask: Ask, count: int) -> list[float]:
    """Latencies in ms of `count` requests sent one after another."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await ask()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def rate(ask: Ask, count: int) -> float:
    """Requests per second with CONCURRENCY in flight."""
    per_worker = count // CONCURRENCY

    async def worker() -> None:
        for _ in range(per_worker):
            await ask()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return per_worker * CONCURRENCY / (time.perf_counter() - started)


async def main(quick: bool, url: str) -> None:
    count = 2_000 if quick else 10_000
    rounds = 2 if quick else 3
    prefix = f"bench_{uuid.uuid4().hex[:8]}"
    key = mesh_key(SIGNING_TEXT, REGION)
    server: Client = await nats.connect(url, name="bench mesh server")
    caller: Client = await nats.connect(url, name="bench mesh client")
    raw_subject = f"{prefix}.raw.echo"
    body = orjson.dumps(PAYLOAD)

    async def bare(msg: Msg) -> None:
        await msg.respond(msg.data)

    async def echo(caller_: Caller, payload: JsonObject) -> JsonObject:
        return payload

    spec = MeshServiceSpec("bench", "1.0.0", "echo", (MeshEndpoint("echo", echo, "echo"),))
    services = MeshServices(
        server,
        [spec],
        RequestVerifier(key),
        region=REGION,
        subject_prefix=prefix,
        process="bench",
    )
    client = MeshClient(
        caller, RequestSigner(key, "bench:client"), region=REGION, subject_prefix=prefix
    )

    async def ask_raw() -> Any:
        return orjson.loads((await caller.request(raw_subject, body, timeout=5)).data)

    async def ask_mesh() -> Any:
        return await client.request("bench", "echo", PAYLOAD, user_id="u1", idempotent=True)

    await server.subscribe(raw_subject, queue="q", cb=bare)
    try:
        async with services:
            assert await ask_mesh() == await ask_raw() == PAYLOAD
            await timed(ask_raw, 200)  # warm up both paths
            await timed(ask_mesh, 200)
            raw_ms: list[float] = []
            mesh_ms: list[float] = []
            raw_rates, mesh_rates = [], []
            for _ in range(rounds):
                raw_ms += await timed(ask_raw, count // rounds)
                mesh_ms += await timed(ask_mesh, count // rounds)
                raw_rates.append(await rate(ask_raw, count // rounds))
                mesh_rates.append(await rate(ask_mesh, count // rounds))
    finally:
        await caller.close()
        await server.close()
    params = {
        "requests": count,
        "rounds": rounds,
        "payload_bytes": len(body),
        "endpoint": "echo of a moods.history-shaped request",
        "mesh_path": "sign, verify (HMAC-SHA256, replay cache), JSON, micro stats, metrics",
        "server": "one responder connection, one caller connection, one process",
        **machine_params(),
    }
    baseline = "raw nats-py request to a bare responder (same bytes)"
    for q in (50, 95, 99):
        emit(
            BENCH,
            f"request_reply_p{q}_ms",
            percentile(mesh_ms, q),
            "ms",
            baseline,
            percentile(raw_ms, q),
            params,
            lower_is_better=True,
            digits=3,
        )
    emit(
        BENCH,
        "requests_per_s",
        max(mesh_rates),
        "1/s",
        baseline,
        max(raw_rates),
        {**params, "concurrency": CONCURRENCY},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 requests, two rounds")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    try:
        run(main(args.quick, args.nats_url))
    except (OSError, nats.errors.Error) as e:
        print(f"bench/mesh.py: NATS at {args.nats_url} is not usable: {e}", file=sys.stderr)
        sys.exit(1)
