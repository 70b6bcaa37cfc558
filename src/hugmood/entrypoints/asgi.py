"""The ASGI application: GraphQL at `/graphql`, health and metrics, hardened middleware."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from hugmood import __version__
from hugmood.application.eventmapping import CommandContext
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.demo import DEMO_USERS, keep_demo_friends_around
from hugmood.demo import seed_demo as seed_demo_data
from hugmood.entrypoints.graphql.context import RequestContext, bearer_token
from hugmood.entrypoints.graphql.endpoint import GraphQLEndpoint
from hugmood.entrypoints.graphql.router import HugMoodGraphQLRouter
from hugmood.entrypoints.graphql.schema import build_schema
from hugmood.entrypoints.http.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    WebSocketOriginMiddleware,
    WebSocketRateLimitMiddleware,
)
from hugmood.entrypoints.http.routes import router as http_router
from hugmood.entrypoints.http.web import WEB_DIST, WebApp
from hugmood.observability.metrics import Metrics
from hugmood.security.ratelimit import SlidingWindowLimiter

Announce = Callable[[Settings, list[str]], None]


def create_app(
    settings: Settings,
    *,
    core: HugMood | None = None,
    seed_demo: bool = False,
    announce: Announce | None = None,
) -> FastAPI:
    """Build the app. With `core` given (tests), the caller owns its lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if core is not None:
            app.state.core = core
            yield
            return
        async with open_hugmood(settings) as opened:
            app.state.core = opened
            logins: list[str] = []
            around: asyncio.Task[None] | None = None
            if seed_demo:
                await seed_demo_data(opened)
                logins = [u.handle for u in DEMO_USERS]
                around = asyncio.create_task(keep_demo_friends_around(opened), name="demo")
            if announce is not None:
                announce(settings, logins)
            # Everything alive now lives as long as the process: keep it out of the cyclic
            # collector's full passes, which otherwise pause requests for tens of ms.
            gc.collect()
            gc.freeze()
            yield
            if around is not None:
                around.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await around

    async def context(connection: HTTPConnection) -> RequestContext:
        """For a request or a WebSocket (whose device and token come in `connection_init`)."""
        headers = connection.headers
        return RequestContext(
            core=connection.app.state.core,
            command=CommandContext(
                correlation_id=connection.scope.get("state", {}).get("request_id") or "",
                device_id=(headers.get("x-hugmood-device") or "")[:100] or None,
                app_version=(headers.get("x-hugmood-app-version") or __version__)[:40],
                traceparent=(headers.get("traceparent") or "")[:100] or None,
                region=settings.region,
            ),
            bearer=bearer_token(headers.get("authorization")),
        )

    app = FastAPI(
        title="HugMood",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if settings.development else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.development else None,
    )
    metrics = Metrics()
    app.state.metrics = metrics
    schema = build_schema(settings)
    app.add_route(
        "/graphql",
        GraphQLEndpoint(schema, context, development=settings.development).handle,
        methods=["POST"],
    )
    graphql = HugMoodGraphQLRouter(
        schema,
        context_getter=context,
        graphql_ide="graphiql" if settings.development else None,
        allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        max_subscriptions_per_connection=settings.ws_max_subscriptions,
        connection_init_wait_timeout=timedelta(seconds=10),
        session_check_s=settings.ws_session_check_s,
    )
    app.include_router(graphql, prefix="/graphql")
    app.include_router(http_router)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": "something went wrong on our side",
                        "extensions": {"code": "INTERNAL"},
                    }
                ]
            },
            status_code=500,
        )

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(
        WebSocketRateLimitMiddleware,
        limiter=SlidingWindowLimiter(
            limit=settings.ws_messages_per_minute, window_s=60, what="socket messages"
        ),
    )
    app.add_middleware(WebSocketOriginMiddleware, allowed=settings.allowed_origins())
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    # The browser app answers every path no route above claims: keep this mount last.
    app.mount("/", WebApp(WEB_DIST), name="web")
    return app
