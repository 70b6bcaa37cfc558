"""A `graphql-transport-ws` subscription client (the protocol the server speaks at /graphql)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from hugmood.client.errors import ApiError, NotLoggedIn, Offline

PROTOCOL = "graphql-transport-ws"
CLOSED_UNAUTHORISED = (4401, 4403)


async def subscribe(
    ws_url: str, query: str, *, token: str, device_id: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Yield each `next` payload's data until the server completes the subscription."""
    payload: dict[str, Any] = {"authorization": f"Bearer {token}"}
    if device_id:
        payload["deviceId"] = device_id
    op_id = str(uuid.uuid4())
    try:
        async with connect(ws_url, subprotocols=[PROTOCOL], max_size=None) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            await ws.send(
                json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}})
            )
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif kind == "next" and message.get("id") == op_id:
                    body = message["payload"]
                    if body.get("errors"):
                        first = body["errors"][0]
                        code = (first.get("extensions") or {}).get("code", "UNKNOWN")
                        raise ApiError(code, first.get("message", ""))
                    yield body["data"]
                elif kind == "error" and message.get("id") == op_id:
                    first = (message.get("payload") or [{}])[0]
                    code = (first.get("extensions") or {}).get("code", "UNKNOWN")
                    raise ApiError(code, first.get("message", "subscription refused"))
                elif kind == "complete" and message.get("id") == op_id:
                    return
    except ConnectionClosed as e:
        if e.rcvd is not None and e.rcvd.code in CLOSED_UNAUTHORISED:
            raise NotLoggedIn("the server ended this session: run `hugmood login`") from e
        raise Offline(f"the live connection to {ws_url} was lost") from e
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as e:
        raise Offline(f"cannot open a live connection to {ws_url}: {e}") from e
