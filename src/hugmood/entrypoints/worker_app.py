"""A worker process's only HTTP: `/healthz` and `/metrics` (for probes and Prometheus), around
the event consumers it runs (`bootstrap.Role.WORKER`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from hugmood import __version__
from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.entrypoints.heap import settle_heap
from hugmood.entrypoints.http.routes import router
from hugmood.observability.metrics import Metrics


def create_worker_app(
    settings: Settings,
    consumers: frozenset[str] | None,
    announce: Callable[[Settings, list[str]], None] | None = None,
) -> FastAPI:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            core = await stack.enter_async_context(open_hugmood(settings, consumers=consumers))
            app.state.core = core
            watched = metrics.watch_services(core.services)
            stack.callback(metrics.registry.unregister, watched)
            if announce is not None:
                announce(settings, [s.name for s in core.services])
            settle_heap()  # a worker is as long-lived as a server
            yield  # until SIGTERM: then each service drains what it holds, in reverse order

    app = FastAPI(
        title="HugMood worker",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.metrics = metrics
    app.include_router(router)
    return app
