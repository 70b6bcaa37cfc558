"""Live hugs over graphql-transport-ws against the real server and two raw `websockets`
relays, one that keeps nothing and one that commits each hug to SQLite (`synchronous=FULL`)
before forwarding it: concurrent authenticated sockets, memory per idle socket, delivery
latency at a fixed offered rate (open loop) and the most delivered hugs/s (closed loop).

Run: `.venv/bin/python bench/realtime.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.protocol import State
from websockets.typing import Subprotocol

from _common import (
    HOST,
    HttpConnection,
    HttpError,
    ServerProcess,
    emit,
    emit_latencies,
    free_port,
    graphql,
    graphql_headers,
    hugmood_env,
    hugmood_server,
    in_parallel,
    machine_params,
    percentile,
    raise_fd_limit,
    register_and_log_in,
    run,
    servers,
)

BENCH = "realtime"
PROTOCOL = Subprotocol("graphql-transport-ws")
HUG_RECEIVED = "subscription { hugReceived { id sentAt } }"
SEND_HUG = "mutation($input: SendHugInput!) { sendHug(input: $input) { id sentAt } }"
REQUEST = "mutation($h: String!) { requestFriendship(handle: $h) { status } }"
ACCEPT = "mutation($h: String!) { acceptFriendship(handle: $h) { status } }"
PASSWORD = "bench-password-1"  # noqa: S105  (throwaway accounts on a throwaway server)
BASELINE = "raw websockets relay + raw HTTP: sockets by user, no auth, no persistence"
PERSISTING_BASELINE = (
    "raw websockets relay + raw HTTP + one sqlite3 INSERT committed per hug before it is "
    "forwarded (WAL, synchronous=FULL, HugMood's stored bytes per hug); no auth"
)
RELAY_SCRIPT = Path(__file__).with_name("_ws_relay.py")
TARGET_CONNECTIONS = 10_000
TARGET_KB = 30.0
TARGET_P99_MS = 100.0
TARGET_SHARE = 0.5
STARTED = time.perf_counter()
CONNECT_IN_FLIGHT = 100
OPEN_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Shape:
    """How much load one run offers; the same for both servers."""

    sockets: int
    pairs: int
    """Friend pairs that send each other hugs; each of their users has one socket."""
    crowd_users: int
    """Users holding the remaining (idle) sockets, several devices each."""
    seconds: float
    warmup_s: float
    idle_s: float
    grace_s: float
    rate: float
    rounds: int
    """Sustained (closed-loop) rounds per server; HugMood and the persisting relay alternate."""
    round_s: float
    connections: int
    """Keep-alive HTTP connections the senders share."""

    @property
    def active(self) -> int:
        return 2 * self.pairs

    @property
    def crowd(self) -> int:
        return self.sockets - self.active


@dataclass(frozen=True, slots=True)
class Account:
    handle: str
    token: str


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep this (client) process's garbage collector out of a timed phase: a full pass over
    thousands of sockets would pause the client and be counted as the server's latency."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass
class Hugs:
    """Hugs one phase sent, when each was due, and what became of it."""

    scheduled: dict[str, float] = field(default_factory=dict)
    """Every hug sent: its id and when it was due to leave."""
    acked: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    """Answered with an error, or lost with a broken connection."""
    unsent: list[float] = field(default_factory=list)
    """Due times of hugs that found no free connection before the phase gave up."""
    first_error: str | None = None
    started: float = 0.0
    sending_s: float = 0.0
    ended: float = 0.0
    """When the phase stopped waiting for arrivals."""
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0

    def failed(self, hug_id: str, why: str) -> None:
        self.refused.add(hug_id)
        if self.first_error is None:
            self.first_error = why[:300]

    def expected(self) -> list[str]:
        """Hugs that should arrive: sent and not refused (answered or not)."""
        return [h for h in self.scheduled if h not in self.refused]


@dataclass
class Inbox:
    """What the recipients' sockets received: first arrival time per hug id."""

    arrivals: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    unexpected: int = 0
    """Messages other than `next` and `ping` (an `error` or `complete` would end a feed)."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, hug_id: str, arrived: float) -> None:
        if hug_id in self.arrivals:
            self.duplicates += 1
        else:
            self.arrivals[hug_id] = arrived
            self.arrived.set()

    def delivered(self, hugs: Hugs) -> list[str]:
        return [h for h in hugs.expected() if h in self.arrivals]

    def undelivered(self, hugs: Hugs) -> int:
        return len(hugs.expected()) - len(self.delivered(hugs))

    async def drained(self, hugs: Hugs, grace_s: float) -> None:
        """Wait until every expected hug has arrived, or the grace period is over."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                while self.undelivered(hugs):
                    self.arrived.clear()
                    await self.arrived.wait()
        hugs.ended = time.perf_counter()


@dataclass
class Target:
    """A server under test, reached the same way whichever it is."""

    name: str
    server: ServerProcess
    ws_url: str
    active: list[Account]
    crowd: list[Account]
    inbox: Inbox = field(default_factory=Inbox)
    sockets: list[ClientConnection] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    connect_failures: int = 0
    first_connect_error: str | None = None


# --- the client: sockets --------------------------------------------------------------------


async def open_socket(url: str, account: Account, device: str) -> ClientConnection:
    """Connect, authenticate in `connection_init`, subscribe to `hugReceived`.

    Like a browser, the client offers permessage-deflate (the `websockets` default); the
    server decides whether to use it.
    """
    ws = await connect(
        url, subprotocols=[PROTOCOL], ping_interval=None, max_size=None, open_timeout=None
    )
    try:
        init = {"authorization": f"Bearer {account.token}", "deviceId": device}
        await ws.send(orjson.dumps({"type": "connection_init", "payload": init}).decode())
        ack = orjson.loads(await ws.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": HUG_RECEIVED}}
        await ws.send(orjson.dumps(subscribe).decode())
    except BaseException:
        ws.transport.abort()
        raise
    return ws


async def read_hugs(ws: ClientConnection, inbox: Inbox) -> None:
    """Note when each hug arrives (the moment `recv` hands over its `next` message)."""
    try:
        async for raw in ws:
            arrived = time.perf_counter()
            message = orjson.loads(raw)
            if message.get("type") == "next":
                inbox.note(message["payload"]["data"]["hugReceived"]["id"], arrived)
            elif message.get("type") == "ping":
                await ws.send('{"type":"pong"}')
            else:
                inbox.unexpected += 1
    except ConnectionClosed:
        pass


async def connect_all(target: Target, plan: list[tuple[Account, str]], *, read: bool) -> float:
    """Open the planned sockets, `CONNECT_IN_FLIGHT` at a time; the seconds it took."""
    gate = asyncio.Semaphore(CONNECT_IN_FLIGHT)

    async def one(account: Account, device: str) -> None:
        async with gate:
            try:
                async with asyncio.timeout(OPEN_TIMEOUT_S):
                    ws = await open_socket(target.ws_url, account, device)
            except (OSError, TimeoutError, WebSocketException, RuntimeError) as e:
                target.connect_failures += 1
                if target.first_connect_error is None:
                    target.first_connect_error = f"{type(e).__name__}: {e}"[:300]
                return
            target.sockets.append(ws)
            if read:
                target.readers.append(asyncio.create_task(read_hugs(ws, target.inbox)))

    started = time.perf_counter()
    await asyncio.gather(*(one(account, device) for account, device in plan))
    return time.perf_counter() - started


def crowd_plan(crowd: list[Account], count: int) -> list[tuple[Account, str]]:
    """`count` idle sockets spread evenly over the crowd's users, one device each."""
    return [(crowd[i % len(crowd)], f"idle-{i}") for i in range(count)]


def open_sockets(target: Target) -> int:
    return sum(1 for ws in target.sockets if ws.state is State.OPEN)


def abort_all(target: Target) -> None:
    """Drop every socket at once (and let the collector have them back)."""
    for task in target.readers:
        task.cancel()
    for ws in target.sockets:
        ws.transport.abort()
    target.readers.clear()
    target.sockets.clear()


# --- the client: sending hugs over keep-alive HTTP ------------------------------------------


class Sender:
    """Sends hugs between the active friend pairs over a pool of keep-alive connections."""

    def __init__(self, target: Target, connections: int) -> None:
        self._target = target
        self._connections = connections
        self._heads: dict[str, bytes] = {}
        self._next = 0

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[list[HttpConnection]]:
        """Fresh keep-alive connections for one phase: uvicorn closes connections idle for
        5 s, as these would be between phases."""
        pool: list[HttpConnection] = []
        try:
            for _ in range(self._connections):
                pool.append(await HttpConnection.open(self._target.server.port))
            if not self._heads:
                # A request head depends on the port and the sender only: build each once.
                self._heads = {
                    a.handle: pool[0].head("POST", "/graphql", graphql_headers(a.token))
                    for a in self._target.active
                }
            yield pool
        finally:
            for conn in pool:
                conn.close()

    def next_pair(self) -> tuple[str, str]:
        """Sender and recipient of the next hug: every pair in turn, each way alternately."""
        active, i = self._target.active, self._next
        self._next += 1
        pairs = len(active) // 2
        a, b = active[2 * (i % pairs)], active[2 * (i % pairs) + 1]
        return (a.handle, b.handle) if (i // pairs) % 2 == 0 else (b.handle, a.handle)

    async def send(self, conn: HttpConnection, hugs: Hugs, scheduled: float) -> None:
        """One sendHug; a broken connection raises `HttpError` (counted) and is not reused."""
        sender, recipient = self.next_pair()
        hug_id = str(uuid.uuid4())
        hugs.scheduled[hug_id] = scheduled
        hug = {"id": hug_id, "to": recipient, "hugType": "WARM"}
        body = orjson.dumps({"query": SEND_HUG, "variables": {"input": hug}})
        try:
            response = await conn.send(self._heads[sender], body)
        except HttpError as e:
            hugs.failed(hug_id, f"{self._target.name}: {e}")
            raise
        if response.status != 200 or b'"errors"' in response.body:
            why = f"{self._target.name}: HTTP {response.status} {response.body[:200]!r}"
            hugs.failed(hug_id, why)
        else:
            hugs.acked.add(hug_id)


@contextlib.contextmanager
def measuring(server: ServerProcess, hugs: Hugs) -> Iterator[None]:
    cpu_before, client_before = server.cpu_seconds(), time.process_time()
    hugs.started = time.perf_counter()
    yield
    hugs.sending_s = time.perf_counter() - hugs.started
    hugs.client_cpu_s = time.process_time() - client_before
    cpu_after = server.cpu_seconds()
    if cpu_before is not None and cpu_after is not None:
        hugs.server_cpu_s = cpu_after - cpu_before


async def open_loop(target: Target, sender: Sender, shape: Shape) -> Hugs:
    """Hugs leave on a fixed timetable whatever the server does; a hug's latency runs from its
    scheduled send time to its arrival, so time queued behind a slow server is counted."""
    hugs = Hugs()
    idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
    pending: set[asyncio.Task[None]] = set()

    async def one(scheduled: float) -> None:
        try:
            conn = await idle.get()
        except asyncio.CancelledError:
            hugs.unsent.append(scheduled)
            raise
        with contextlib.suppress(HttpError):  # counted; the broken connection is not reused
            await sender.send(conn, hugs, scheduled)
            idle.put_nowait(conn)

    async with sender.connected() as pool:
        for conn in pool:
            idle.put_nowait(conn)
        with measuring(target.server, hugs):
            start = time.perf_counter()
            for i in range(int(shape.rate * shape.seconds)):
                scheduled = start + i / shape.rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(one(scheduled))
                pending.add(task)
                task.add_done_callback(pending.discard)
            if pending:
                await asyncio.wait(set(pending), timeout=shape.grace_s)
        for task in pending:
            task.cancel()
        await target.inbox.drained(hugs, shape.grace_s)
    return hugs


async def closed_loop(target: Target, sender: Sender, seconds: float, grace_s: float) -> Hugs:
    """Every connection sends its next hug as soon as the previous one is answered."""
    hugs = Hugs()

    async def worker(conn: HttpConnection, stop: float) -> None:
        with contextlib.suppress(HttpError):  # counted; a broken connection stays broken
            while (began := time.perf_counter()) < stop:
                await sender.send(conn, hugs, began)

    async with sender.connected() as pool:
        with measuring(target.server, hugs):
            stop = time.perf_counter() + seconds
            async with asyncio.timeout(seconds + grace_s):
                await asyncio.gather(*(worker(c, stop) for c in pool))
        await target.inbox.drained(hugs, grace_s)
    return hugs


# --- one server under test ------------------------------------------------------------------


@dataclass
class Findings:
    """Everything measured against one server."""

    established: int = 0
    connect_s: float = 0.0
    idle_sockets: int = 0
    rss_before_kib: int | None = None
    rss_after_kib: int | None = None
    idle_cpu_cores: float | None = None
    timed: Hugs = field(default_factory=Hugs)
    rounds: list[Hugs] = field(default_factory=list)
    """The sustained (closed-loop) rounds."""
    still_open: int = 0
    fd_limit: int | None = None

    @property
    def sustained(self) -> Hugs:
        """All sustained rounds as one phase (for counts and CPU; rates come per round)."""
        whole = Hugs()
        for hugs in self.rounds:
            whole.scheduled.update(hugs.scheduled)
            whole.acked |= hugs.acked
            whole.refused |= hugs.refused
            whole.first_error = whole.first_error or hugs.first_error
            whole.sending_s += hugs.sending_s
            whole.client_cpu_s += hugs.client_cpu_s
            if hugs.server_cpu_s is not None:
                whole.server_cpu_s = (whole.server_cpu_s or 0.0) + hugs.server_cpu_s
        return whole

    @property
    def kb_per_socket(self) -> float | None:
        """Resident memory each idle socket added (KB of 1,000 bytes)."""
        if self.rss_before_kib is None or self.rss_after_kib is None or not self.idle_sockets:
            return None
        return (self.rss_after_kib - self.rss_before_kib) * 1.024 / self.idle_sockets


async def settled(server: ServerProcess, deadline_s: float = 15.0) -> int | None:
    """The server's RSS once it holds still for half a second (new sockets are set up)."""
    last = server.rss_kib()
    deadline = time.perf_counter() + deadline_s
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.5)
        now = server.rss_kib()
        if now is None or last is None or abs(now - last) <= 256:
            return now
        last = now
    return last


async def idle_cpu(server: ServerProcess, seconds: float) -> float | None:
    """Cores the server keeps busy while every socket is idle (keepalives, session checks)."""
    before = server.cpu_seconds()
    await asyncio.sleep(seconds)
    after = server.cpu_seconds()
    return None if before is None or after is None else (after - before) / seconds


@contextlib.asynccontextmanager
async def measured(
    target: Target, shape: Shape, *, idle: bool = True
) -> AsyncIterator[tuple[Findings, Sender]]:
    """Every phase but the sustained one against one server, whose sockets stay open for it
    until the block ends. Without `idle`, no idle crowd: only the active users' sockets, and
    no memory or idle CPU figures. (The persisting relay runs so while HugMood holds its crowd:
    the client could not hold both crowds within its open-file limit, and idle sockets could
    only slow the relay down, not speed it up.)"""
    found = Findings(fd_limit=target.server.fd_limit())
    await connect_all(target, [(a, "phone") for a in target.active], read=True)
    try:
        sender = Sender(target, shape.connections)
        await closed_loop(target, sender, shape.warmup_s, shape.grace_s)
        before = len(target.sockets)
        if idle:
            found.rss_before_kib = await settled(target.server)
            plan = crowd_plan(target.crowd, shape.crowd)
            found.connect_s = await connect_all(target, plan, read=False)
            found.rss_after_kib = await settled(target.server)
        found.established = len(target.sockets)
        found.idle_sockets = found.established - before
        note(f"{target.name}: {found.established} sockets")
        if idle:
            found.idle_cpu_cores = await idle_cpu(target.server, shape.idle_s)
        if idle:
            # Again, now that the server holds every socket: its first full garbage collection
            # since they connected, which takes long, falls here rather than in a timed phase.
            await closed_loop(target, sender, shape.warmup_s, shape.grace_s)
        with collector_paused():
            found.timed = await open_loop(target, sender, shape)
        yield found, sender
        found.still_open = open_sockets(target)
    finally:
        abort_all(target)


def note(what: str) -> None:
    """Progress on stderr, so a slow phase shows where a run spends its time."""
    print(f"realtime bench: {time.perf_counter() - STARTED:6.1f} s {what}", file=sys.stderr)


async def sustained(runs: list[tuple[Target, Sender, Findings]], shape: Shape) -> None:
    """Closed-loop rounds, the servers taking turns: a baseline bound by fsync latency moves
    with the disk's load from other work, so both sides sample the same moments."""
    with collector_paused():
        for _ in range(shape.rounds):
            for target, sender, found in runs:
                hugs = await closed_loop(target, sender, shape.round_s, shape.grace_s)
                found.rounds.append(hugs)


# --- setup ----------------------------------------------------------------------------------


async def hugmood_accounts(port: int, shape: Shape) -> tuple[list[Account], list[Account]]:
    """Register the active users (befriended in pairs) and the crowd's users, and log in each
    once: a session serves all of a user's sockets, so Argon2 runs twice per user, not per
    socket."""
    handles = [f"hugger_{i}" for i in range(shape.active)]
    handles += [f"crowd_{i}" for i in range(shape.crowd_users)]
    tokens: dict[str, str] = {}

    def register(handle: str) -> Callable[[HttpConnection], Awaitable[None]]:
        async def job(conn: HttpConnection) -> None:
            tokens[handle] = await register_and_log_in(conn, handle, PASSWORD)

        return job

    await in_parallel([register(h) for h in handles], port)

    def befriend(a: str, b: str) -> Callable[[HttpConnection], Awaitable[None]]:
        async def job(conn: HttpConnection) -> None:
            await graphql(conn, REQUEST, {"h": b}, tokens[a])
            await graphql(conn, ACCEPT, {"h": a}, tokens[b])

        return job

    pairs = [(handles[2 * i], handles[2 * i + 1]) for i in range(shape.pairs)]
    await in_parallel([befriend(a, b) for a, b in pairs], port)
    accounts = [Account(h, tokens[h]) for h in handles]
    return accounts[: shape.active], accounts[shape.active :]


def relay_accounts(shape: Shape) -> tuple[list[Account], list[Account]]:
    """The same users for the relay, whose "token" is just the handle (it has no auth)."""
    active = [Account(f"hugger_{i}", f"hugger_{i}") for i in range(shape.active)]
    crowd = [Account(f"crowd_{i}", f"crowd_{i}") for i in range(shape.crowd_users)]
    return active, crowd


# --- the run --------------------------------------------------------------------------------


async def main(shape: Shape, quick: bool) -> None:
    fd_limit = raise_fd_limit()  # the servers started below inherit it
    if fd_limit < shape.sockets + 1000:
        print(f"realtime bench: only {fd_limit} open files allowed", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-realtime-") as tmp:
        workdir = Path(tmp)
        raw = relay_target("relay", workdir, shape, [])
        with servers(raw.server):
            await raw.server.wait_ready()
            note("the plain relay")
            async with measured(raw, shape) as (raw_found, sender):
                await sustained([(raw, sender, raw_found)], shape)
        ours = hugmood_server(
            workdir / "hugmood", workdir / "hugmood.log", hugs_per_minute="1000000"
        )
        with servers(ours):
            await ours.wait_ready()
            note("hugmood: registering users")
            started = time.perf_counter()
            active, crowd = await hugmood_accounts(ours.port, shape)
            setup_s = time.perf_counter() - started
            hug = Target("hugmood", ours, f"ws://{HOST}:{ours.port}/graphql", active, crowd)
            note("hugmood")
            async with measured(hug, shape) as (hug_found, hug_sender):
                note("the persisting relay, hugmood still up")
                stored = stored_bytes_per_hug(workdir / "hugmood" / "events.sqlite3")
                file = str(workdir / "relay-hugs.sqlite3")
                flags = ["--persist", file, "--payload-bytes", str(stored)]
                kept = relay_target("persisting relay", workdir, shape, flags)
                with servers(kept.server):
                    await kept.server.wait_ready()
                    async with measured(kept, shape, idle=False) as (kept_found, kept_sender):
                        note("sustained rounds, hugmood and the persisting relay in turn")
                        await sustained(
                            [(hug, hug_sender, hug_found), (kept, kept_sender, kept_found)],
                            shape,
                        )
            if hug_found.timed.refused or hug_found.sustained.refused or hug.connect_failures:
                print(f"realtime bench: server log tail:\n{ours.output_tail()}", file=sys.stderr)
    for target, found in ((hug, hug_found), (raw, raw_found), (kept, kept_found)):
        explain(target, found)
    report(
        shape,
        quick,
        setup_s,
        stored,
        (hug, hug_found),
        (raw, raw_found),
        (kept, kept_found),
    )


def relay_target(name: str, workdir: Path, shape: Shape, flags: list[str]) -> Target:
    """A baseline relay (`_ws_relay.py` with `flags`), not started yet, and its users."""
    ws_port = free_port()
    relay = ServerProcess(
        name,
        [sys.executable, str(RELAY_SCRIPT), "{port}", str(ws_port), *flags],
        hugmood_env(workdir / "unused"),
        workdir / f"{name.replace(' ', '-')}.log",
    )
    active, crowd = relay_accounts(shape)
    return Target(name, relay, f"ws://{HOST}:{ws_port}/graphql", active, crowd)


def stored_bytes_per_hug(events_file: Path) -> int:
    """What HugMood stored per hug beyond its ids: the mean size of a `HugSent` event's data
    and metadata columns (JSON, encrypted where the mapper encrypts) in its event store."""
    conn = sqlite3.connect(f"file:{events_file}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT avg(length(data) + length(metadata)) FROM events WHERE event_type = 'HugSent'"
        ).fetchone()
    finally:
        conn.close()
    return round(row[0] or 0)


def explain(target: Target, found: Findings) -> None:
    for why in (target.first_connect_error, found.timed.first_error, found.sustained.first_error):
        if why:
            print(f"realtime bench: {target.name}: {why}", file=sys.stderr)


def latencies(hugs: Hugs, inbox: Inbox) -> list[float]:
    """Arrival minus due time per expected hug. One that never arrived, or never left for
    want of a free connection, counts as arriving when the phase gave up waiting (so losses
    cannot flatter the tail)."""
    sent = [inbox.arrivals.get(h, hugs.ended) - hugs.scheduled[h] for h in hugs.expected()]
    return sent + [hugs.ended - due for due in hugs.unsent]


def delivered_rate(rounds: list[Hugs], inbox: Inbox) -> float:
    """Delivered hugs per second: all rounds' deliveries over the sum of their durations, each
    from its first send to its last arrival."""
    delivered, seconds = 0, 0.0
    for hugs in rounds:
        arrived = [inbox.arrivals[h] for h in inbox.delivered(hugs)]
        if arrived:
            delivered += len(arrived)
            seconds += max(arrived) - hugs.started
    return delivered / seconds if seconds else 0.0


def report(
    shape: Shape,
    quick: bool,
    setup_s: float,
    stored: int,
    ours: tuple[Target, Findings],
    base: tuple[Target, Findings],
    persisting: tuple[Target, Findings],
) -> None:
    (hug, h), (raw, r), (kept, k) = ours, base, persisting
    common: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "server": "1 process each, 127.0.0.1; hugmood: SQLite WAL synchronous=FULL",
        "client": "websockets (asyncio) in one process, offering permessage-deflate",
        "sockets": shape.sockets,
        "friend_pairs": shape.pairs,
        "idle_sockets_per_user": round(shape.crowd / shape.crowd_users, 1),
        **machine_params(),
    }
    emit(
        f"{BENCH}.connections",
        "concurrent_sockets",
        h.established,
        "count",
        BASELINE,
        r.established,
        {
            **common,
            "connect_s": round(h.connect_s, 2),
            "baseline_connect_s": round(r.connect_s, 2),
            "failed": hug.connect_failures,
            "baseline_failed": raw.connect_failures,
            "open_at_end": h.still_open,
            "baseline_open_at_end": r.still_open,
            "server_fd_limit": h.fd_limit,
            "setup_s": round(setup_s, 1),
            "target": f">= {TARGET_CONNECTIONS} in one process",
            "meets_target": min(h.established, h.still_open) >= TARGET_CONNECTIONS,
        },
        digits=0,
    )
    kb = h.kb_per_socket
    emit(
        f"{BENCH}.idle_memory",
        "kb_per_socket",
        kb,
        "KB",
        BASELINE,
        r.kb_per_socket,
        {
            **common,
            "measured": "server VmRSS after the idle sockets connected minus before / sockets",
            "idle_sockets": h.idle_sockets,
            "rss_mb": [_mb(h.rss_before_kib), _mb(h.rss_after_kib)],
            "baseline_rss_mb": [_mb(r.rss_before_kib), _mb(r.rss_after_kib)],
            "target": f"<= {TARGET_KB:g} KB",
            "meets_target": kb is not None and kb <= TARGET_KB,
        },
        lower_is_better=True,
    )
    emit(
        f"{BENCH}.idle_cpu",
        "server_cpu_cores",
        h.idle_cpu_cores,
        "cores",
        BASELINE,
        r.idle_cpu_cores,
        {
            **common,
            "seconds": shape.idle_s,
            "note": "hugmood's sweeper checks every socket's session and refreshes its "
            "presence in one batch every 10 s by default (and pings every 15 s): a shorter "
            "window undercounts",
        },
        lower_is_better=True,
        digits=3,
    )
    timed_params = {
        **common,
        "load": "open loop; latency = arrival at the recipient's socket - scheduled send time",
        "offered_per_s": shape.rate,
        "seconds": shape.seconds,
        "http_connections": shape.connections,
        **_cpu(h.timed, r.timed),
        "undelivered": hug.inbox.undelivered(h.timed),
        "baseline_undelivered": raw.inbox.undelivered(r.timed),
        "unsent": len(h.timed.unsent),
        "baseline_unsent": len(r.timed.unsent),
        **{
            f"persisting_baseline_p{q}_ms": _ms(percentile(latencies(k.timed, kept.inbox), q))
            for q in (50, 99)
        },
    }
    emit_latencies(
        f"{BENCH}.delivery.at_{shape.rate:g}_per_s",
        latencies(h.timed, hug.inbox),
        BASELINE,
        latencies(r.timed, raw.inbox),
        timed_params,
        target_p99_ms=TARGET_P99_MS,
    )
    ours_rate = delivered_rate(h.rounds, hug.inbox)
    sustained = {
        **common,
        "load": "closed loop; delivered hugs / (last arrival - first send)",
        "rounds": shape.rounds,
        "round_s": shape.round_s,
        "http_connections": shape.connections,
        "acked_per_s": _per_s(len(h.sustained.acked), h.sustained.sending_s),
        "server_cpu_cores": _cores(h.sustained.server_cpu_s, h.sustained.sending_s),
        "client_cpu_cores": _cores(h.sustained.client_cpu_s, h.sustained.sending_s),
        "server_cpu_ms_per_hug": _cpu_ms_per_hug(h.sustained),
    }
    kept_rate = delivered_rate(k.rounds, kept.inbox)
    emit(
        f"{BENCH}.delivery.sustained",
        "delivered_hugs_per_s",
        ours_rate,
        "1/s",
        PERSISTING_BASELINE,
        kept_rate,
        {
            **sustained,
            "stored_bytes_per_hug": stored,
            "baseline_sockets": k.established,
            "baseline_acked_per_s": _per_s(len(k.sustained.acked), k.sustained.sending_s),
            "baseline_server_cpu_cores": _cores(k.sustained.server_cpu_s, k.sustained.sending_s),
            "baseline_server_cpu_ms_per_hug": _cpu_ms_per_hug(k.sustained),
            "baseline_client_cpu_cores": _cores(k.sustained.client_cpu_s, k.sustained.sending_s),
            "baseline_undelivered": kept.inbox.undelivered(k.sustained),
            "baseline_send_errors": len(k.sustained.refused),
            "target": f">= {TARGET_SHARE:.0%} of the persisting relay",
            "meets_target": bool(kept_rate) and ours_rate >= TARGET_SHARE * kept_rate,
        },
    )
    emit(
        f"{BENCH}.delivery.sustained.vs_memory_relay",
        "delivered_hugs_per_s",
        ours_rate,
        "1/s",
        BASELINE,
        delivered_rate(r.rounds, raw.inbox),
        {
            **sustained,
            "baseline_acked_per_s": _per_s(len(r.sustained.acked), r.sustained.sending_s),
            "baseline_server_cpu_cores": _cores(r.sustained.server_cpu_s, r.sustained.sending_s),
            "baseline_client_cpu_cores": _cores(r.sustained.client_cpu_s, r.sustained.sending_s),
            "note": "issue 3's comparison: a relay that keeps nothing",
        },
    )
    counts = {
        "undelivered_hugs": (
            sum(hug.inbox.undelivered(p) for p in (h.timed, h.sustained)),
            sum(raw.inbox.undelivered(p) for p in (r.timed, r.sustained)),
        ),
        "send_errors": (
            len(h.timed.refused) + len(h.sustained.refused),
            len(r.timed.refused) + len(r.sustained.refused),
        ),
    }
    kept_counts = {
        "undelivered_hugs": sum(kept.inbox.undelivered(p) for p in (k.timed, k.sustained)),
        "send_errors": len(k.timed.refused) + len(k.sustained.refused),
    }
    for metric, (ours_count, base_count) in counts.items():
        emit(
            BENCH,
            metric,
            ours_count,
            "count",
            BASELINE,
            base_count,
            {
                **common,
                "hugs_sent": len(h.timed.scheduled) + len(h.sustained.scheduled),
                "baseline_hugs_sent": len(r.timed.scheduled) + len(r.sustained.scheduled),
                "duplicates": hug.inbox.duplicates,
                "baseline_duplicates": raw.inbox.duplicates,
                "unexpected_messages": hug.inbox.unexpected,
                "baseline_unexpected_messages": raw.inbox.unexpected,
                "persisting_baseline": kept_counts[metric],
                "persisting_baseline_duplicates": kept.inbox.duplicates,
                "target": "0",
            },
            comparable=False,
            digits=0,
        )


def _ms(seconds: float) -> float | None:
    return None if math.isnan(seconds) else round(seconds * 1000, 3)


def _mb(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def _per_s(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds else None


def _cpu(ours: Hugs, base: Hugs) -> dict[str, float | None]:
    """Cores each side kept busy while sending: is the server or the client the limit?"""
    return {
        "server_cpu_cores": _cores(ours.server_cpu_s, ours.sending_s),
        "client_cpu_cores": _cores(ours.client_cpu_s, ours.sending_s),
        "baseline_server_cpu_cores": _cores(base.server_cpu_s, base.sending_s),
        "baseline_client_cpu_cores": _cores(base.client_cpu_s, base.sending_s),
    }


def _cpu_ms_per_hug(hugs: Hugs) -> float | None:
    """Server CPU per answered hug: what the server's work costs, whatever else waits (an
    fsync, a busy machine)."""
    if hugs.server_cpu_s is None or not hugs.acked:
        return None
    return round(hugs.server_cpu_s * 1000 / len(hugs.acked), 3)


def _cores(cpu_s: float | None, seconds: float) -> float | None:
    return None if cpu_s is None or not seconds else round(cpu_s / seconds, 2)


# --- command line ---------------------------------------------------------------------------


def shape_for(quick: bool, sockets: int | None, rate: float | None) -> Shape:
    if quick:
        base = Shape(
            sockets=1000,
            pairs=20,
            crowd_users=10,
            seconds=2.0,
            warmup_s=0.5,
            idle_s=1.0,
            grace_s=5.0,
            rate=500.0,
            rounds=2,
            round_s=1.0,
            connections=32,
        )
    else:
        base = Shape(
            sockets=10_000,
            pairs=100,
            crowd_users=400,
            seconds=8.0,
            warmup_s=1.0,
            idle_s=10.0,
            grace_s=10.0,
            rate=500.0,
            rounds=4,
            round_s=2.0,
            connections=64,
        )
    return replace(base, sockets=sockets or base.sockets, rate=rate or base.rate)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 sockets and short phases")
    parser.add_argument("--sockets", type=int, help="concurrent sockets (default 10,000)")
    parser.add_argument("--rate", type=float, help="offered hugs/s of the open loop (500)")
    args = parser.parse_args()
    shape = shape_for(args.quick, args.sockets, args.rate)
    if shape.crowd < 2 or shape.rate <= 0:
        parser.error(f"--sockets must be above {shape.active + 1} and --rate above 0")
    run(main(shape, args.quick))
