"""Event-store append throughput on SQLite (durable) and PostgreSQL against raw-driver baselines.

Run: `.venv/bin/python bench/events.py [--quick] [--postgres-url URL]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from hugmood.eventstore.envelope import NewEvent, to_epoch_ms
from hugmood.eventstore.postgres import PostgresEventStore
from hugmood.eventstore.sqlite import SqliteEventStore
from hugmood.eventstore.store import EventStore

BATCH = 100
TASKS = 64
WARMUP_OPS = 20
SQLITE_MIGRATION = (
    Path(__file__).parent.parent / "src/hugmood/eventstore/migrations/sqlite/0001_events.sql"
)
PG_RAW_TABLE = """
CREATE TABLE raw_events (
    position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id UUID NOT NULL UNIQUE,
    stream_id TEXT NOT NULL,
    stream_version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    user_id TEXT,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    UNIQUE (stream_id, stream_version)
)
"""
PG_RAW_INSERT = (
    "INSERT INTO raw_events (event_id, stream_id, stream_version, event_type, version, "
    "timestamp_ms, user_id, data, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
SQLITE_RAW_INSERT = (
    "INSERT INTO events (event_id, stream_id, stream_version, event_type, version, "
    "timestamp_ms, user_id, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def new_event(i: int) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type="MoodCheckedIn",
        version=1,
        timestamp=datetime.now(UTC),
        user_id=f"user-{i % 1000}",
        data={"mood": i % 5 + 1, "note": "a calm morning walk", "tags": ["outside", "calm"]},
        metadata={"deviceId": "bench-device", "appVersion": "1.0.0", "privacySetting": "friends"},
    )


def raw_row(event: NewEvent, stream_id: str, stream_version: int) -> tuple[Any, ...]:
    """The same values our store writes, encoded the same way (JSON work is part of the job)."""
    return (
        event.event_id,
        stream_id,
        stream_version,
        event.event_type,
        event.version,
        to_epoch_ms(event.timestamp),
        event.user_id,
        orjson.dumps(event.data).decode(),
        orjson.dumps(event.metadata).decode(),
    )


class Timed:
    """Events appended by operations run until a deadline, and each operation's latency."""

    def __init__(self) -> None:
        self.events = 0
        self.latencies_s: list[float] = []
        self.elapsed_s = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies_s, n=100)[q - 1] * 1000


Op = Callable[[str], Awaitable[int]]
"""Appends to the given (fresh) stream; returns how many events it wrote."""


async def run_for(
    seconds: float, tasks: int, op: Op, settle: Callable[[], Awaitable[None]]
) -> Timed:
    """Run `op` in `tasks` concurrent loops until `seconds` pass, after a short warm-up.

    `settle` first flushes what earlier runs left to the disk, so their background writes do
    not slow this run's fsyncs and favour whichever side is measured first.
    """
    await settle()
    run = uuid.uuid4().hex[:8]
    for i in range(WARMUP_OPS):
        await op(f"{run}-warmup-{i}")
    timed = Timed()
    start = time.perf_counter()
    deadline = start + seconds

    async def loop(task: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            written = await op(f"{run}-{task}-{i}")  # awaited first: `+=` would race the tasks
            timed.events += written
            timed.latencies_s.append(time.perf_counter() - began)
            i += 1

    await asyncio.gather(*(loop(t) for t in range(tasks)))
    timed.elapsed_s = time.perf_counter() - start
    return timed


def run_blocking_for(seconds: float, op: Callable[[str], int], settle: Callable[[], None]) -> Timed:
    """`run_for` for a plain blocking loop: no event loop, no thread hop."""
    settle()
    run = uuid.uuid4().hex[:8]
    for i in range(WARMUP_OPS):
        op(f"{run}-warmup-{i}")
    timed = Timed()
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        began = time.perf_counter()
        timed.events += op(f"{run}-{i}")
        timed.latencies_s.append(time.perf_counter() - began)
        i += 1
    timed.elapsed_s = time.perf_counter() - start
    return timed


def emit(
    bench: str,
    ours: Timed,
    baseline: str,
    base: Timed,
    params: dict[str, Any],
    metric: str = "events_per_s",
) -> None:
    line = {
        "bench": bench,
        "metric": metric,
        "value": round(ours.rate, 1),
        "unit": "1/s",
        "baseline": baseline,
        "baseline_value": round(base.rate, 1),
        "ratio": round(ours.rate / base.rate, 3) if base.rate else None,
        "params": params,
    }
    print(json.dumps(line), flush=True)


def emit_latencies(
    bench: str, ours: Timed, baseline: str, base: Timed, params: dict[str, Any]
) -> None:
    for q in (50, 95, 99):
        value, base_value = ours.percentile_ms(q), base.percentile_ms(q)
        line = {
            "bench": bench,
            "metric": f"p{q}_ms",
            "value": round(value, 3),
            "unit": "ms",
            "baseline": baseline,
            "baseline_value": round(base_value, 3),
            "ratio": round(base_value / value, 3) if value else None,
            "params": params,
        }
        print(json.dumps(line), flush=True)


def store_op(store: EventStore, size: int) -> Op:
    async def op(stream: str) -> int:
        await store.append(stream, [new_event(i) for i in range(size)])
        return size

    return op


async def bench_sqlite(workdir: Path, seconds: float) -> None:
    params: dict[str, Any] = {"synchronous": "FULL", "journal_mode": "WAL", "seconds": seconds}
    raw = sqlite3.connect(workdir / "raw.sqlite3", isolation_level=None, check_same_thread=False)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = FULL")
    raw.executescript(SQLITE_MIGRATION.read_text())

    def raw_insert(stream: str, size: int) -> int:
        rows = [raw_row(new_event(n), stream, n + 1) for n in range(size)]
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(SQLITE_RAW_INSERT, [(r[0].bytes, *r[1:]) for r in rows])
        raw.execute("COMMIT")
        return size

    async def raw_in_thread(stream: str) -> int:
        return await asyncio.to_thread(raw_insert, stream, 1)

    def checkpoint() -> None:
        for path in (workdir / "raw.sqlite3", workdir / "events.sqlite3"):
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()

    async def settle() -> None:
        checkpoint()

    store = await SqliteEventStore.open(workdir / "events.sqlite3", synchronous="FULL")
    try:
        blocking = run_blocking_for(seconds, lambda stream: raw_insert(stream, 1), checkpoint)
        threaded = await run_for(seconds, 1, raw_in_thread, settle)
        single = await run_for(seconds, 1, store_op(store, 1), settle)
        bench = "events.append.sqlite.single"
        emit(bench, single, "raw sqlite3 INSERT + COMMIT per row, blocking loop", blocking, params)
        emit(
            bench,
            single,
            "raw sqlite3 INSERT + COMMIT per row, in a worker thread from asyncio",
            threaded,
            params,
            metric="events_per_s_vs_threaded_raw",
        )
        emit_latencies(bench, single, "raw sqlite3 INSERT + COMMIT, blocking", blocking, params)
        base_batch = run_blocking_for(seconds, lambda stream: raw_insert(stream, BATCH), checkpoint)
        batch = await run_for(seconds, 1, store_op(store, BATCH), settle)
        emit(
            "events.append.sqlite.batch",
            batch,
            f"raw sqlite3 executemany + COMMIT per {BATCH} rows, blocking loop",
            base_batch,
            {**params, "events_per_append": BATCH},
        )
        concurrent = await run_for(seconds, TASKS, store_op(store, 1), settle)
        emit(
            "events.append.sqlite.concurrent",
            concurrent,
            "raw sqlite3 INSERT + COMMIT per row, blocking loop (SQLite has one writer)",
            blocking,
            {**params, "tasks": TASKS},
        )
    finally:
        await store.close()
        raw.close()


async def bench_postgres(url: str, seconds: float) -> None:
    schema = f"bench_events_{uuid.uuid4().hex[:10]}"
    params: dict[str, Any] = {"seconds": seconds, "synchronous_commit": "server default"}
    store = await PostgresEventStore.open(url, schema=schema)
    pool = await asyncpg.create_pool(
        url, min_size=10, max_size=10, server_settings={"search_path": schema}
    )
    try:
        async with pool.acquire() as conn:
            await conn.execute(PG_RAW_TABLE)

        async def settle() -> None:
            async with pool.acquire() as conn:
                # Needs superuser or pg_checkpoint; without it runs are merely noisier.
                with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
                    await conn.execute("CHECKPOINT")

        def raw_op(size: int) -> Op:
            async def op(stream: str) -> int:
                rows = [raw_row(new_event(n), stream, n + 1) for n in range(size)]
                async with pool.acquire() as conn:
                    if size == 1:
                        await conn.execute(PG_RAW_INSERT, *rows[0])
                    else:
                        await conn.executemany(PG_RAW_INSERT, rows)
                return size

            return op

        base_single = await run_for(seconds, 1, raw_op(1), settle)
        single = await run_for(seconds, 1, store_op(store, 1), settle)
        emit(
            "events.append.postgres.single",
            single,
            "raw asyncpg INSERT per row, autocommit",
            base_single,
            params,
        )
        emit_latencies(
            "events.append.postgres.single",
            single,
            "raw asyncpg INSERT per row, autocommit",
            base_single,
            params,
        )
        base_batch = await run_for(seconds, 1, raw_op(BATCH), settle)
        batch = await run_for(seconds, 1, store_op(store, BATCH), settle)
        emit(
            "events.append.postgres.batch",
            batch,
            f"raw asyncpg executemany per {BATCH} rows",
            base_batch,
            {**params, "events_per_append": BATCH},
        )
        base_concurrent = await run_for(seconds, TASKS, raw_op(1), settle)
        concurrent = await run_for(seconds, TASKS, store_op(store, 1), settle)
        emit(
            "events.append.postgres.concurrent",
            concurrent,
            "raw asyncpg INSERT per row from the same tasks over a 10-connection pool",
            base_concurrent,
            {**params, "tasks": TASKS, "raw_pool": 10},
        )
    finally:
        await pool.close()
        await store.close()
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


async def postgres_problem(url: str) -> str | None:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError) as e:
        return str(e) or type(e).__name__
    await conn.close()
    return None


async def main(quick: bool, postgres_url: str) -> None:
    seconds = 1.0 if quick else 5.0
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-") as workdir:
        await bench_sqlite(Path(workdir), seconds)
    problem = await postgres_problem(postgres_url)
    if problem is not None:
        print(
            f"events bench: PostgreSQL skipped, not reachable at {postgres_url}: {problem}",
            file=sys.stderr,
        )
        return
    await bench_postgres(postgres_url, seconds)


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about 1 s per measurement")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "HUGMOOD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    run(main(args.quick, args.postgres_url))
