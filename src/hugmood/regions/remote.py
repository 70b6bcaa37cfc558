"""A region that is a deployment of its own, reached by an edge over the network: an ASGI app
that passes each request and socket on to the region's own server unchanged (the region
authenticates and answers; the edge only carries bytes) and passes the answer back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import websockets
from starlette.types import Message, Receive, Scope, Send
from websockets.asyncio.client import ClientConnection

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
SOCKET_HEADERS = frozenset({b"authorization", b"user-agent", b"x-request-id"})
"""What a socket carries on to the region (the Origin was checked at the edge)."""


class RemoteRegion:
    def __init__(self, region: str, base_url: str, *, timeout_s: float = 30.0) -> None:
        self.region = region
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._request(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._socket(scope, receive, send)

    def _url(self, scope: Scope, scheme: str = "http") -> str:
        base = self.base_url if scheme == "http" else "ws" + self.base_url.removeprefix("http")
        query = scope.get("query_string", b"").decode("latin-1")
        return f"{base}{scope['path']}" + (f"?{query}" if query else "")

    async def _request(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.lower() not in HOP_BY_HOP
        ]
        request = self._client.build_request(
            scope["method"], self._url(scope), headers=headers, content=_body(receive)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as e:
            log.warning("region %s unreachable: %s", self.region, type(e).__name__)
            await _unavailable(send, self.region)
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open the region's socket, then carry messages both ways until either side closes.
        The edge may have accepted the socket already (a GraphQL socket, read to route it):
        then the `websocket.accept` sent here is dropped by the edge."""
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.lower() in SOCKET_HEADERS
        ]
        subprotocols = scope.get("subprotocols") or []
        try:
            upstream = await websockets.connect(
                self._url(scope, "ws"),
                additional_headers=headers,
                subprotocols=subprotocols or None,
                open_timeout=10,
                max_size=None,
            )
        except (OSError, websockets.WebSocketException, TimeoutError) as e:
            log.warning("region %s socket unreachable: %s", self.region, type(e).__name__)
            await send({"type": "websocket.close", "code": 1013})
            return
        async with upstream:
            await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
            await _pump(receive, send, upstream)


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _pump(receive: Receive, send: Send, upstream: ClientConnection) -> None:
    async def from_client() -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close(message.get("code", 1000))
                return
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])

    async def from_region() -> None:
        try:
            async for data in upstream:
                if isinstance(data, str):
                    await send({"type": "websocket.send", "text": data})
                else:
                    await send({"type": "websocket.send", "bytes": data})
        except websockets.ConnectionClosed:
            pass
        code = upstream.close_code or 1000
        reason = upstream.close_reason or ""
        with contextlib.suppress(Exception):  # the client may be gone already
            await send({"type": "websocket.close", "code": code, "reason": reason})

    tasks = [asyncio.create_task(from_client()), asyncio.create_task(from_region())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _unavailable(send: Send, region: str) -> None:
    body = (
        b'{"errors":[{"message":"the region '
        + region.encode()
        + b' cannot be reached right now: try again shortly",'
        b'"extensions":{"code":"UNAVAILABLE"}}]}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
