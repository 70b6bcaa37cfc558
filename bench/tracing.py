"""What tracing costs: recordMood over HTTP (closed loop, SQLite, durable) against three servers
started alike but for their `OTEL_*` variables — tracing off (`OTEL_SDK_DISABLED=true`, the
baseline), on with every trace sampled, and on with 10% sampled — the two traced servers
exporting over OTLP/HTTP to a local sink in this process. The servers are measured in turns,
round after round, so that the machine's load falls on each alike.

Run: `.venv/bin/python bench/tracing.py [--quick]`; one JSON object a line. Target: at 10%
sampling, at most 10% slower than tracing off.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _common import (
    HttpConnection,
    emit,
    emit_latencies,
    hugmood_server,
    machine_params,
    register_and_log_in,
    run,
    servers,
)
from api import PASSWORD, Phase, Target, body_factory, closed_loop, mood_body_template

BENCH = "tracing.record_mood"
BASELINE = "the same server with tracing off (OTEL_SDK_DISABLED=true)"
TARGET_SLOWDOWN = 0.10
USERS = 4


class Sink:
    """An OTLP/HTTP endpoint that accepts every export and counts what arrived."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sink.bytes += len(self.rfile.read(int(self.headers.get("content-length", "0"))))
                sink.requests += 1
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[Sink]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


async def sessions(port: int) -> list[str | None]:
    setup = await HttpConnection.open(port)
    try:
        return [await register_and_log_in(setup, f"bench_user_{i}", PASSWORD) for i in range(USERS)]
    finally:
        setup.close()


async def main(quick: bool, connections: int) -> None:
    seconds = 2.0 if quick else 6.0
    rounds = 2 if quick else 4
    body = body_factory(mood_body_template(datetime.now(UTC) - timedelta(minutes=1)))
    with (
        tempfile.TemporaryDirectory(prefix="hugmood-bench-tracing-") as tmp,
        Sink().running() as sink,
    ):
        work = Path(tmp)
        otlp = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.url, "OTEL_BSP_SCHEDULE_DELAY": "500"}
        variants: dict[str, dict[str, str]] = {
            "off": {"OTEL_SDK_DISABLED": "true"},
            "sampled 100%": {**otlp, "OTEL_TRACES_SAMPLER": "parentbased_always_on"},
            "sampled 10%": {
                **otlp,
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "0.1",
            },
        }
        processes = {}
        for name, env in variants.items():
            process = hugmood_server(work / name.replace(" ", "_"), work / f"{name}.log")
            process.env.update(env)
            processes[name] = process
        with servers(*processes.values()):
            await asyncio.gather(*(p.wait_ready() for p in processes.values()))
            targets = {
                name: Target(name, p, await sessions(p.port), body, connections)
                for name, p in processes.items()
            }
            for target in targets.values():
                await closed_loop(target, 0.5)  # warm up
            phases: dict[str, list[Phase]] = {name: [] for name in targets}
            for _ in range(rounds):
                for name, target in targets.items():
                    phases[name].append(await closed_loop(target, seconds))
    report(phases, seconds, rounds, connections, sink)


def report(
    phases: dict[str, list[Phase]], seconds: float, rounds: int, connections: int, sink: Sink
) -> None:
    def rate(name: str) -> float:
        done = phases[name]
        return sum(p.ok for p in done) / sum(p.elapsed_s for p in done)

    def cpu_ms(name: str) -> float | None:
        """The server's CPU time per mutation: what tracing adds, whatever the disk does."""
        done = phases[name]
        if any(p.server_cpu_s is None for p in done):
            return None
        return 1000 * sum(p.server_cpu_s or 0.0 for p in done) / max(1, sum(p.ok for p in done))

    def latencies(name: str) -> list[float]:
        return [x for p in phases[name] for x in p.latencies_s]

    common: dict[str, Any] = {
        "mode": "closed loop",
        "connections": connections,
        "seconds_per_phase": seconds,
        "rounds": rounds,
        "exported_requests": sink.requests,
        "exported_bytes": sink.bytes,
        "errors": {name: sum(p.errors for p in done) for name, done in phases.items()},
        **machine_params(),
    }
    off = rate("off")
    for name in ("sampled 100%", "sampled 10%"):
        ours = rate(name)
        params = {**common, "tracing": name}
        if name == "sampled 10%":
            params["target"] = f"at most {TARGET_SLOWDOWN:.0%} slower than off"
            params["meets_target"] = ours >= off * (1 - TARGET_SLOWDOWN)
        emit(
            f"{BENCH}.{name.replace(' ', '_')}",
            "mutations_per_s",
            ours,
            "1/s",
            BASELINE,
            off,
            params,
        )
        emit(
            f"{BENCH}.{name.replace(' ', '_')}",
            "server_cpu_ms_per_mutation",
            cpu_ms(name),
            "ms",
            BASELINE,
            cpu_ms("off"),
            params,
            lower_is_better=True,
            digits=3,
        )
        emit_latencies(
            f"{BENCH}.{name.replace(' ', '_')}", latencies(name), BASELINE, latencies("off"), params
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s instead of 4 of 6 s")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    args = parser.parse_args()
    run(main(args.quick, args.connections))
