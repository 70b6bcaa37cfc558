"""recordMood over HTTP with personal data encrypted (issue 16) against the same server with its
ciphers taken out, in the same run: the real `hugmood serve` (SQLite, durable) twice, the
baseline started by this file with the mapper's cipher, the read-model cells' sealing and the
blob sealing replaced by nothing (a bench-only server; HugMood has no switch to turn
encryption off).

- `privacy.record_http` latency: one device checking in, each request waited for (what a
  person waits for), p50/p95/p99; the two servers take turns, several rounds.
- `privacy.record_http` throughput: 8 connections in a closed loop, taking turns.
Target: at most 15% slower.

Run: `.venv/bin/python bench/privacy_http.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from _common import (
    HttpConnection,
    ServerProcess,
    emit,
    emit_latencies,
    graphql_headers,
    hugmood_server,
    machine_params,
    one_device,
    register_and_log_in,
    run,
    servers,
)

BENCH = "privacy.record_http"
BASELINE = "the same server, its ciphers taken out"
PASSWORD = "bench-password-1"  # noqa: S105  (a throwaway account on a throwaway server)
RECORD_MOOD = "mutation($input: RecordMoodInput!) { recordMood(input: $input) { id } }"
NOTE = "a calm morning walk by the river, then coffee with Sam before work"
CONNECTIONS = 8


def body() -> bytes:
    recorded_at = datetime.now(UTC) - timedelta(minutes=1)
    mood = {
        "id": str(uuid.uuid4()),
        "moodType": "calm",
        "intensity": 0.5,
        "privacy": "FRIENDS_ONLY",
        "note": NOTE,
        "contextFactors": {"location": "home", "socialContext": "friends", "tags": ["walk"]},
        "recordedAt": recorded_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return orjson.dumps({"query": RECORD_MOOD, "variables": {"input": mood}})


async def record(conn: HttpConnection, head: bytes) -> None:
    response = await conn.send(head, body())
    if response.status != 200 or b'"errors"' in response.body:
        raise RuntimeError(f"recordMood failed: {response.status} {response.body[:300]!r}")


async def closed_loop(port: int, tokens: list[str], seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker(token: str) -> None:
        nonlocal done
        conn = await HttpConnection.open(port)
        try:
            head = conn.head("POST", "/graphql", graphql_headers(token))
            while time.perf_counter() < stop:
                await record(conn, head)
                done += 1
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(tokens[i % len(tokens)]) for i in range(CONNECTIONS)))
    return done / (time.perf_counter() - started)


async def accounts(port: int) -> list[str]:
    conn = await HttpConnection.open(port)
    try:
        return [await register_and_log_in(conn, f"bench_user_{i}", PASSWORD) for i in range(4)]
    finally:
        conn.close()


async def main(quick: bool) -> None:
    rounds, per_round, seconds = (2, 60, 2.0) if quick else (5, 200, 5.0)
    params: dict[str, Any] = machine_params() | {"quick": quick, "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-privacy-http-") as tmp:
        workdir = Path(tmp)
        sealed = hugmood_server(workdir / "sealed", workdir / "sealed.log")
        plain = ServerProcess(
            "unsealed server",
            [sys.executable, __file__, "--serve-unsealed", "{port}"],
            hugmood_server(workdir / "plain", workdir / "plain.log").env,
            workdir / "plain.log",
        )
        with servers(sealed, plain):
            await asyncio.gather(sealed.wait_ready(), plain.wait_ready())
            tokens = {"sealed": await accounts(sealed.port), "plain": await accounts(plain.port)}
            ports = {"sealed": sealed.port, "plain": plain.port}
            latencies: dict[str, list[float]] = {"sealed": [], "plain": []}
            rates: dict[str, list[float]] = {"sealed": [], "plain": []}
            for name in ports:  # warm both up
                await one_device(ports[name], tokens[name][0], 20, body)
            for i in range(rounds):
                order = ("sealed", "plain") if i % 2 == 0 else ("plain", "sealed")
                for name in order:
                    latencies[name] += await one_device(
                        ports[name], tokens[name][0], per_round, body
                    )
                for name in order:
                    rates[name].append(await closed_loop(ports[name], tokens[name], seconds))
    emit_latencies(
        BENCH, latencies["sealed"], BASELINE, latencies["plain"], params | {"connections": 1}
    )
    emit(
        BENCH,
        "records_per_s",
        max(rates["sealed"]),
        "1/s",
        BASELINE,
        max(rates["plain"]),
        params
        | {
            "connections": CONNECTIONS,
            "seconds": seconds,
            "best_of": rounds,
            "target": "at most 15% slower",
            "all_sealed": [round(r, 1) for r in rates["sealed"]],
            "all_plain": [round(r, 1) for r in rates["plain"]],
        },
    )


def serve_unsealed(port: int) -> None:
    """`hugmood serve` as it is, but with nothing sealed: the composition root's three
    ciphers (the mapper's, the read-model cells', the blob store's) replaced by none."""
    import hugmood.bootstrap as bootstrap
    from hugmood.entrypoints.cli import main as cli_main

    vars(bootstrap).update(
        PersonalDataCipher=lambda *_: None,
        SealedCells=lambda *_: None,
        SealedBlobStore=lambda inner, _keys: inner,
    )
    sys.argv = ["hugmood", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cli_main()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve-unsealed", type=int, metavar="PORT")
    args = parser.parse_args()
    if args.serve_unsealed is not None:
        serve_unsealed(args.serve_unsealed)
    else:
        run(main(args.quick))
