"""The baseline hug relays for bench/realtime.py: raw `websockets` sockets by user plus a raw
HTTP send endpoint, no auth, no framework. With `--persist` each hug is first inserted into
SQLite (WAL, `synchronous=FULL`) and committed on its own, like the durable append HugMood
makes before it answers or pushes; without it nothing is kept.

Run: `python bench/_ws_relay.py HTTP_PORT WS_PORT [--persist FILE --payload-bytes N]`;
serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from _common import HOST, run

PROTOCOL = Subprotocol("graphql-transport-ws")

HUGS_TABLE = """
CREATE TABLE IF NOT EXISTS hugs (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sent_at_ms INTEGER NOT NULL,
    payload BLOB NOT NULL
)
"""


class HugLog:
    """One SQLite file; `keep` inserts one hug and commits it durably before returning.

    Autocommit mode: each INSERT is its own transaction, so with WAL and `synchronous=FULL`
    every hug is fsynced before the relay forwards or answers it. It runs on the event loop,
    as the simplest server would; that it blocks the loop during the fsync is part of the
    price of doing it the simple way.
    """

    def __init__(self, path: Path, payload_bytes: int) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute(HUGS_TABLE)
        # Random bytes: incompressible, the size of HugMood's stored event for one hug.
        self._payload = os.urandom(payload_bytes)

    def keep(self, hug_id: str, sender: str, recipient: str) -> None:
        self._conn.execute(
            "INSERT INTO hugs VALUES (?, ?, ?, ?, ?)",
            (hug_id, sender, recipient, int(time.time() * 1000), self._payload),
        )


class Relay:
    """Sockets by user; a hug is looked up by recipient and forwarded to each of their sockets."""

    def __init__(self, log: HugLog | None) -> None:
        self.sockets: dict[str, dict[ServerConnection, str]] = {}
        self._log = log

    async def handle(self, ws: ServerConnection) -> None:
        user: str | None = None
        try:
            async for raw in ws:
                message = orjson.loads(raw)
                kind = message.get("type")
                if kind == "connection_init":
                    user = str(message["payload"]["authorization"]).removeprefix("Bearer ")
                    await ws.send('{"type":"connection_ack"}')
                elif kind == "subscribe" and user is not None:
                    self.sockets.setdefault(user, {})[ws] = str(message["id"])
                    # A socket lives long: keep it out of the collector's full passes, which
                    # over thousands of sockets pause the loop for hundreds of ms (HugMood
                    # freezes its start-up state the same way).
                    gc.freeze()
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
        except ConnectionClosed:
            pass
        finally:
            if user is not None:
                self.sockets.get(user, {}).pop(ws, None)

    async def send_hug(self, sender: str, body: bytes) -> bytes:
        hug = orjson.loads(body)["variables"]["input"]
        sent = {"id": hug.get("id") or str(uuid.uuid4()), "sentAt": datetime.now(UTC).isoformat()}
        if self._log is not None:
            self._log.keep(sent["id"], sender, hug["to"])
        for ws, op in list(self.sockets.get(hug["to"], {}).items()):
            message = {"id": op, "type": "next", "payload": {"data": {"hugReceived": sent}}}
            with contextlib.suppress(ConnectionClosed):
                await ws.send(orjson.dumps(message).decode())
        return orjson.dumps({"data": {"sendHug": sent}})


class RelayHttp(asyncio.Protocol):
    """Just enough HTTP/1.1 for keep-alive `POST /graphql` and `GET /healthz`."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._busy: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._busy is None or self._busy.done():
            self._busy = asyncio.create_task(self._serve())

    async def _serve(self) -> None:
        while (request := _request(self._buffer)) is not None and self._transport is not None:
            method, path, sender, body = request
            if method == "POST" and path == "/graphql":
                answer = await self._relay.send_hug(sender, body)
            else:
                answer = b'{"status":"ok"}'
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            )
            self._transport.write(head % len(answer) + answer)


def _request(buffer: bytearray) -> tuple[str, str, str, bytes] | None:
    """Take one complete request off the front of `buffer` (method, path, the bearer "token",
    which is the sender's handle, and body), or None while it is incomplete."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    lines = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length, sender = 0, ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "authorization":
            sender = value.strip().removeprefix("Bearer ")
    end = head_end + 4 + length
    if len(buffer) < end:
        return None
    body = bytes(buffer[head_end + 4 : end])
    del buffer[:end]
    return method, path, sender, body


async def serve_relay(http_port: int, ws_port: int, log: HugLog | None) -> None:
    relay = Relay(log)
    loop = asyncio.get_running_loop()
    http = await loop.create_server(lambda: RelayHttp(relay), HOST, http_port)
    # Like HugMood, no permessage-deflate: its zlib state costs ~40 KB per idle socket.
    async with (
        serve(
            relay.handle,
            HOST,
            ws_port,
            subprotocols=[PROTOCOL],
            compression=None,
            max_size=65536,
        ),
        http,
    ):
        await http.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("http_port", type=int)
    parser.add_argument("ws_port", type=int)
    parser.add_argument("--persist", type=Path, help="SQLite file each hug is committed to")
    parser.add_argument("--payload-bytes", type=int, default=0, help="stored bytes per hug")
    args = parser.parse_args()
    hug_log = HugLog(args.persist, args.payload_bytes) if args.persist else None
    run(serve_relay(args.http_port, args.ws_port, hug_log))
