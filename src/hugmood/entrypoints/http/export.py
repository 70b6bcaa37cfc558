"""`GET /me/export?format=json|csv`: the signed-in person's complete archive, streamed.

Only the session's owner is ever exported: the person is the one the Bearer token names,
and no parameter can name anyone else. The first piece is read before the answer starts,
so a refusal (no session, storage away) is a clear 4xx/503 rather than a cut-off 200; a
fault after that ends the body early, which a client sees as an unterminated document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from hugmood.application.export import EXPORTERS, ExportSources
from hugmood.bootstrap import HugMood
from hugmood.domain.errors import HugMoodError
from hugmood.entrypoints.http.caller import signed_in
from hugmood.entrypoints.http.images import error, refusal
from hugmood.unavailable import BackendUnavailable

router = APIRouter()


def sources_of(core: HugMood) -> ExportSources:
    return ExportSources(
        readmodels=core.readmodels,
        store=core.store,
        blobs=core.deps.blobs,
        boards=core.heavy_reads,
    )


async def _rest(first: bytes, pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for piece in pieces:
        yield piece


@router.get("/me/export")
async def export_me(request: Request) -> Response:
    fmt = request.query_params.get("format", "json").lower()
    if fmt not in EXPORTERS:
        return error(400, "format must be json or csv", "VALIDATION", field="format")
    exporter, media_type = EXPORTERS[fmt]
    core: HugMood = request.app.state.core
    try:
        user_id = await signed_in(core, request)
        pieces = exporter(sources_of(core), user_id)
        first = await anext(pieces)
    except HugMoodError as e:
        return refusal(e)
    except BackendUnavailable:
        return error(
            503,
            "HugMood's storage is unavailable right now; please try again shortly",
            "UNAVAILABLE",
        )
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return StreamingResponse(
        _rest(first, pieces),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="hugmood-export-{day}.{fmt}"',
            # Health data: never kept by a shared cache or the browser's disk cache.
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
