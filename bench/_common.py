"""Shared helpers for the HugMood benchmarks: result lines, percentiles, a lean HTTP/1.1 client
on persistent connections, servers started as subprocesses on free loopback ports, and a
throwaway PostgreSQL schema for the runs that need one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

import asyncpg
import orjson

HOST = "127.0.0.1"
POSTGRES_URL = os.environ.get("HUGMOOD_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


async def postgres_reachable() -> bool:
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@contextlib.asynccontextmanager
async def throwaway_schema(prefix: str) -> AsyncIterator[str]:
    """A PostgreSQL schema name of the run's own, dropped afterwards whatever happened."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        yield schema
    finally:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


def machine_params() -> dict[str, Any]:
    """What the reader needs to judge a number taken on a shared machine."""
    return {"cpus": os.cpu_count(), "load_1m": round(os.getloadavg()[0], 2)}


def emit(
    bench: str,
    metric: str,
    value: float | None,
    unit: str,
    baseline: str,
    baseline_value: float | None,
    params: Mapping[str, Any],
    *,
    lower_is_better: bool = False,
    comparable: bool = True,
    digits: int = 1,
) -> dict[str, Any]:
    """Print one result line; `ratio` is ours/baseline, or baseline/ours when lower is better,
    and null when the two are not `comparable` (error counts) or one is missing or zero."""
    value, baseline_value = _number(value), _number(baseline_value)
    ratio: float | None = None
    if comparable and value is not None and baseline_value is not None:
        num, den = (baseline_value, value) if lower_is_better else (value, baseline_value)
        ratio = round(num / den, 3) if den else None
    line = {
        "bench": bench,
        "metric": metric,
        "value": None if value is None else round(value, digits),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": None if baseline_value is None else round(baseline_value, digits),
        "ratio": ratio,
        "params": dict(params),
    }
    print(json.dumps(line), flush=True)
    return line


def _number(value: float | None) -> float | None:
    """NaN (say, a percentile of no samples) is not JSON: it is written as null."""
    return None if value is None or math.isnan(value) else value


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def emit_latencies(
    bench: str,
    ours_s: Sequence[float],
    baseline: str,
    base_s: Sequence[float],
    params: Mapping[str, Any],
    *,
    target_p99_ms: float | None = None,
) -> None:
    """p50, p95 and p99 in milliseconds, one line each; the p99 line says if it meets a target."""
    for q in (50, 95, 99):
        value = percentile(ours_s, q) * 1000
        line_params = dict(params)
        if q == 99 and target_p99_ms is not None:
            line_params["target"] = f"p99 < {target_p99_ms:g} ms"
            line_params["meets_target"] = value < target_p99_ms
        emit(
            bench,
            f"p{q}_ms",
            value,
            "ms",
            baseline,
            percentile(base_s, q) * 1000,
            line_params,
            lower_is_better=True,
            digits=3,
        )


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop when it is installed (it is a HugMood dependency), else on asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


def raise_fd_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit, so it can hold many
    sockets; subprocesses started afterwards inherit it. Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


# --- HTTP/1.1 client ------------------------------------------------------------------------


class HttpError(Exception):
    """The connection broke or the server answered something that is not HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class _ResponseReader(asyncio.Protocol):
    """Parses one response at a time (status line, Content-Length or chunked body)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._closed: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = HttpError(f"connection closed: {exc or 'by the server'}")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._closed)

    def expect(self) -> asyncio.Future[Response]:
        if self._closed is not None:
            raise self._closed
        self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            return
        try:
            parsed = _parse(self._buffer)
        except HttpError as e:
            self._waiter.set_exception(e)
            return
        if parsed is not None:
            response, used = parsed
            del self._buffer[:used]
            self._waiter.set_result(response)


def _parse(buffer: bytearray) -> tuple[Response, int] | None:
    """A complete response at the start of `buffer` and its length, or `None` if incomplete."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError(f"not an HTTP/1.1 response: {head[0]!r}")
    status = int(parts[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    start = head_end + 4
    if "content-length" in headers:
        end = start + int(headers["content-length"])
        if len(buffer) < end:
            return None
        return Response(status, bytes(buffer[start:end])), end
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        at = start
        while True:
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                return None
            size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
            chunk_start = line_end + 2
            if len(buffer) < chunk_start + size + 2:
                return None
            if size == 0:
                trailer_end = buffer.find(b"\r\n\r\n", line_end)
                if trailer_end < 0:
                    return None
                return Response(status, bytes(body)), trailer_end + 4
            body += buffer[chunk_start : chunk_start + size]
            at = chunk_start + size + 2
    raise HttpError("response has neither Content-Length nor chunked encoding")


class HttpConnection:
    """One persistent (keep-alive) HTTP/1.1 connection; one request at a time on it."""

    def __init__(self, port: int, reader: _ResponseReader) -> None:
        self.port = port
        self._reader = reader

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        loop = asyncio.get_running_loop()
        _, reader = await loop.create_connection(_ResponseReader, HOST, port)
        return cls(port, reader)

    def head(self, method: str, path: str, headers: Mapping[str, str] | None = None) -> bytes:
        """The request line and headers, minus Content-Length: build once, reuse per request."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        return ("\r\n".join(lines) + "\r\n").encode("latin-1")

    async def send(self, head: bytes, body: bytes = b"") -> Response:
        """Send a request whose `head` came from `head()`, and wait for its response."""
        transport = self._reader.transport
        assert transport is not None
        waiter = self._reader.expect()
        transport.write(b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body))
        return await waiter

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return await self.send(self.head(method, path, headers), body)

    def close(self) -> None:
        if self._reader.transport is not None:
            self._reader.transport.close()


def graphql_headers(token: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def graphql(
    conn: HttpConnection,
    query: str,
    variables: Mapping[str, Any] | None = None,
    token: str | None = None,
) -> Any:
    """Run one GraphQL operation; returns `data`, raises on HTTP or GraphQL errors."""
    body = orjson.dumps({"query": query, "variables": dict(variables or {})})
    response = await conn.request("POST", "/graphql", body, graphql_headers(token))
    payload = response.json() if response.body else {}
    if response.status != 200 or payload.get("errors"):
        raise HttpError(f"GraphQL failed with HTTP {response.status}: {response.body[:500]!r}")
    return payload["data"]


REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { handle } }"
LOG_IN = "mutation($h: String!, $p: String!) { logIn(handle: $h, password: $p) { token } }"


async def log_in(conn: HttpConnection, handle: str, password: str) -> str:
    data = await graphql(conn, LOG_IN, {"h": handle, "p": password})
    token: str = data["logIn"]["token"]
    return token


async def one_device(port: int, token: str, count: int, body: Callable[[], bytes]) -> list[float]:
    """One device sending `count` GraphQL mutations (`body()` each), each waited for before
    the next: their latencies in seconds. Raises on any error."""
    conn = await HttpConnection.open(port)
    try:
        head = conn.head("POST", "/graphql", graphql_headers(token))
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            response = await conn.send(head, body())
            if response.status != 200 or b'"errors"' in response.body:
                raise RuntimeError(f"the request failed: {response.body[:300]!r}")
            latencies.append(time.perf_counter() - started)
        return latencies
    finally:
        conn.close()


SETUP_IN_FLIGHT = 8
"""Keep-alive connections a bench's setup (registering, befriending) spreads its jobs over."""


async def in_parallel(jobs: list[Callable[[HttpConnection], Awaitable[None]]], port: int) -> None:
    """Run the jobs over `SETUP_IN_FLIGHT` keep-alive connections."""
    queue: asyncio.Queue[Callable[[HttpConnection], Awaitable[None]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        conn = await HttpConnection.open(port)
        try:
            while not queue.empty():
                await queue.get_nowait()(conn)
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(SETUP_IN_FLIGHT)))


async def register_and_log_in(conn: HttpConnection, handle: str, password: str) -> str:
    await graphql(
        conn,
        REGISTER,
        {"input": {"handle": handle, "displayName": handle.title(), "password": password}},
    )
    return await log_in(conn, handle, password)


# --- servers in subprocesses ----------------------------------------------------------------


def hugmood_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This environment without any `HUGMOOD_*` setting of the caller's, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUGMOOD_")}
    env.update(
        HUGMOOD_DATA_DIR=str(data_dir),
        HUGMOOD_DATABASE_URL="sqlite",
        HUGMOOD_LOG_LEVEL="WARNING",
    )
    env.update({f"HUGMOOD_{name.upper()}": value for name, value in settings.items()})
    return env


class ServerProcess:
    """A server subprocess on a loopback port, its output kept in a log file."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.args = list(args)
        self.env = dict(env)
        self.log_path = log
        self.port = free_port()
        self._log: TextIO | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [a.replace("{port}", str(self.port)) for a in self.args]
        self._log = self.log_path.open("w")
        self._process = subprocess.Popen(
            args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    async def wait_ready(self, path: str = "/healthz", timeout_s: float = 60.0) -> None:
        """Poll `path` until it answers 200; fail with the server's output if it never does."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.output_tail()}")
            with contextlib.suppress(OSError, HttpError):
                conn = await HttpConnection.open(self.port)
                try:
                    if (await asyncio.wait_for(conn.request("GET", path), 5)).status == 200:
                        return
                finally:
                    conn.close()
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout_s} s:\n{self.output_tail()}")

    def cpu_seconds(self) -> float | None:
        """CPU time the server has used so far (user + system), where /proc tells it."""
        if self._process is None:
            return None
        try:
            stat = Path(f"/proc/{self._process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int | None:
        """Resident memory of the server right now (VmRSS, KiB), where /proc tells it."""
        if self._process is None:
            return None
        try:
            status = Path(f"/proc/{self._process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None

    def fd_limit(self) -> int | None:
        """The server's soft limit on open files (it inherits the caller's), from /proc."""
        if self._process is None:
            return None
        try:
            limits = Path(f"/proc/{self._process.pid}/limits").read_text()
        except OSError:
            return None
        for line in limits.splitlines():
            if line.startswith("Max open files"):
                return int(line.split()[3])
        return None

    def output_tail(self, lines: int = 30) -> str:
        if self._log is not None:
            self._log.flush()
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it lingers; only this one process."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def hugmood_server(data_dir: Path, log: Path, **settings: str) -> ServerProcess:
    """`python -m hugmood serve` on a free port, with settings from `HUGMOOD_*` variables."""
    return ServerProcess(
        "hugmood serve",
        [sys.executable, "-m", "hugmood", "serve", "--host", HOST, "--port", "{port}"],
        hugmood_env(data_dir, **settings),
        log,
    )


@contextlib.contextmanager
def servers(*processes: ServerProcess) -> Iterator[None]:
    """Start all, stop all (even when one fails to start)."""
    try:
        for process in processes:
            process.start()
        yield
    finally:
        for process in processes:
            process.stop()
