"""Public profiles at the edge (issue 18, part 6): `user(handle)` as strangers ask it, under a
realistic mix — a few popular people viewed by many (Zipf), with some of those people changing
their bio or checking in publicly meanwhile (each change drops their cached page) — on a server
with the edge cache against the same server without it, taking turns in the same run. Reports
p50/p95/p99 of the profile views with the cache against without, and the cache's hit ratio
(from the server's own `/metrics`).

Both servers are single processes, on SQLite by default or, with `--postgres URL`, on
PostgreSQL (a schema each, dropped afterwards): there every read-model query is a round trip,
as it is for an edge whose region's database is elsewhere. `HUGMOOD_EDGE_CACHE=true` turns the
cache on in the one (an `--edge-only` process always has it). Run: `.venv/bin/python
bench/edge_cache.py [--quick] [--postgres postgresql://…]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
import uuid
from pathlib import Path

from _common import (
    HttpConnection,
    ServerProcess,
    emit,
    emit_latencies,
    graphql,
    hugmood_server,
    in_parallel,
    machine_params,
    register_and_log_in,
    run,
)

PASSWORD = "a good password for the bench"  # noqa: S105 (throwaway bench accounts)
VIEW = """query($h: String!) { user(handle: $h, recent: 10) {
  profile { handle displayName bio } relationship friendCount recentMoods { id moodType } } }"""
BIO = "mutation($b: String!) { updateProfile(input: {bio: $b}) { bio } }"
CHECK_IN = "mutation($i: RecordMoodInput!) { recordMood(input: $i) { id } }"
ZIPF_S = 1.1
WRITE_SHARE = 0.02
"""Of all requests, this share is a viewed person changing their page (half bio, half a
public check-in): the events that invalidate."""


async def populate(port: int, people: int, viewers: int) -> tuple[list[str], list[str], list[str]]:
    """`people` profiles (each with public check-ins) and `viewers` strangers; handles,
    the people's tokens, the viewers' tokens."""
    run_id = uuid.uuid4().hex[:5]
    handles = [f"p{n}x{run_id}" for n in range(people)]
    owner_tokens = [""] * people
    viewer_tokens = [""] * viewers

    def person(n: int):  # type: ignore[no-untyped-def]
        async def job(conn: HttpConnection) -> None:
            token = await register_and_log_in(conn, handles[n], PASSWORD)
            owner_tokens[n] = token
            await graphql(conn, BIO, {"b": f"hello from {n}"}, token)
            for k in range(3):
                entry = {"moodType": "calm", "intensity": 0.1 * (k + 1), "privacy": "PUBLIC"}
                await graphql(conn, CHECK_IN, {"i": entry}, token)

        return job

    def viewer(n: int):  # type: ignore[no-untyped-def]
        async def job(conn: HttpConnection) -> None:
            viewer_tokens[n] = await register_and_log_in(conn, f"v{n}x{run_id}", PASSWORD)

        return job

    await in_parallel(
        [person(n) for n in range(people)] + [viewer(n) for n in range(viewers)], port
    )
    return handles, owner_tokens, viewer_tokens


def zipf_weights(n: int) -> list[float]:
    return [1 / (rank + 1) ** ZIPF_S for rank in range(n)]


async def cache_counts(conn: HttpConnection) -> dict[str, float]:
    text = (await conn.request("GET", "/metrics")).body.decode()
    found = re.findall(
        r'hugmood_edge_cache_lookups_total\{cache="public profile",result="(hit|miss)"\} (\S+)',
        text,
    )
    return {result: float(value) for result, value in found}


def database(postgres: str | None, schema: str) -> dict[str, str]:
    if postgres is None:
        return {}
    return {"database_url": postgres, "postgres_schema": schema}


async def drop_schemas(postgres: str, schemas: list[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(postgres)
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def main(quick: bool, postgres: str | None) -> None:
    people, viewers, requests = (30, 8, 1200) if quick else (200, 40, 10000)
    schemas = [f"bench_edge_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cached = hugmood_server(
            root / "cached",
            root / "cached.log",
            edge_cache="true",
            **database(postgres, schemas[0]),
        )
        plain = hugmood_server(root / "plain", root / "plain.log", **database(postgres, schemas[1]))
        try:
            await measure(cached, plain, (people, viewers, requests), postgres)
        finally:
            if postgres is not None:
                await drop_schemas(postgres, schemas)


async def measure(
    cached: ServerProcess,
    plain: ServerProcess,
    sizes: tuple[int, int, int],
    postgres: str | None,
) -> None:
    """The two servers take the same mix, request by request, taking turns going first (so
    neither always meets a busier machine); then the result lines."""
    people, viewers, requests = sizes
    rng = random.Random(18)
    with cached, plain:
        await cached.wait_ready()
        await plain.wait_ready()
        setups = [await populate(s.port, people, viewers) for s in (cached, plain)]
        conns = [await HttpConnection.open(s.port) for s in (cached, plain)]
        weights = zipf_weights(people)
        timings: list[list[float]] = [[], []]
        writes = 0
        for n in range(requests):
            is_write = rng.random() < WRITE_SHARE
            target = rng.choices(range(people), weights)[0]
            viewer = rng.randrange(viewers)
            for side in (0, 1) if n % 2 == 0 else (1, 0):
                handles, owners, viewer_tokens = setups[side]
                conn = conns[side]
                if is_write:
                    await change_page(conn, owners[target], n)
                    continue
                started = time.perf_counter()
                data = await graphql(conn, VIEW, {"h": handles[target]}, viewer_tokens[viewer])
                timings[side].append(time.perf_counter() - started)
                assert data["user"]["relationship"] == "NONE"
            writes += is_write
        counts = await cache_counts(conns[0])
        for conn in conns:
            conn.close()
    params = {
        "people": people,
        "viewers": viewers,
        "views": len(timings[0]),
        "changes": writes,
        "zipf_s": ZIPF_S,
        "backend": "PostgreSQL" if postgres else "SQLite (embedded)",
        "processes": "one server process each",
        **machine_params(),
    }
    emit_latencies(
        "edge_cache.public_profile",
        timings[0],
        "the same server without the edge cache",
        timings[1],
        params,
    )
    hits, misses = counts.get("hit", 0.0), counts.get("miss", 0.0)
    emit(
        "edge_cache.public_profile",
        "hit_ratio",
        hits / (hits + misses) if hits + misses else None,
        "ratio",
        "no cache (every view reads the read models)",
        0.0,
        {**params, "hits": hits, "misses": misses},
        comparable=False,
        digits=3,
    )


async def change_page(conn: HttpConnection, token: str, n: int) -> None:
    """The viewed person changes their bio or checks in publicly: their page is dropped."""
    if n % 2:
        await graphql(conn, BIO, {"b": f"bio {n}"}, token)
    else:
        entry = {"moodType": "happy", "intensity": 0.7, "privacy": "PUBLIC"}
        await graphql(conn, CHECK_IN, {"i": entry}, token)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 people, 1,200 requests")
    parser.add_argument("--postgres", metavar="URL", help="both servers on this PostgreSQL")
    args = parser.parse_args()
    run(main(args.quick, args.postgres))
