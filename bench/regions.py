"""The edge's routing overhead (issue 18): `recordMood` through an edge to the person's home
region against the same request straight to a region, in the same run.

- `regions.edge_in_process`: a server hosting two regions (`REGIONS=eu-west,us-east`,
  the edge routing by the session token in the same process) against a one-region server.
- `regions.edge_remote`: an EU edge passing a US person's requests on to the US region's own
  server over HTTP (`HUGMOOD_REGION_URLS`; needs PostgreSQL for the shared directory) against
  the same requests sent to the US server directly.
One device checks in, each request waited for; the targets take turns over several rounds.

Run: `.venv/bin/python bench/regions.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from _common import (
    POSTGRES_URL,
    HttpConnection,
    emit_latencies,
    graphql,
    hugmood_server,
    log_in,
    machine_params,
    one_device,
    postgres_reachable,
    run,
    servers,
    throwaway_schema,
)

PASSWORD = "bench-password-1"  # noqa: S105  (a throwaway account on a throwaway server)
RECORD_MOOD = "mutation($input: RecordMoodInput!) { recordMood(input: $input) { id } }"
REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { handle } }"


def body() -> bytes:
    mood = {
        "id": str(uuid.uuid4()),
        "moodType": "calm",
        "intensity": 0.5,
        "privacy": "FRIENDS_ONLY",
        "note": "a calm morning walk",
        "recordedAt": (datetime.now(UTC) - timedelta(minutes=1))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
    }
    return orjson.dumps({"query": RECORD_MOOD, "variables": {"input": mood}})


async def account(port: int, country: str) -> str:
    conn = await HttpConnection.open(port)
    try:
        handle = f"bench_{uuid.uuid4().hex[:12]}"
        await graphql(
            conn,
            REGISTER,
            {
                "input": {
                    "handle": handle,
                    "displayName": "B",
                    "password": PASSWORD,
                    "country": country,
                }
            },
        )
        return await log_in(conn, handle, PASSWORD)
    finally:
        conn.close()


async def take_turns(
    targets: dict[str, tuple[int, str]], rounds: int, per_round: int
) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    for port, token in targets.values():
        await one_device(port, token, 20, body)  # warm up
    for i in range(rounds):
        names = list(targets) if i % 2 == 0 else list(reversed(targets))
        for name in names:
            port, token = targets[name]
            latencies[name] += await one_device(port, token, per_round, body)
    return latencies


async def in_process(workdir: Path, rounds: int, per_round: int, params: dict[str, Any]) -> None:
    edge = hugmood_server(
        workdir / "regions",
        workdir / "regions.log",
        REGIONS="eu-west,us-east",
        REGION="eu-west",
    )
    direct = hugmood_server(workdir / "direct", workdir / "direct.log", REGION="us-east")
    with servers(edge, direct):
        await asyncio.gather(edge.wait_ready(), direct.wait_ready())
        targets = {
            "edge": (edge.port, await account(edge.port, "US")),
            "direct": (direct.port, await account(direct.port, "US")),
        }
        seen = await take_turns(targets, rounds, per_round)
    emit_latencies(
        "regions.edge_in_process",
        seen["edge"],
        "a one-region server, the same request",
        seen["direct"],
        params | {"regions": "eu-west,us-east", "person_in": "us-east"},
    )


async def remote(workdir: Path, rounds: int, per_round: int, params: dict[str, Any]) -> None:
    directory = {"DIRECTORY_URL": POSTGRES_URL}
    async with throwaway_schema("bench_regions") as schema:
        us = hugmood_server(
            workdir / "us",
            workdir / "us.log",
            REGION="us-east",
            DATABASE_URL=POSTGRES_URL,
            POSTGRES_SCHEMA=schema,
            **directory,
        )
        with servers(us):
            await us.wait_ready()
            edge = hugmood_server(
                workdir / "edge",
                workdir / "edge.log",
                REGIONS="eu-west",
                REGION="eu-west",
                REGION_URLS=f"us-east=http://127.0.0.1:{us.port}",
                **directory,
            )
            with servers(edge):
                await edge.wait_ready()
                token = await account(edge.port, "US")
                seen = await take_turns(
                    {"edge": (edge.port, token), "direct": (us.port, token)}, rounds, per_round
                )
    emit_latencies(
        "regions.edge_remote",
        seen["edge"],
        "the US region's server directly, the same person and request",
        seen["direct"],
        params | {"regions": "eu-west edge, us-east server", "store": "PostgreSQL"},
    )


async def main(quick: bool) -> None:
    rounds, per_round = (2, 40) if quick else (5, 200)
    params: dict[str, Any] = machine_params() | {"quick": quick, "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-regions-") as tmp:
        await in_process(Path(tmp), rounds, per_round, params)
        if await postgres_reachable():
            await remote(Path(tmp), rounds, per_round, params)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    run(main(parser.parse_args().quick))
