"""A board socket carried to the region that keeps the board (its owner's): a member who lives
in another region connects to their own region as ever, and that region links the socket to
the owner's region's room, which sees a member of the calling region (never their session).

Two kinds of link, as for calls: to a region hosted in this process, its app is run directly
on an in-process socket; to a deployment of its own, a WebSocket to its
`/federation/boards/{id}/ws`, signed like a call (`federation.sign`) over the board and the
person."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

import websockets
from starlette.types import ASGIApp, Message
from websockets.asyncio.client import ClientConnection

from hugmood.regions.signatures import SIGNATURE_HEADER, RegionUnreachable, signed

USER_HEADER = "x-hugmood-member"
SCOPE_KEY = "hugmood.federated"
"""In-process links name the calling region and the member in the socket's scope, which no
client can set."""
GOING_AWAY = 1001


def board_path(board_id: str) -> str:
    return f"/federation/boards/{board_id}/ws"


def signed_what(board_id: str, user_id: str) -> bytes:
    return f"board:{board_id}:{user_id}".encode()


class BoardLink(Protocol):
    close_code: int
    close_reason: str

    async def send(self, data: bytes) -> None: ...

    async def receive(self) -> bytes | None:
        """The next message from the owner's region; None once it closed the link."""
        ...

    async def close(self) -> None: ...


class InProcessLink:
    """The other region's app, run on a socket made of two queues."""

    def __init__(self) -> None:
        self.close_code = GOING_AWAY
        self.close_reason = ""
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._accepted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, app: ASGIApp, scope: dict[str, Any]) -> InProcessLink:
        link = cls()
        await link._to_app.put({"type": "websocket.connect"})
        link._task = asyncio.create_task(link._run(app, scope), name="board-link")
        async with asyncio.timeout(10):
            waiting = asyncio.create_task(link._accepted.wait())
            await asyncio.wait([waiting, link._task], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
        if not link._accepted.is_set():
            raise RegionUnreachable("the board's region did not take the socket")
        return link

    async def _run(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        try:
            await app(scope, self._to_app.get, self._from_region)
        finally:
            self._accepted.set()
            await self._from_app.put(None)

    async def _from_region(self, message: Message) -> None:
        match message["type"]:
            case "websocket.accept":
                self._accepted.set()
            case "websocket.send":
                data = message.get("bytes")
                if data is None and message.get("text") is not None:
                    data = str(message["text"]).encode()
                if data is not None:
                    await self._from_app.put(data)
            case "websocket.close":
                self.close_code = int(message.get("code", 1000))
                self.close_reason = str(message.get("reason") or "")
                await self._from_app.put(None)

    async def send(self, data: bytes) -> None:
        await self._to_app.put({"type": "websocket.receive", "bytes": data})

    async def receive(self) -> bytes | None:
        return await self._from_app.get()

    async def close(self) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                async with asyncio.timeout(5):
                    await asyncio.shield(self._task)
            self._task.cancel()


def local_scope(board_id: str, caller: str, user_id: str) -> dict[str, Any]:
    path = board_path(board_id)
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "subprotocols": [],
        "state": {},
        SCOPE_KEY: (caller, user_id),
    }


class WebsocketLink:
    """A WebSocket to a region that is a deployment of its own."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self.close_code = GOING_AWAY
        self.close_reason = ""

    @classmethod
    async def open(
        cls, base_url: str, board_id: str, user_id: str, *, key: str, caller: str
    ) -> WebsocketLink:
        signature = signed(key, caller, signed_what(board_id, user_id))
        url = "ws" + base_url.rstrip("/").removeprefix("http") + board_path(board_id)
        try:
            connection = await websockets.connect(
                url,
                additional_headers=[
                    (SIGNATURE_HEADER, signature),
                    (USER_HEADER, user_id),
                ],
                open_timeout=10,
                max_size=None,
            )
        except (OSError, websockets.WebSocketException, TimeoutError) as e:
            raise RegionUnreachable("the board's region cannot be reached") from e
        return cls(connection)

    async def send(self, data: bytes) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._connection.send(data)

    async def receive(self) -> bytes | None:
        try:
            data = await self._connection.recv()
        except websockets.ConnectionClosed:
            self.close_code = self._connection.close_code or GOING_AWAY
            self.close_reason = self._connection.close_reason or ""
            return None
        return data if isinstance(data, bytes) else data.encode()

    async def close(self) -> None:
        await self._connection.close()
