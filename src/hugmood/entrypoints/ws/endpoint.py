"""The ASGI app for GraphQL sockets. `http.hotpaths` puts it in front of every middleware, so
a socket's whole life costs one small frame here rather than a framework's stack.

Refused before accepting (HTTP 403): a browser page from an Origin not on the allowlist.
Accepted then closed with 4406: a client not offering `graphql-transport-ws` (the legacy
`graphql-ws` protocol is off).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import Receive, Scope, Send

from hugmood.entrypoints.graphql.context import RequestContext
from hugmood.entrypoints.http.middleware import origin_allowed
from hugmood.entrypoints.ws.connection import GraphQLSocket
from hugmood.entrypoints.ws.edge import SocketEdge
from hugmood.entrypoints.ws.protocol import PROTOCOL, CloseCode

log = logging.getLogger(__name__)


class GraphQLSockets:
    def __init__(
        self, *, allowed_origins: frozenset[str], context_for: Callable[[Scope], RequestContext]
    ) -> None:
        self.allowed_origins = allowed_origins
        self.context_for = context_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not origin_allowed(scope, self.allowed_origins):
            log.warning("websocket refused: origin not allowed")
            await send({"type": "websocket.close", "code": CloseCode.POLICY})
            return
        edge: SocketEdge = scope["app"].state.sockets
        if (await receive())["type"] != "websocket.connect":
            return
        if PROTOCOL not in scope.get("subprotocols", ()):
            await send({"type": "websocket.accept"})
            await send(
                {
                    "type": "websocket.close",
                    "code": CloseCode.SUBPROTOCOL,
                    "reason": f"use the {PROTOCOL} subprotocol",
                }
            )
            return
        await send({"type": "websocket.accept", "subprotocol": PROTOCOL})
        await GraphQLSocket(edge, send, self.context_for(scope)).serve(receive)
