"""One `graphql-transport-ws` socket: authentication, operations, and pushing what its
subscriptions' feeds produce, in order.

The socket is authenticated by `connection_init` (its payload carries the session token) and
refused with 4403 before any data otherwise. Queries and mutations run as they arrive, one at
a time. A subscription registers a callback on the hub; live messages queue on the socket
and one short-lived task pushes them, so an idle socket costs no task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from dataclasses import replace
from typing import Any

from graphql import GraphQLError, OperationType
from starlette.types import Receive, Send

from hugmood.domain.errors import RateLimited, Unauthenticated
from hugmood.entrypoints.graphql.context import RequestContext
from hugmood.entrypoints.graphql.feeds import SUBSCRIPTIONS, Feed, listen_to, open_feed
from hugmood.entrypoints.graphql.operations import Prepared
from hugmood.entrypoints.http.caller import bearer_token
from hugmood.entrypoints.ws.edge import SocketEdge
from hugmood.entrypoints.ws.protocol import (
    ClientMessage,
    CloseCode,
    ProtocolError,
    encode,
    parse_message,
)
from hugmood.observability.tracing import socket_message_span, socket_push_span
from hugmood.realtime.hub import DeviceRefresh, Listening, Message, PresenceStatus
from hugmood.tasks import cancel_and_wait

log = logging.getLogger(__name__)

MAX_BEHIND = 1000
"""Live messages queued for one socket before it is closed with 1013 (it reconnects and
catches up from the durable inbox)."""

_FIRST = ""
"""Channel marker for "show what the feed shows first"."""


class LiveOperation:
    """A running subscription on a socket."""

    __slots__ = ("done", "feed", "id", "listening", "name", "prepared", "variables")

    def __init__(
        self,
        op_id: str,
        prepared: Prepared,
        variables: dict[str, Any] | None,
        name: str | None,
        feed: Feed,
    ) -> None:
        self.id = op_id
        self.prepared = prepared
        self.variables = variables
        self.name = name
        self.feed = feed
        self.listening: Listening | None = None
        self.done = False


class GraphQLSocket:
    __slots__ = (
        "_closed",
        "_init_timer",
        "_operations",
        "_pending",
        "_pump",
        "context",
        "edge",
        "send",
        "session_id",
        "token_hash",
        "user_id",
    )

    def __init__(self, edge: SocketEdge, send: Send, context: RequestContext) -> None:
        self.edge = edge
        self.send = send
        self.context = context
        self.user_id: str | None = None
        self.session_id: str | None = None
        self.token_hash: str | None = None
        self._operations: dict[str, LiveOperation | None] = {}
        """Running operations by id (None: a query or mutation being answered)."""
        self._pending: deque[tuple[LiveOperation, str, Message | None]] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._init_timer: asyncio.TimerHandle | None = None
        self._closed = False

    # -- the receive loop -----------------------------------------------------------------

    async def serve(self, receive: Receive) -> None:
        loop = asyncio.get_running_loop()
        self._init_timer = loop.call_later(self.edge.init_timeout_s, self._init_timed_out)
        try:
            while not self._closed:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message["type"] != "websocket.receive":
                    continue
                text = message.get("text")
                try:
                    if text is None:
                        raise ProtocolError("send text frames: each message is JSON")
                    if self.user_id is not None:
                        self.edge.limiter.hit(self.user_id)
                    parsed = parse_message(text)
                    with socket_message_span(parsed.type):
                        await self._dispatch(parsed)
                except ProtocolError as e:
                    await self.close(e.code, e.reason)
                except RateLimited as e:
                    log.warning("websocket rate limited", extra={"user_id": self.user_id})
                    await self.close(CloseCode.POLICY, e.message)
                except OSError:
                    break  # the client went away while we answered
        finally:
            if self._init_timer is not None:
                self._init_timer.cancel()
            await self._end()

    async def _dispatch(self, message: ClientMessage) -> None:
        kind = message.type
        if self.user_id is None:
            if kind != "connection_init":
                raise ProtocolError("send connection_init first", CloseCode.UNAUTHORIZED)
            await self._init(message.payload or {})
        elif kind == "connection_init":
            raise ProtocolError("too many initialisation requests", CloseCode.TOO_MANY_INITS)
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "subscribe":
            assert message.id is not None
            await self._subscribe(message.id, message.payload)
        elif kind == "complete":
            assert message.id is not None
            await self._complete(message.id)

    async def _init(self, payload: dict[str, Any]) -> None:
        token = payload.get("authorization") or payload.get("token")
        context = self.context
        if isinstance(token, str):
            context.bearer = bearer_token(token) if " " in token else token
        device = payload.get("deviceId")
        if isinstance(device, str) and device.strip():
            context.command = replace(context.command, device_id=device.strip()[:100])
        try:
            principal = await context.principal()
        except Unauthenticated as e:
            raise ProtocolError(e.message[:120], CloseCode.FORBIDDEN) from None
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None
        self.user_id, self.session_id = principal.user_id, principal.session_id
        assert context.bearer is not None
        self.token_hash = context.core.deps.tokens.digest(context.bearer)
        # One presence device per socket: two tabs of one session are two devices, so
        # closing one leaves the other online.
        device_id = context.command.device_id or principal.session_id
        context.socket_device = f"{device_id}#{uuid.uuid4().hex[:8]}"
        self.edge.registry.add(self)
        await context.core.presence.heartbeat(
            principal.user_id, context.socket_device, PresenceStatus.ONLINE, None
        )
        await self._send({"type": "connection_ack", "payload": {"handle": principal.handle}})

    def _init_timed_out(self) -> None:
        self._init_timer = None
        if self.user_id is None:
            self.close_soon(CloseCode.INIT_TIMEOUT, "connection_init did not come in time")

    # -- operations ------------------------------------------------------------------------

    async def _subscribe(self, op_id: str, payload: dict[str, Any]) -> None:
        if op_id in self._operations:
            raise ProtocolError(
                f"an operation with id {op_id!r} is running", CloseCode.DUPLICATE_ID
            )
        limit = self.edge.max_operations
        if len(self._operations) >= limit:
            why = f"at most {limit} operations at once on one socket: the limit is reached"
            error = GraphQLError(why, extensions={"code": "RATE_LIMITED"})
            await self._send({"type": "error", "id": op_id, "payload": [error.formatted]})
            return
        query, name = payload["query"], payload.get("operationName")
        variables = payload.get("variables")
        prepared = self.edge.operations.prepare(query, name)
        if isinstance(prepared, list):
            errors = [e.formatted for e in prepared]
            await self._send({"type": "error", "id": op_id, "payload": errors})
            return
        if prepared.kind is not OperationType.SUBSCRIPTION:
            await self._answer(op_id, query, variables, name)
            return
        if prepared.root_field not in SUBSCRIPTIONS:
            error = GraphQLError(f"no subscription named {prepared.root_field!r}")
            await self._send({"type": "error", "id": op_id, "payload": [error.formatted]})
            return
        feed = await open_feed(prepared.root_field, self.context)
        operation = LiveOperation(op_id, prepared, variables, name, feed)
        self._operations[op_id] = operation
        operation.listening = await listen_to(
            feed, lambda channel, message: self._offer(operation, channel, message)
        )
        self._offer(operation, _FIRST, None)

    async def _answer(
        self, op_id: str, query: str, variables: dict[str, Any] | None, name: str | None
    ) -> None:
        """A query or mutation: one `next`, then `complete` (unless the client completed it)."""
        self._operations[op_id] = None
        try:
            body = await self.edge.operations.execute(query, variables, self.context, name)
        finally:
            running = op_id in self._operations
            self._operations.pop(op_id, None)
        if running and not self._closed:
            await self._send({"type": "next", "id": op_id, "payload": body})
            await self._send({"type": "complete", "id": op_id})

    async def _complete(self, op_id: str) -> None:
        operation = self._operations.pop(op_id, None)
        if operation is not None:
            await self._stop(operation)

    async def _stop(self, operation: LiveOperation) -> None:
        operation.done = True
        listening, operation.listening = operation.listening, None  # no cycle left behind
        if listening is not None:
            await listening.close()

    # -- pushing ---------------------------------------------------------------------------

    def _offer(self, operation: LiveOperation, channel: str, message: Message | None) -> None:
        """A hub callback: queue the message and make sure a pump runs (never blocks)."""
        if operation.done or self._closed:
            return
        if self._pending is None:
            self._pending = deque()
        if len(self._pending) >= MAX_BEHIND:
            self._pending.clear()
            self.close_soon(CloseCode.TRY_AGAIN_LATER, "too far behind; reconnect to catch up")
            return
        self._pending.append((operation, channel, message))
        if self._pump is None:
            self._pump = asyncio.create_task(self._push_pending())

    async def _push_pending(self) -> None:
        pending = self._pending
        try:
            while pending and not self._closed:
                operation, channel, message = pending.popleft()
                if not operation.done:
                    await self._push(operation, channel, message)
        finally:
            self._pump = None
            if pending is not None and not pending:
                self._pending = None  # an idle socket keeps no queue

    async def _push(self, operation: LiveOperation, channel: str, message: Message | None) -> None:
        with socket_push_span(message):
            await self._push_traced(operation, channel, message)

    async def _push_traced(
        self, operation: LiveOperation, channel: str, message: Message | None
    ) -> None:
        feed, ops = operation.feed, self.edge.operations
        try:
            if message is None:
                payloads = await feed.first()
            else:
                found = await feed.translate(channel, message)
                payloads = [] if found is None else [found]
            for payload in payloads:
                if operation.done or self._closed:
                    return
                body = await ops.run_event(
                    operation.prepared, payload, self.context, operation.variables, operation.name
                )
                if not await self._deliver({"type": "next", "id": operation.id, "payload": body}):
                    return
                await feed.shown(payload)
        except Exception as e:
            # Storage trouble or a bug: the subscriber hears of it, and the feed goes on.
            error = ops.mapped(GraphQLError(str(e), original_error=e, path=[operation.id]))
            body = {"data": None, "errors": [error.formatted]}
            await self._deliver({"type": "next", "id": operation.id, "payload": body})

    async def _deliver(self, message: dict[str, Any]) -> bool:
        """Send a push; False (and the socket counts as closed) if the client is gone."""
        try:
            await self._send(message)
        except (OSError, RuntimeError):  # the server's "disconnected" and "already closed"
            self._closed = True
            return False
        return True

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send({"type": "websocket.send", "text": encode(message)})

    # -- presence and closing --------------------------------------------------------------

    def device_refresh(self) -> DeviceRefresh | None:
        """What the socket's device last said about itself, to keep it present."""
        if self.user_id is None or self.context.socket_device is None:
            return None
        status, view = self.context.socket_presence
        return DeviceRefresh(self.user_id, self.context.socket_device, status, view)

    async def close(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError, RuntimeError):
            await self.send({"type": "websocket.close", "code": int(code), "reason": reason[:120]})

    def close_soon(self, code: int, reason: str) -> None:
        """Close from a callback (not a coroutine)."""
        if not self._closed:
            task = asyncio.create_task(self.close(code, reason))
            self.edge.registry.keep(task)

    async def _end(self) -> None:
        self._closed = True
        await cancel_and_wait(self._pump)
        for operation in list(self._operations.values()):
            if operation is not None:
                await self._stop(operation)
        self._operations.clear()
        self.edge.registry.remove(self)
        device = self.context.socket_device
        if self.user_id is not None and device is not None:
            with contextlib.suppress(Exception):
                await self.context.core.presence.disconnected(self.user_id, device)
