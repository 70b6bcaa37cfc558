"""A pycrdt Yjs client for board sockets: pycrdt's own `Provider` over a `websockets` channel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pycrdt import Doc, Map, Provider
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.client import User
from tests.e2e.server import HugMoodServer

DEADLINE_S = 20.0


def board_url(server: HugMoodServer, board_id: str, token: str | None) -> str:
    base = server.url.replace("http://", "ws://") + f"/boards/{board_id}/ws"
    return base if token is None else f"{base}?token={token}"


class WebsocketsChannel:
    """pycrdt's `Channel` over a `websockets` connection; ends when the socket closes."""

    def __init__(self, ws: ClientConnection, path: str) -> None:
        self.ws = ws
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> WebsocketsChannel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except ConnectionClosed:
            raise StopAsyncIteration from None

    async def send(self, message: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(message)

    async def recv(self) -> bytes:
        data = await self.ws.recv()
        assert isinstance(data, bytes)
        return data


@asynccontextmanager
async def raw_socket(
    server: HugMoodServer, board_id: str, token: str | None, *, origin: str | None = None
) -> AsyncIterator[ClientConnection]:
    async with connect(
        board_url(server, board_id, token),
        max_size=None,
        open_timeout=DEADLINE_S,
        origin=origin,  # type: ignore[arg-type]
    ) as ws:
        yield ws


@asynccontextmanager
async def synced_doc(
    server: HugMoodServer, board_id: str, user: User, doc: Doc[Any] | None = None
) -> AsyncIterator[Doc[Any]]:
    """A document kept in sync with the board while the block runs."""
    doc = Doc() if doc is None else doc
    async with (
        raw_socket(server, board_id, user.api.token) as ws,
        Provider(doc, WebsocketsChannel(ws, board_id)) as provider,
    ):
        async with asyncio.timeout(DEADLINE_S):
            await provider.synced.wait()
        yield doc


def items(doc: Doc[Any]) -> Map[Any]:
    found: Map[Any] = doc.get("items", type=Map)
    return found


def content(doc: Doc[Any]) -> dict[str, Any]:
    value: dict[str, Any] = items(doc).to_py() or {}
    return value


async def until(check: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
    """Wait for a condition with a deadline (no sleeps as synchronisation)."""
    async with asyncio.timeout(deadline_s):
        while not check():  # noqa: ASYNC110 (the condition is another process's doing)
            await asyncio.sleep(0.02)
    assert check(), what


def sticker(mood: str, by: str, x: float = 1.0, y: float = 2.0) -> dict[str, Any]:
    return {
        "kind": "sticker",
        "mood": mood,
        "x": x,
        "y": y,
        "color": "#ffcc00",
        "addedBy": by,
        "addedAt": 1_700_000_000_000,
    }
