"""The ASGI application: GraphQL at `/graphql`, health and metrics, hardened middleware."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.routing import request_response
from starlette.types import Scope

from hugmood import __version__
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.entrypoints.boards_socket import board_socket, federated_board_socket
from hugmood.entrypoints.demo import demo_users, keep_demo_friends_around
from hugmood.entrypoints.demo import seed_demo as seed_demo_data
from hugmood.entrypoints.graphql.context import RequestContext
from hugmood.entrypoints.graphql.endpoint import GraphQLEndpoint
from hugmood.entrypoints.graphql.operations import Operations
from hugmood.entrypoints.graphql.router import HugMoodGraphQLRouter
from hugmood.entrypoints.graphql.schema import build_schema, limit_rules
from hugmood.entrypoints.heap import settle_heap
from hugmood.entrypoints.http.age import MAX_BODY_BYTES as PRIVACY_MAX_BODY
from hugmood.entrypoints.http.age import PrivacyPaths, PrivacyServices, privacy_requests
from hugmood.entrypoints.http.caller import bearer_token, command_context
from hugmood.entrypoints.http.export import router as export_router
from hugmood.entrypoints.http.federation import router as federation_router
from hugmood.entrypoints.http.hotpaths import INTERNAL, HotPaths, own_stack
from hugmood.entrypoints.http.images import BoardImagePaths, board_images
from hugmood.entrypoints.http.middleware import (
    CLIENT_CLOSED_REQUEST,
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    WebSocketOriginMiddleware,
)
from hugmood.entrypoints.http.routes import router as http_router
from hugmood.entrypoints.http.web import WEB_DIST, WebApp
from hugmood.entrypoints.ws.edge import SocketEdge
from hugmood.entrypoints.ws.endpoint import GraphQLSockets
from hugmood.entrypoints.ws.registry import SocketRegistry
from hugmood.observability.error_reports import report_error
from hugmood.observability.metrics import Metrics
from hugmood.security.ratelimit import SlidingWindowLimiter
from hugmood.tasks import cancel_and_wait

Announce = Callable[[Settings, list[str]], None]


def context_factory(settings: Settings) -> Callable[[Scope], RequestContext]:
    """What a request or a socket (whose device and token come in `connection_init`) runs
    its operations with."""

    def context_for(scope: Scope) -> RequestContext:
        return RequestContext(
            core=scope["app"].state.core,
            command=command_context(scope, region=settings.region),
            bearer=bearer_token(Headers(scope=scope).get("authorization")),
        )

    return context_for


@dataclass(frozen=True, slots=True)
class Edge:
    """What the app's lifespan wires in front of the core: operations, limits, metrics."""

    settings: Settings
    operations: Operations
    socket_messages: SlidingWindowLimiter
    metrics: Metrics


OpenCore = Callable[[], AbstractAsyncContextManager[HugMood]]
"""How an app opens its core when it owns it (default: `open_hugmood(settings)`)."""


def lifespan_for(
    edge: Edge,
    *,
    core: HugMood | None,
    seed_demo: bool,
    announce: Announce | None,
    open_core: OpenCore | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Open the core (unless a test gave one), the privacy services and the socket registry;
    seed the demo; announce; then freeze the heap of a long-lived process."""
    settings = edge.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            running = core
            logins: list[str] = []
            if running is None:
                opened = open_core() if open_core is not None else open_hugmood(settings)
                running = await stack.enter_async_context(opened)
                if seed_demo:
                    await seed_demo_data(running)
                    logins = [u.handle for u in demo_users(running)]
                    around = asyncio.create_task(keep_demo_friends_around(running), name="demo")
                    stack.push_async_callback(cancel_and_wait, around)
            app.state.core = running
            app.state.age = await stack.enter_async_context(PrivacyServices(settings))
            registry = SocketRegistry(
                running,
                period_s=min(settings.ws_session_check_s, settings.presence_heartbeat_s / 2),
            )
            await stack.enter_async_context(registry)
            watched = edge.metrics.watch_services([*running.services, registry])
            stack.callback(edge.metrics.registry.unregister, watched)
            app.state.sockets = SocketEdge(
                operations=edge.operations,
                registry=registry,
                limiter=edge.socket_messages,
                max_operations=settings.ws_max_subscriptions,
                init_timeout_s=settings.ws_init_timeout_s,
            )
            if announce is not None:
                announce(settings, logins)
            if core is None:
                settle_heap()
            yield

    return lifespan


def create_app(
    settings: Settings,
    *,
    core: HugMood | None = None,
    seed_demo: bool = False,
    announce: Announce | None = None,
    open_core: OpenCore | None = None,
) -> FastAPI:
    """Build the app. With `core` given (tests), the caller owns its lifetime; else it is
    opened with the app (by `open_core`, when given: a region hosted with others)."""
    context_for = context_factory(settings)

    async def context(connection: HTTPConnection) -> RequestContext:
        return context_for(connection.scope)

    metrics = Metrics()
    schema = build_schema(settings)
    operations = Operations(
        schema,
        limit_rules(settings),
        max_tokens=settings.graphql_max_tokens,
        max_seconds=settings.graphql_max_seconds,
        development=settings.development,
        # An edge keeps taking check-ins and hugs while its region is away (`hugmood.edge`).
        read_only_when_away=settings.role == "edge",
    )
    socket_messages = SlidingWindowLimiter(
        limit=settings.ws_messages_per_minute, window_s=60, what="socket messages"
    )
    edge = Edge(settings, operations, socket_messages, metrics)
    app = FastAPI(
        title="HugMood",
        version=__version__,
        lifespan=lifespan_for(
            edge, core=core, seed_demo=seed_demo, announce=announce, open_core=open_core
        ),
        docs_url="/docs" if settings.development else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.development else None,
    )
    app.state.metrics = metrics
    graphql = HugMoodGraphQLRouter(
        schema,
        context_getter=context,
        graphql_ide="graphiql" if settings.development else None,
        allow_queries_via_get=False,
        subscription_protocols=(),
    )
    app.include_router(graphql, prefix="/graphql")
    app.include_router(http_router)
    app.include_router(export_router)
    app.include_router(federation_router)
    # Yjs (y-websocket) sockets of shared boards; see `entrypoints.boards_socket`.
    app.add_api_websocket_route("/boards/{board_id}/ws", board_socket)
    # The same, for a member of another region that their region links here.
    app.add_api_websocket_route("/federation/boards/{board_id}/ws", federated_board_socket)

    @app.exception_handler(ClientDisconnect)
    async def client_left(request: Request, exc: ClientDisconnect) -> Response:
        # Not a bug: the client went away mid-body. Nobody reads this answer; the access
        # log and metrics record the request as 499 (`RequestContextMiddleware`).
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        report_error(exc)
        return JSONResponse(INTERNAL, status_code=500)

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(WebSocketOriginMiddleware, allowed=settings.allowed_origins())
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    # Outermost: queries, mutations and sockets skip the stack above (`http.hotpaths`).
    endpoint = GraphQLEndpoint(operations, context)
    app.add_middleware(
        HotPaths,
        path="/graphql",
        http=own_stack(
            request_response(endpoint.handle),
            metrics=metrics,
            max_bytes=settings.max_request_bytes,
        ),
        socket=GraphQLSockets(allowed_origins=settings.allowed_origins(), context_for=context_for),
    )
    # Board images take their own stack: the same middleware, with the image size limit
    # in place of the GraphQL-sized one (`http.images`).
    app.add_middleware(
        BoardImagePaths,
        images=own_stack(
            request_response(board_images),
            metrics=metrics,
            max_bytes=settings.board_image_max_bytes,
            what="the image",
        ),
    )
    # The privacy paths (age proofs are ~480 KB in base64) take their own stack too.
    app.add_middleware(
        PrivacyPaths,
        privacy=own_stack(
            request_response(privacy_requests), metrics=metrics, max_bytes=PRIVACY_MAX_BODY
        ),
    )
    # The browser app answers every path no route above claims: keep this mount last.
    app.mount("/", WebApp(WEB_DIST), name="web")
    return app
