"""Shared boards over the Yjs protocol: update propagation latency with many editors on one
board at a fixed offered rate (open loop), the most relayed updates/s (closed loop), and the
load time of a big board after a long history; against raw pycrdt applying the same updates
in one process, with pycrdt-websocket's relay (no auth, no storage) in the params for scale.

Run: `.venv/bin/python bench/boards.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map, merge_updates
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from _common import (
    HttpConnection,
    ServerProcess,
    emit,
    emit_latencies,
    graphql,
    hugmood_env,
    hugmood_server,
    in_parallel,
    log_in,
    machine_params,
    percentile,
    register_and_log_in,
    run,
    servers,
)

BENCH = "boards"
PASSWORD = "bench-password-1"  # noqa: S105  (throwaway accounts on a throwaway server)
BASELINE = "raw pycrdt: the same updates applied to one Doc in one process"
TARGET_P99_MS = 50.0
TARGET_LOAD_MS = 50.0
WINDOW = 8
"""Closed loop: updates one editor may have sent that the observer has not seen yet."""
KEY = re.compile(rb"u(\d{8})z")
"""Every update sets the key `u<8 digits>z`: found in the relayed bytes without decoding."""
CREATE = "mutation($t: String!) { createBoard(input: {title: $t}) { id } }"
INVITE = (
    "mutation($b: ID!, $h: String!) { inviteToBoard(boardId: $b, handle: $h, role: EDITOR) { id } }"
)
REQUEST = "mutation($h: String!) { requestFriendship(handle: $h) { status } }"
ACCEPT = "mutation($h: String!) { acceptFriendship(handle: $h) { status } }"


@dataclass(frozen=True, slots=True)
class Shape:
    editors: int
    rate: float
    """Updates per second offered in total, spread round-robin over the editors."""
    seconds: float
    warmup_s: float
    throughput_s: float
    items: int
    edits: int
    history_writers: int


FULL = Shape(
    editors=50, rate=200, seconds=20, warmup_s=2, throughput_s=10, items=10_000, edits=100_000,
    history_writers=10,
)  # fmt: skip
QUICK = Shape(
    editors=20, rate=200, seconds=3, warmup_s=1, throughput_s=2, items=2_000, edits=20_000,
    history_writers=5,
)  # fmt: skip


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep this client's garbage collector out of timed phases (its pauses are not ours)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# --- updates made ahead of time -------------------------------------------------------------


@dataclass
class Updates:
    """Each editor's own sequence of Yjs updates (one new item each), made before the run."""

    messages: list[list[bytes]]
    """Per editor, in order: sync-update messages ready to send."""
    raw: list[list[bytes]]
    """The same updates without the message framing (for the pycrdt baseline)."""
    sent: list[int] = field(default_factory=list)

    def next(self, editor: int) -> tuple[int, bytes]:
        """The key number and message of the editor's next update."""
        i = self.sent[editor]
        self.sent[editor] += 1
        message = self.messages[editor][i]
        found = KEY.search(message)
        assert found is not None
        return int(found.group(1)), message


def make_updates(editors: int, per_editor: int) -> Updates:
    from hugmood.boards.model import items_of, sticker
    from hugmood.boards.protocol import SyncType, sync_message

    messages: list[list[bytes]] = []
    raw: list[list[bytes]] = []
    n = 0
    for e in range(editors):
        doc: Doc[Any] = Doc()
        items: Map[Any] = items_of(doc)
        mine_msg, mine_raw = [], []
        for _ in range(per_editor):
            before = doc.get_state()
            items[f"u{n:08d}z"] = sticker(
                "calm", x=n % 1000, y=e, color="#5577aa", added_by=f"editor-{e}", added_at=n
            )
            update = doc.get_update(before)
            mine_raw.append(update)
            mine_msg.append(sync_message(SyncType.UPDATE, update))
            n += 1
        messages.append(mine_msg)
        raw.append(mine_raw)
    return Updates(messages, raw, [0] * editors)


# --- the clients ----------------------------------------------------------------------------


@dataclass
class Arrivals:
    """When each update (by key number) reached each socket."""

    at: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    observed: int = 0
    on_observed: Callable[[int], None] | None = None

    def note(self, socket: int, data: bytes, now: float) -> None:
        if len(data) < 2 or data[0] != 0 or data[1] not in (1, 2):
            return  # not an update (sync step 1, awareness)
        for found in KEY.finditer(data):
            n = int(found.group(1))
            self.at.setdefault(n, []).append((socket, now))
            if socket == -1 and self.on_observed is not None:
                self.observed += 1
                self.on_observed(n)


async def read(ws: ClientConnection, socket: int, arrivals: Arrivals) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for data in ws:
            if isinstance(data, bytes):
                arrivals.note(socket, data, time.perf_counter())


@dataclass
class Target:
    name: str
    url: Callable[[int], str]
    """The socket URL for editor i (-1: the observer)."""
    server: ServerProcess


READERS: set[asyncio.Task[None]] = set()
"""The socket readers' tasks (the loop itself keeps only weak references to tasks)."""


async def open_all(target: Target, editors: int, arrivals: Arrivals) -> list[ClientConnection]:
    sockets = []
    for i in [*range(editors), -1]:
        ws = await connect(target.url(i), max_size=None, open_timeout=60, compression=None)
        sockets.append(ws)
        reader = asyncio.create_task(read(ws, i, arrivals))
        READERS.add(reader)
        reader.add_done_callback(READERS.discard)
    return sockets


# --- phases ---------------------------------------------------------------------------------


@dataclass
class Propagation:
    latencies_s: list[float]
    expected: int
    missing: int
    server_cpu_s: float | None


async def open_loop(target: Target, updates: Updates, shape: Shape) -> Propagation:
    """Offer `rate` updates/s round-robin over the editors; latency from when each was due
    to when each other editor's socket received it (so a stall is not hidden)."""
    arrivals = Arrivals()
    sockets = await open_all(target, shape.editors, arrivals)
    total = int(shape.rate * (shape.seconds + shape.warmup_s))
    due: dict[int, tuple[int, float]] = {}
    cpu_before = target.server.cpu_seconds()
    with collector_paused():
        start = time.perf_counter() + 0.2
        for k in range(total):
            when = start + k / shape.rate
            delay = when - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            editor = k % shape.editors
            n, message = updates.next(editor)
            due[n] = (editor, when)
            await sockets[editor].send(message)
        await asyncio.sleep(2.0)  # the last ones arrive
    cpu_after = target.server.cpu_seconds()
    measured_from = start + shape.warmup_s
    latencies, expected, missing = [], 0, 0
    for n, (editor, when) in due.items():
        if when < measured_from:
            continue
        got = {s: t for s, t in arrivals.at.get(n, []) if s != editor}
        for s in [*range(shape.editors), -1]:
            if s == editor:
                continue
            expected += 1
            if s in got:
                latencies.append(got[s] - when)
            else:
                missing += 1
    for ws in sockets:
        await ws.close()
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Propagation(latencies, expected, missing, cpu)


async def closed_loop(target: Target, updates: Updates, shape: Shape) -> float:
    """Every editor keeps up to WINDOW updates in flight; the observer socket counts how many
    updates reach it per second: what the server relays when pushed as hard as it goes."""
    arrivals = Arrivals()
    sender_of: dict[int, int] = {}
    in_flight = [0] * shape.editors
    wake = [asyncio.Event() for _ in range(shape.editors)]

    def observed(n: int) -> None:
        editor = sender_of.get(n)
        if editor is not None:
            in_flight[editor] -= 1
            wake[editor].set()

    arrivals.on_observed = observed
    sockets = await open_all(target, shape.editors, arrivals)
    stop = time.perf_counter() + shape.throughput_s

    async def editor(e: int) -> None:
        while time.perf_counter() < stop:
            if in_flight[e] >= WINDOW:
                wake[e].clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, stop - time.perf_counter())):
                        await wake[e].wait()
                continue
            if updates.sent[e] >= len(updates.messages[e]):
                return
            n, message = updates.next(e)
            sender_of[n] = e
            in_flight[e] += 1
            await sockets[e].send(message)

    with collector_paused():
        started = time.perf_counter()
        before = arrivals.observed
        await asyncio.gather(*(editor(e) for e in range(shape.editors)))
        rate = (arrivals.observed - before) / (time.perf_counter() - started)
    for ws in sockets:
        await ws.close()
    return rate


def raw_pycrdt(updates: Updates, count: int) -> tuple[list[float], float]:
    """Per-update apply time and updates/s of raw pycrdt for the first `count` updates of the
    editors, interleaved round-robin as they were sent."""
    doc: Doc[Any] = Doc()
    order = [
        updates.raw[e][i]
        for i in range(max(len(r) for r in updates.raw))
        for e in range(len(updates.raw))
        if i < len(updates.raw[e])
    ][:count]
    times = []
    with collector_paused():
        started = time.perf_counter()
        for update in order:
            t0 = time.perf_counter()
            doc.apply_update(update)
            times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
    return times, len(order) / elapsed


# --- setup ----------------------------------------------------------------------------------


async def hugmood_board(port: int, editors: int) -> tuple[str, str, list[str]]:
    """An owner and `editors` friends invited as editors; the board id and their tokens."""
    handles = ["owner", *(f"editor_{i}" for i in range(editors))]
    tokens: dict[str, str] = {}

    def register(handle: str) -> Callable[[HttpConnection], Awaitable[None]]:
        async def job(conn: HttpConnection) -> None:
            tokens[handle] = await register_and_log_in(conn, handle, PASSWORD)

        return job

    await in_parallel([register(h) for h in handles], port)
    conn = await HttpConnection.open(port)
    try:
        board_id: str = (await graphql(conn, CREATE, {"t": "bench"}, tokens["owner"]))[
            "createBoard"
        ]["id"]
    finally:
        conn.close()

    def befriend(handle: str) -> Callable[[HttpConnection], Awaitable[None]]:
        async def job(conn: HttpConnection) -> None:
            await graphql(conn, REQUEST, {"h": handle}, tokens["owner"])
            await graphql(conn, ACCEPT, {"h": "owner"}, tokens[handle])

        return job

    await in_parallel([befriend(h) for h in handles[1:]], port)
    conn = await HttpConnection.open(port)
    try:
        for handle in handles[1:]:  # one board stream: invites one after another
            await graphql(conn, INVITE, {"b": board_id, "h": handle}, tokens["owner"])
    finally:
        conn.close()
    return board_id, tokens["owner"], [tokens[h] for h in handles[1:]]


# --- load time of a long-edited board -------------------------------------------------------


@dataclass
class Load:
    ours_ms: list[float]
    raw_ms: list[float]
    """Raw pycrdt loading the same edits' document whole, history included."""
    raw_stored_ms: list[float]
    """Raw pycrdt applying exactly what HugMood read (its snapshot and the tail)."""
    snapshot_bytes: int
    history_bytes: int
    generation: int
    tail_updates: int
    socket_ms: float | None
    seed_s: float


def history(shape: Shape) -> list[bytes]:
    """`edits` updates by a few writers that see each other's work every 500 edits: the first
    `items` add an item each, the rest move or recolour an existing one."""
    rnd = random.Random(7)
    hub: Doc[Any] = Doc()
    writers: list[Doc[Any]] = [Doc() for _ in range(shape.history_writers)]
    out: list[bytes] = []
    for start in range(0, shape.edits, 500):
        out.extend(edit_rounds(writers, rnd, range(start, min(start + 500, shape.edits)), shape))
        hub.apply_update(merge_updates(*out[start:]))
        for doc in writers:
            doc.apply_update(hub.get_update(doc.get_state()))
    return out


def edit_rounds(
    writers: list[Doc[Any]], rnd: random.Random, numbers: range, shape: Shape
) -> list[bytes]:
    """One update per edit number, each its own transaction, round-robin over the writers.
    (Each is the transaction's own update, as a Yjs client sends it: `get_update(state)`
    would carry the document's whole delete set every time.)"""
    from hugmood.boards.model import items_of, sticker

    edits: list[bytes] = []
    watching = [w.observe(lambda event: edits.append(event.update)) for w in writers]
    for n in numbers:
        key = n if n < shape.items else rnd.randrange(shape.items)
        items_of(writers[n % len(writers)])[f"item-{key:05d}"] = sticker(
            rnd.choice(["calm", "joyful", "hopeful", "tired"]),
            x=round(rnd.random() * 2000, 1),
            y=round(rnd.random() * 2000, 1),
            color=rnd.choice(["#ffcc00", "#88aaee", "#55bb77"]),
            added_by=f"writer-{n % len(writers)}",
            added_at=1_700_000_000_000 + n,
        )
    for writer, subscription in zip(writers, watching, strict=True):
        writer.unobserve(subscription)
    return edits


async def load_phase(shape: Shape, workdir: Path) -> Load:
    """The history stored as the rooms store it, compacted as a room that empties compacts it
    (with the server's default rebase threshold), then `TAIL` more edits made on what was
    stored: what opening the board then reads from the log, and how long that takes."""
    from hugmood.boards.model import item_count
    from hugmood.boards.store import AcceptedUpdate, materialize
    from hugmood.bootstrap import open_hugmood
    from hugmood.config import Settings
    from hugmood.domain import boards as bd
    from hugmood.domain import identity as idm

    started = time.perf_counter()
    updates = history(shape)
    tail = 250  # half of the compaction interval: what a room finds after its last snapshot
    settings = Settings(database_url="sqlite", data_dir=workdir, secret_key="b" * 48)
    async with open_hugmood(settings) as core:
        await core.bus.handle(idm.RegisterUser("loader", "Loader", PASSWORD, "eu-west"))
        owner = idm.user_id_for("loader")
        board_id = str(uuid.uuid4())
        await core.bus.handle(bd.CreateBoard(board_id, owner, "a long history"))
        for i in range(0, len(updates), 1000):
            chunk = [AcceptedUpdate(owner, u) for u in updates[i : i + 1000]]
            await core.boards.content.append(board_id, chunk, items=0)
        await core.boards.content.compact(
            board_id, rebase_min_bytes=settings.board_rebase_min_bytes
        )
        # More edits, by writers holding what was stored (as a room's sockets would).
        stored = materialize(await core.boards.content.load(board_id))
        writers: list[Doc[Any]] = [Doc() for _ in range(shape.history_writers)]
        for writer in writers:
            writer.apply_update(stored.get_update())
        more = edit_rounds(writers, random.Random(8), range(shape.edits, shape.edits + tail), shape)
        generation = (await core.boards.content.load(board_id)).lineage.generation
        await core.boards.content.append(
            board_id, [AcceptedUpdate(owner, u) for u in more], items=0, generation=generation
        )
        await core.projections.wait_for(await core.store.last_position())
        seed_s = time.perf_counter() - started

        ours: list[float] = []
        content = None
        with collector_paused():
            for _ in range(7):
                t0 = time.perf_counter()
                content = await core.boards.content.load(board_id)
                doc = materialize(content)
                ours.append((time.perf_counter() - t0) * 1000)
                assert item_count(doc) == shape.items
        assert content is not None
        assert content.snapshot is not None
        snapshot = content.snapshot
        raw_stored = raw_loads([snapshot, merge_updates(*content.updates)])
        # Without rebasing, a snapshot would be the document with every tombstone in it.
        whole: Doc[Any] = Doc()
        whole.apply_update(merge_updates(*updates, *more))
        with_history = whole.get_update()
        raw = raw_loads([with_history])
    socket_ms = await first_sync_over_socket(workdir, board_id)
    history_bytes = len(with_history)
    return Load(
        ours,
        raw,
        raw_stored,
        len(snapshot),
        history_bytes,
        content.lineage.generation,
        content.since_snapshot,
        socket_ms,
        seed_s,
    )


def raw_loads(updates: list[bytes]) -> list[float]:
    """Seven times: a new pycrdt Doc applying `updates` in order."""
    times: list[float] = []
    with collector_paused():
        for _ in range(7):
            t0 = time.perf_counter()
            fresh: Doc[Any] = Doc()
            for update in updates:
                fresh.apply_update(update)
            times.append((time.perf_counter() - t0) * 1000)
    return times


async def first_sync_over_socket(workdir: Path, board_id: str) -> float | None:
    """A hugmood server on the seeded data: connect to the board, until the whole document
    (sync step 2) has arrived; the room is opened (loaded) on this first socket."""
    server = hugmood_server(
        workdir,
        workdir / "load-server.log",
        DATABASE_URL="sqlite",
        SECRET_KEY="b" * 48,
    )
    with servers(server):
        await server.wait_ready()
        conn = await HttpConnection.open(server.port)
        try:
            token = await log_in(conn, "loader", PASSWORD)
        finally:
            conn.close()
        url = f"ws://127.0.0.1:{server.port}/boards/{board_id}/ws?token={token}"
        from hugmood.boards.protocol import SyncType, sync_message

        t0 = time.perf_counter()
        async with connect(url, max_size=None, compression=None) as ws:
            await ws.send(sync_message(SyncType.STEP1, b"\x00"))
            async with asyncio.timeout(60):
                async for data in ws:
                    if isinstance(data, bytes) and data[:2] == b"\x00\x01":
                        return (time.perf_counter() - t0) * 1000
    return None


# --- the run --------------------------------------------------------------------------------


async def main(shape: Shape, quick: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hugmood-bench-boards-"))
    per_editor = int(shape.rate * (shape.seconds + shape.warmup_s) / shape.editors) + 2000
    made = time.perf_counter()
    ours_updates = make_updates(shape.editors, per_editor)
    base_updates = make_updates(shape.editors, per_editor)
    print(f"updates made in {time.perf_counter() - made:.1f} s", file=sys.stderr)

    hugmood = hugmood_server(workdir / "hugmood", workdir / "hugmood.log", DATABASE_URL="sqlite")
    relay = ServerProcess(
        "pycrdt-websocket relay",
        [sys.executable, str(Path(__file__).parent / "_pycrdt_relay.py"), "{port}"],
        hugmood_env(workdir / "relay"),
        workdir / "relay.log",
    )
    with servers(hugmood, relay):
        await hugmood.wait_ready()
        await relay.wait_ready("/")
        board_id, owner_token, tokens = await hugmood_board(hugmood.port, shape.editors)

        def ours_url(i: int) -> str:
            token = owner_token if i < 0 else tokens[i]
            return f"ws://127.0.0.1:{hugmood.port}/boards/{board_id}/ws?token={token}"

        def relay_url(i: int) -> str:
            return f"ws://127.0.0.1:{relay.port}/{board_id}"

        ours = Target("hugmood", ours_url, hugmood)
        base = Target("pycrdt-websocket", relay_url, relay)
        ours_prop = await open_loop(ours, ours_updates, shape)
        base_prop = await open_loop(base, base_updates, shape)
        ours_rate = await closed_loop(ours, ours_updates, shape)
        base_rate = await closed_loop(base, base_updates, shape)
    raw_times, raw_rate = raw_pycrdt(ours_updates, int(shape.rate * shape.seconds))
    load = await load_phase(shape, workdir / "load")
    report(
        shape, quick, (ours_prop, base_prop), (ours_rate, base_rate), (raw_times, raw_rate), load
    )


def report(
    shape: Shape,
    quick: bool,
    propagation: tuple[Propagation, Propagation],
    relayed: tuple[float, float],
    raw: tuple[list[float], float],
    load: Load,
) -> None:
    ours, relay = propagation
    raw_times, raw_rate = raw
    common: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "server": "hugmood serve, 1 process, SQLite WAL synchronous=FULL (every update stored before it is relayed)",
        "client": "websockets (asyncio) in one process, no compression",
        **machine_params(),
    }
    params = {
        **common,
        "editors": shape.editors,
        "offered_updates_per_s": shape.rate,
        "seconds": shape.seconds,
        "measured": "from when an update was due to when each other editor's socket got it",
        "samples": len(ours.latencies_s),
        "missing": ours.missing,
        "expected": ours.expected,
        "server_cpu_s": ours.server_cpu_s,
        "pycrdt_websocket_relay_p50_ms": round(percentile(relay.latencies_s, 50) * 1000, 3),
        "pycrdt_websocket_relay_p99_ms": round(percentile(relay.latencies_s, 99) * 1000, 3),
        "pycrdt_websocket_relay_missing": relay.missing,
        "pycrdt_websocket_relay_cpu_s": relay.server_cpu_s,
    }
    emit_latencies(
        f"{BENCH}.propagation",
        ours.latencies_s,
        BASELINE + " (time to apply each update)",
        raw_times,
        params,
        target_p99_ms=TARGET_P99_MS,
    )
    ours_rate, relay_rate = relayed
    emit(
        f"{BENCH}.relayed",
        "updates_per_s",
        ours_rate,
        "1/s",
        BASELINE,
        raw_rate,
        {
            **common,
            "editors": shape.editors,
            "window_per_editor": WINDOW,
            "seconds": shape.throughput_s,
            "measured": "updates reaching one observer socket per second, all editors pushing",
            "fan_out": shape.editors,
            "pycrdt_websocket_relay_updates_per_s": round(relay_rate, 1),
            "ratio_to_pycrdt_websocket_relay": round(ours_rate / relay_rate, 3)
            if relay_rate
            else None,
        },
    )
    emit(
        f"{BENCH}.load",
        "load_ms",
        statistics.median(load.ours_ms),
        "ms",
        BASELINE + " (all of them: the whole document, history included, as one update)",
        statistics.median(load.raw_ms),
        {
            **common,
            "items": shape.items,
            "edits": shape.edits,
            "writers": shape.history_writers,
            "measured": "median of 7: read the newest snapshot and the updates after it from the log, apply them to a new Doc",
            "max_ms": round(max(load.ours_ms), 2),
            "generation": load.generation,
            "snapshot_bytes": load.snapshot_bytes,
            "history_bytes": load.history_bytes,
            "tail_updates": load.tail_updates,
            "raw_pycrdt_stored_ms": round(statistics.median(load.raw_stored_ms), 2),
            "first_sync_over_socket_ms": None
            if load.socket_ms is None
            else round(load.socket_ms, 1),
            "seed_s": round(load.seed_s, 1),
            "target": f"< {TARGET_LOAD_MS:g} ms",
            "meets_target": statistics.median(load.ours_ms) < TARGET_LOAD_MS,
        },
        lower_is_better=True,
        digits=2,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under 30 s")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent.parent / "src"))
    run(main(QUICK if args.quick else FULL, args.quick))
