"""`/healthz` (is the core up, how far behind are read models) and `/metrics` (Prometheus)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hugmood.bootstrap import HugMood
from hugmood.observability.metrics import Metrics
from hugmood.unavailable import BackendUnavailable

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    core: HugMood = request.app.state.core
    try:
        log_position = await core.store.last_position()
        await core.readmodels.fetchrow("SELECT 1")
    except BackendUnavailable as e:
        return JSONResponse({"status": "unavailable", "reason": str(e)}, status_code=503)
    read_position = core.projections.position
    return JSONResponse(
        {
            "status": "ok",
            "eventLogPosition": log_position,
            "readModelsPosition": read_position,
            "readModelsLag": max(0, log_position - read_position),
        }
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    core: HugMood = request.app.state.core
    registry: Metrics = request.app.state.metrics
    with contextlib.suppress(BackendUnavailable):
        registry.log_position.set(await core.store.last_position())
    registry.projection_position.set(core.projections.position)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
