"""`/healthz` (is the core up, how far behind are read models) and `/metrics` (Prometheus)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hugmood.bootstrap import HugMood
from hugmood.observability.bus import bus_degraded, bus_health, observe_bus
from hugmood.observability.metrics import Metrics
from hugmood.unavailable import BackendUnavailable

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    core: HugMood = request.app.state.core
    try:
        log_position = await core.store.last_position()
        await core.readmodels.fetchrow("SELECT 1")
        read_position = await core.read_models_position()
    except BackendUnavailable as e:
        return JSONResponse({"status": "unavailable", "reason": str(e)}, status_code=503)
    return JSONResponse(
        {
            # The store is the truth: without the bus, commands are still taken and the
            # consumers follow the store, so a bus that is away only degrades.
            "status": "degraded" if bus_degraded(core) else "ok",
            "role": core.role.value,
            "eventLogPosition": log_position,
            "readModelsPosition": read_position,
            "readModelsLag": max(0, log_position - read_position),
            **bus_health(core, log_position),
        }
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    core: HugMood = request.app.state.core
    registry: Metrics = request.app.state.metrics
    with contextlib.suppress(BackendUnavailable):
        log_position = await core.store.last_position()
        registry.log_position.set(log_position)
        registry.projection_position.set(await core.read_models_position())
        await observe_bus(registry, core, log_position)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
