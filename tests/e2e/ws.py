"""A small `graphql-transport-ws` client over the `websockets` library, for e2e tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.server import HugMoodServer

PROTOCOL = "graphql-transport-ws"
DEADLINE_S = 15.0


def ws_url(server: HugMoodServer) -> str:
    return server.url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def open_socket(
    server: HugMoodServer, *, origin: str | None = None
) -> AsyncIterator[ClientConnection]:
    async with connect(
        ws_url(server),
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
        max_size=None,
        open_timeout=DEADLINE_S,
    ) as ws:
        yield ws


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(DEADLINE_S):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def init(
    ws: ClientConnection, token: str | None, device: str = "test-device"
) -> dict[str, Any]:
    payload: dict[str, Any] = {"deviceId": device}
    if token is not None:
        payload["authorization"] = f"Bearer {token}"
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return await receive(ws)


async def subscribe(ws: ClientConnection, op_id: str, query: str) -> None:
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}}))


async def next_data(ws: ClientConnection, op_id: str) -> dict[str, Any]:
    """The data of the next `next` message for `op_id` (pings are answered on the way)."""
    while True:
        message = await receive(ws)
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        assert message.get("id") == op_id, message
        assert message["type"] == "next", message
        data: dict[str, Any] = message["payload"]["data"]
        return data


async def closed_with(ws: ClientConnection) -> int | None:
    """Wait until the server closes the socket; its close code."""
    async with asyncio.timeout(DEADLINE_S + 30):
        await ws.wait_closed()
    return ws.close_code
