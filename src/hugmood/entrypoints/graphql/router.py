"""Strawberry's FastAPI router: GraphiQL on GET, subscriptions over `graphql-transport-ws`.

A WebSocket is authenticated in `connection_init` (its payload carries the session token) and
refused before any data otherwise; it closes when its session ends (logout anywhere, expiry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import replace
from typing import Any

from cross_web import HTTPException
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter

from hugmood.domain.errors import Unauthenticated
from hugmood.entrypoints.graphql.context import RequestContext, bearer_token
from hugmood.realtime.hub import PresenceStatus
from hugmood.realtime.relay import session_ended

log = logging.getLogger(__name__)

SESSION_ENDED = 4401


class HugMoodGraphQLRouter(GraphQLRouter[Any, None]):
    def __init__(self, *args: Any, session_check_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session_check_s = session_check_s

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        """Malformed requests (bad JSON, no query, wrong method) get a JSON error too; a
        socket's device leaves presence when the socket ends, however it ends."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as e:
            return JSONResponse(
                {"errors": [{"message": e.reason, "extensions": {"code": "VALIDATION"}}]},
                status_code=e.status_code,
            )
        finally:
            if isinstance(context, RequestContext) and context.socket_device is not None:
                await self._left(context, context.socket_device)

    async def _left(self, context: RequestContext, device: str) -> None:
        if context.background is not None:
            context.background.cancel()
        principal = await context.principal()
        await context.core.presence.disconnected(principal.user_id, device)

    async def on_ws_connect(self, context: RequestContext) -> dict[str, object]:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        token = params.get("authorization") or params.get("token")
        context.bearer = bearer_token(token) if isinstance(token, str) and " " in token else token
        device = params.get("deviceId")
        if isinstance(device, str) and device.strip():
            context.command = replace(context.command, device_id=device.strip()[:100])
        try:
            principal = await context.principal()
        except Unauthenticated as e:
            raise ConnectionRejectionError({"code": e.code, "message": e.message}) from None
        if isinstance(context.request, WebSocket):
            # For the per-user message limit (`WebSocketRateLimitMiddleware`).
            context.request.scope.setdefault("state", {})["user_id"] = principal.user_id
            # One presence device per socket: two tabs of one session are two devices, so
            # closing one leaves the other online.
            device = context.command.device_id or principal.session_id
            context.socket_device = f"{device}#{uuid.uuid4().hex[:8]}"
            await context.core.presence.heartbeat(
                principal.user_id, context.socket_device, PresenceStatus.ONLINE, None
            )
            context.background = asyncio.create_task(
                self._close_when_session_ends(context, context.request),
                name=f"ws-session-{principal.session_id}",
            )
        return {"handle": principal.handle}

    async def _close_when_session_ends(self, context: RequestContext, ws: WebSocket) -> None:
        """Close the socket on logout (announced by the relay from the log, whichever process
        handled it) or, checked every few seconds, on expiry; meanwhile keep it present."""
        principal = await context.principal()
        # Often enough to notice an expired session, and to refresh the socket's device well
        # before its presence would time out.
        period = min(self._session_check_s, context.core.presence.heartbeat_s / 2)
        async with context.core.live.subscribe([session_ended(principal.session_id)]) as ended:
            while ws.application_state is WebSocketState.CONNECTED:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(period):
                        await anext(ended)
                        break
                if not await context.still_signed_in():
                    break
                # An open socket keeps its device present; one whose client vanished is
                # closed by the server's WebSocket pings, and then leaves presence.
                if context.socket_device is not None:
                    status, view = context.socket_presence
                    await context.core.presence.heartbeat(
                        principal.user_id, context.socket_device, status, view
                    )
        if ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):
                await ws.close(SESSION_ENDED, "your session has ended; sign in again")
