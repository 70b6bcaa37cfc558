"""recordMood over HTTP against the real server (SQLite, durable) and a bare Starlette baseline:
sustained mutations/s (closed loop) and latency at a fixed offered rate (open loop).

Run: `.venv/bin/python bench/api.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from _common import (
    HOST,
    HttpConnection,
    HttpError,
    ServerProcess,
    emit,
    emit_latencies,
    graphql_headers,
    hugmood_server,
    machine_params,
    register_and_log_in,
    run,
    servers,
)

BENCH = "api.record_mood"
RECORD_MOOD = "mutation($input: RecordMoodInput!) { recordMood(input: $input) { id } }"
ID_PLACEHOLDER = b"00000000-0000-4000-8000-000000000000"
PASSWORD = "bench-password-1"  # noqa: S105  (a throwaway account on a throwaway server)
USERS = 4
TARGET_RATE = 1000.0
TARGET_P99_MS = 50.0
BASELINE = "bare Starlette on uvicorn (uvloop+httptools), sqlite3 INSERT + COMMIT per request"
BASELINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS moods (
    entry_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    mood_type TEXT NOT NULL,
    intensity REAL NOT NULL,
    note TEXT,
    privacy TEXT NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
)
"""


def mood_body_template(recorded_at: datetime) -> bytes:
    """One recordMood request body; each request swaps in a fresh device-chosen id."""
    mood = {
        "id": ID_PLACEHOLDER.decode(),
        "moodType": "calm",
        "intensity": 0.5,
        "privacy": "FRIENDS_ONLY",
        "note": "a calm morning walk",
        "recordedAt": recorded_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return orjson.dumps({"query": RECORD_MOOD, "variables": {"input": mood}})


def body_factory(template: bytes) -> Callable[[], bytes]:
    def body() -> bytes:
        return template.replace(ID_PLACEHOLDER, str(uuid.uuid4()).encode())

    return body


@dataclass
class Phase:
    """What one measured phase saw: successes, failures, and latency of every request."""

    latencies_s: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0
    unfinished: int = 0
    elapsed_s: float = 0.0
    server_cpu_s: float | None = None
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def server_cores(self) -> float | None:
        """How many CPU cores the server kept busy on average (1.0: one core, flat out)."""
        if self.server_cpu_s is None or not self.elapsed_s:
            return None
        return round(self.server_cpu_s / self.elapsed_s, 2)

    def failed(self, why: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = why[:300]


@dataclass
class Target:
    """A server under load, the sessions to use on it, and the errors it answered so far."""

    name: str
    server: ServerProcess
    tokens: list[str | None]
    body: Callable[[], bytes]
    connections: int
    errors: int = 0

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[list[tuple[HttpConnection, bytes]]]:
        """Fresh keep-alive connections for one phase, each with its request head ready.

        Fresh per phase because uvicorn closes connections idle for 5 s, as they would be
        while the other server is measured.
        """
        pairs: list[tuple[HttpConnection, bytes]] = []
        try:
            for i in range(self.connections):
                conn = await HttpConnection.open(self.server.port)
                token = self.tokens[i % len(self.tokens)]
                pairs.append((conn, conn.head("POST", "/graphql", graphql_headers(token))))
            yield pairs
        finally:
            for conn, _ in pairs:
                conn.close()

    @contextlib.contextmanager
    def measuring(self, phase: Phase) -> Iterator[None]:
        """Times the phase and the server's CPU use during it."""
        cpu_before, started = self.server.cpu_seconds(), time.perf_counter()
        yield
        phase.elapsed_s = time.perf_counter() - started
        cpu_after = self.server.cpu_seconds()
        if cpu_before is not None and cpu_after is not None:
            phase.server_cpu_s = cpu_after - cpu_before
        self.errors += phase.errors

    async def call(self, conn: HttpConnection, head: bytes, phase: Phase) -> bool:
        """One request; False if the server answered with an error. A broken connection is
        counted as an error too and raises `HttpError`: it cannot be used again."""
        try:
            response = await conn.send(head, self.body())
        except HttpError as e:
            phase.failed(f"{self.name}: {e}")
            raise
        if response.status != 200 or b'"errors"' in response.body:
            phase.failed(f"{self.name}: HTTP {response.status} {response.body[:200]!r}")
            return False
        phase.ok += 1
        return True


async def closed_loop(target: Target, seconds: float) -> Phase:
    """Every connection sends its next request as soon as the previous one is answered."""
    phase = Phase()

    async def worker(conn: HttpConnection, head: bytes, stop: float) -> None:
        with contextlib.suppress(HttpError):  # counted; a broken connection stays broken
            while (began := time.perf_counter()) < stop:
                if await target.call(conn, head, phase):
                    phase.latencies_s.append(time.perf_counter() - began)

    async with target.connected() as connections:
        with target.measuring(phase):
            stop = time.perf_counter() + seconds
            async with asyncio.timeout(seconds + 30):
                await asyncio.gather(*(worker(c, h, stop) for c, h in connections))
    return phase


async def open_loop(target: Target, rate: float, seconds: float, grace_s: float) -> Phase:
    """Requests leave on a fixed timetable whatever the server does; each one's latency runs
    from its scheduled send time, so time spent queued behind a slow server is counted."""
    phase = Phase()
    idle: asyncio.Queue[tuple[HttpConnection, bytes]] = asyncio.Queue()
    pending: dict[asyncio.Task[None], float] = {}

    async def one(scheduled: float) -> None:
        conn, head = await idle.get()
        with contextlib.suppress(HttpError):  # counted; the broken connection is not reused
            if await target.call(conn, head, phase):
                phase.latencies_s.append(time.perf_counter() - scheduled)
            idle.put_nowait((conn, head))

    async with target.connected() as connections:
        for pair in connections:
            idle.put_nowait(pair)
        with target.measuring(phase):
            await schedule(one, rate, seconds, grace_s, pending, phase)
        await asyncio.gather(*pending, return_exceptions=True)
    return phase


async def schedule(
    send: Callable[[float], Coroutine[Any, Any, None]],
    rate: float,
    seconds: float,
    grace_s: float,
    pending: dict[asyncio.Task[None], float],
    phase: Phase,
) -> None:
    """Start `send(scheduled_time)` on the timetable; give up on answers after `grace_s`."""
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(scheduled))
        pending[task] = scheduled
        task.add_done_callback(pending.pop)
    if pending:
        await asyncio.wait(set(pending), timeout=grace_s)
    late = time.perf_counter()
    for task, scheduled in list(pending.items()):
        # Still unanswered after the grace period: count it at least as late as it is now.
        phase.unfinished += 1
        phase.latencies_s.append(late - scheduled)
        task.cancel()


def explain(phase: Phase, target: Target) -> None:
    if phase.first_error:
        print(f"api bench: {target.name}: first error: {phase.first_error}", file=sys.stderr)


async def main(quick: bool, connections: int, rate: float) -> None:
    seconds = 3.0 if quick else 8.0
    warmup_s = 0.5 if quick else 1.0
    grace_s = 5.0 if quick else 10.0
    recorded_at = datetime.now(UTC) - timedelta(minutes=1)
    body = body_factory(mood_body_template(recorded_at))
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-api-") as tmp:
        workdir = Path(tmp)
        ours = hugmood_server(workdir / "hugmood", workdir / "hugmood.log")
        base = ServerProcess(
            "baseline server",
            [sys.executable, __file__, "--serve-baseline", "{port}", str(workdir / "base.sqlite3")],
            ours.env,
            workdir / "baseline.log",
        )
        with servers(ours, base):
            await asyncio.gather(ours.wait_ready(), base.wait_ready())
            setup = await HttpConnection.open(ours.port)
            try:
                tokens: list[str | None] = [
                    await register_and_log_in(setup, f"bench_user_{i}", PASSWORD)
                    for i in range(USERS)
                ]
            finally:
                setup.close()
            hug = Target("hugmood", ours, tokens, body, connections)
            raw = Target("baseline", base, ["baseline-has-no-sessions"], body, connections)
            for target in (hug, raw):
                await closed_loop(target, warmup_s)
            sustained = [await closed_loop(t, seconds) for t in (hug, raw)]
            timed = [await open_loop(t, rate, seconds, grace_s) for t in (hug, raw)]
            if hug.errors:
                print(f"api bench: server log tail:\n{ours.output_tail()}", file=sys.stderr)
    for phase, target in zip((*sustained, *timed), (hug, raw, hug, raw), strict=True):
        explain(phase, target)
    report(sustained, timed, hug, raw, connections, rate, seconds)


def report(
    sustained: list[Phase],
    timed: list[Phase],
    hug: Target,
    raw: Target,
    connections: int,
    rate: float,
    seconds: float,
) -> None:
    common: dict[str, Any] = {
        "durability": "SQLite WAL synchronous=FULL",
        "server": "1 uvicorn process, uvloop+httptools, 127.0.0.1",
        "seconds": seconds,
        **machine_params(),
    }
    (ours, base), (ours_timed, base_timed) = sustained, timed
    emit(
        f"{BENCH}.sustained",
        "mutations_per_s",
        ours.rate,
        "1/s",
        BASELINE,
        base.rate,
        {
            **common,
            "mode": "closed loop",
            "connections": connections,
            "server_cpu_cores": ours.server_cores,
            "baseline_server_cpu_cores": base.server_cores,
            "target": f">= {TARGET_RATE:g}/s",
            "meets_target": ours.rate >= TARGET_RATE,
        },
    )
    timed_params = {
        **common,
        "mode": "open loop, latency from scheduled send time",
        "offered_per_s": rate,
        "connections": connections,
        "server_cpu_cores": ours_timed.server_cores,
        "baseline_server_cpu_cores": base_timed.server_cores,
        "unfinished": ours_timed.unfinished,
        "baseline_unfinished": base_timed.unfinished,
    }
    emit_latencies(
        f"{BENCH}.at_{rate:g}_per_s",
        ours_timed.latencies_s,
        BASELINE,
        base_timed.latencies_s,
        timed_params,
        target_p99_ms=TARGET_P99_MS,
    )
    emit(
        f"{BENCH}.at_{rate:g}_per_s",
        "achieved_per_s",
        ours_timed.rate,
        "1/s",
        BASELINE,
        base_timed.rate,
        timed_params,
    )
    emit(
        BENCH,
        "server_errors",
        hug.errors,
        "count",
        BASELINE,
        raw.errors,
        {**common, "requests": sum(p.ok + p.errors for p in (ours, ours_timed)), "target": "0"},
        comparable=False,
        digits=0,
    )


# --- the baseline server (runs in its own process) ------------------------------------------


def baseline_app(db_path: Path) -> Any:
    """The least that does the job: parse the JSON, INSERT the row, COMMIT (fsync), answer."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(BASELINE_SCHEMA)
    user_id = str(uuid.uuid4())

    async def record_mood(request: Request) -> Response:
        mood = orjson.loads(await request.body())["variables"]["input"]
        recorded_at = datetime.fromisoformat(mood["recordedAt"])
        # Autocommit: the INSERT is its own transaction, committed (and fsynced) before answering.
        db.execute(
            "INSERT INTO moods VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                mood["id"],
                user_id,
                mood["moodType"],
                float(mood["intensity"]),
                mood["note"],
                mood["privacy"],
                int(recorded_at.timestamp() * 1000),
                int(time.time() * 1000),
            ),
        )
        payload = {"data": {"recordMood": {"id": mood["id"]}}}
        return Response(orjson.dumps(payload), media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(
        routes=[Route("/graphql", record_mood, methods=["POST"]), Route("/healthz", healthz)]
    )


def serve_baseline(port: int, db_path: Path) -> None:
    import uvicorn

    uvicorn.run(
        baseline_app(db_path),
        host=HOST,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s per phase instead of 8 s")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections")
    parser.add_argument("--rate", type=float, default=500.0, help="offered rate of the open loop")
    parser.add_argument(
        "--serve-baseline",
        nargs=2,
        metavar=("PORT", "DB"),
        help=argparse.SUPPRESS,  # internal: how this script starts its baseline server
    )
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(int(args.serve_baseline[0]), Path(args.serve_baseline[1]))
    else:
        run(main(args.quick, args.connections, args.rate))
