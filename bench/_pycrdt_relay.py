"""The baseline Yjs relay for bench/boards.py: pycrdt-websocket's `WebsocketServer` (a `YRoom`
per path) behind its `ASGIServer`, on uvicorn with the settings HugMood uses. No auth, no
storage: the simplest server that relays Yjs updates between y-websocket clients.

Run: `python bench/_pycrdt_relay.py <port>`; serves until killed.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer


async def serve(port: int) -> None:
    async with WebsocketServer(auto_clean_rooms=False) as relay:
        rooms = ASGIServer(relay)

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":  # readiness probe
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"ok"})
                return
            await rooms(scope, receive, send)

        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            loop="none",
            http="httptools",
            ws="websockets-sansio",
            ws_max_size=65536,
            ws_per_message_deflate=False,
            lifespan="off",
            log_level="warning",
        )
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    import uvloop

    uvloop.run(serve(int(sys.argv[1])))
