"""The outermost layer: the two hot paths go straight to their handlers.

`POST /graphql` (every query and mutation) passes only the request-context and body-size
middleware on its way to `GraphQLEndpoint`; a `/graphql` socket goes to `entrypoints.ws`.
Everything else (GraphiQL, health, metrics, the web app, board sockets) takes FastAPI's whole
stack. Skipping the framework's routing and exception layers is ~10% of a mutation's CPU.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hugmood.entrypoints.http.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    send_json,
)
from hugmood.observability.error_reports import report_error
from hugmood.observability.metrics import Metrics

INTERNAL = {
    "errors": [{"message": "something went wrong on our side", "extensions": {"code": "INTERNAL"}}]
}


class HotPaths:
    def __init__(self, app: ASGIApp, *, path: str, http: ASGIApp, socket: ASGIApp) -> None:
        self.app = app
        self.path = path
        self.http = http
        self.socket = socket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("path") == self.path:
            if scope["type"] == "websocket":
                await self.socket(scope, receive, send)
                return
            if scope["type"] == "http" and scope["method"] == "POST":
                await self.http(scope, receive, send)
                return
        await self.app(scope, receive, send)


class InternalErrors:
    """A bug below answers 500 with HugMood's JSON error (and is logged), never a trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except ClientDisconnect:
            raise  # not a bug: the client left; `RequestContextMiddleware` records it
        except Exception as e:
            report_error(e)  # without the exception's message, which may quote the request
            if not started:
                await send_json(send, 500, INTERNAL)


def own_stack(
    endpoint: ASGIApp, *, metrics: Metrics, max_bytes: int, what: str = "the request body"
) -> ASGIApp:
    """The middleware a path that skips the framework still needs, in one order: request id,
    access log and metrics outermost; then a bug answered with `INTERNAL`; then the body
    limit (`max_bytes`, described as `what` in the refusal)."""
    return RequestContextMiddleware(
        InternalErrors(BodySizeLimitMiddleware(endpoint, max_bytes=max_bytes, what=what)),
        metrics=metrics,
    )
