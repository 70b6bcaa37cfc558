"""Pure ASGI middleware: request ids, trace ids, a request size limit, access metrics and logs."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping

import orjson
import structlog
from opentelemetry.trace import Span
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hugmood.observability.logging import request_id_var
from hugmood.observability.metrics import Metrics
from hugmood.observability.tracing import server_span, set_status_code, trace_id_header

log = structlog.get_logger("hugmood.http")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

CLIENT_CLOSED_REQUEST = 499
"""Logged and counted for a request whose client left before it was answered (nginx's code):
a flaky phone connection is not a server error."""


async def send_json(send: Send, status: int, body: Mapping[str, object]) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Gives every request an id (`X-Request-ID`, kept if the client sent a sane one) and a
    server span (its trace id in `X-Trace-ID`), echoes the id in the response, puts it in
    every log line, and records metrics. A request whose client left before the answer is
    recorded as 499, not as a server error."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":  # a socket's spans are per message (`entrypoints.ws`)
            with server_span(scope) as span:
                await self._serve(scope, receive, send, span)
        elif scope["type"] == "websocket":
            await self._serve(scope, receive, send, None)
        else:
            await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, span: Span | None) -> None:
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: int | None = None
        failed = False

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    *trace_id_header(span),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            pass  # the client went away mid-request: nobody to answer, nothing went wrong
        except BaseException:
            failed = True
            raise
        finally:
            if status is None:
                status = 500 if failed else CLIENT_CLOSED_REQUEST
            if span is not None:
                set_status_code(span, status)
            if scope["type"] == "http":
                route = scope.get("path", "")
                route = route if route in ("/graphql", "/healthz", "/metrics") else "other"
                elapsed = time.perf_counter() - started
                self.metrics.requests.labels(route, f"{status // 100}xx").inc()
                self.metrics.latency.labels(route).observe(elapsed)
                log.log(
                    40 if status >= 500 else 20,
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413 and a JSON error, before parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int, *, what: str = "the request body") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.what = what
        """What the body is, in the refusal: "the request body is larger than …"."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = {
            "errors": [
                {
                    "message": f"{self.what} is larger than {_size(self.max_bytes)}",
                    "extensions": {"code": "VALIDATION"},
                }
            ]
        }
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await send_json(send, 413, too_large)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await send_json(send, 413, too_large)


def _size(n: int) -> str:
    """A byte count as people read it: "2 MiB (2097152 bytes)", or "100000 bytes"."""
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB ({n} bytes)"
    return f"{n} bytes"


class _TooLarge(Exception):
    pass


def origin_allowed(scope: Scope, allowed: frozenset[str]) -> bool:
    """Browsers always send `Origin`; native clients (CLI, SDK) send none and may connect."""
    for name, value in scope.get("headers") or ():
        if name == b"origin":
            return value.decode("latin-1") in allowed
    return True


class WebSocketOriginMiddleware:
    """Refuses a WebSocket whose `Origin` is not allowed (exact match) before accepting it.

    Browsers always send `Origin`, so this stops other sites from opening sockets with a
    visitor's credentials; native clients (CLI, SDK) send none and are let through.
    """

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not origin_allowed(scope, self.allowed):
            log.warning("websocket refused: origin not allowed", path=scope.get("path"))
            await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
            return
        await self.app(scope, receive, send)
