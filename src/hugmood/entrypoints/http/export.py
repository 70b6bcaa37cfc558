"""`GET /me/export?format=json|csv`: the signed-in person's complete archive, streamed.

Only the session's owner is ever exported: the person is the one the Bearer token names,
and no parameter can name anyone else. The first piece is read before the answer starts,
so a refusal (no session, storage away) is a clear 4xx/503 rather than a cut-off 200; a
fault after that ends the body early, which a client sees as an unterminated document.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from hugmood.application.export import EXPORTERS, ExportSources
from hugmood.bootstrap import HugMood
from hugmood.domain.errors import HugMoodError, RateLimited
from hugmood.entrypoints.http.caller import signed_in
from hugmood.entrypoints.http.images import error, refusal
from hugmood.unavailable import BackendUnavailable

router = APIRouter()
RETRY_AFTER_S = 5.0


HELD_AT_MOST_S = 600.0
"""A download that never told its end (its generator not yet finalised) frees its place."""


class ExportsRunning:
    """One export at a time per person in this process: each reads their whole history, so
    a second one started before the first ends is refused (`RATE_LIMITED`), not queued."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._started: dict[str, float] = {}
        self._clock = clock

    def start(self, user_id: str) -> None:
        now = self._clock()
        since = self._started.get(user_id)
        if since is not None and now - since < HELD_AT_MOST_S:
            raise RateLimited(
                "an export of yours is already being downloaded; wait until it finishes",
                retry_after_s=RETRY_AFTER_S,
            )
        self._started[user_id] = now

    def end(self, user_id: str) -> None:
        self._started.pop(user_id, None)


def _running(request: Request) -> ExportsRunning:
    state = request.app.state
    running: ExportsRunning | None = getattr(state, "exports_running", None)
    if running is None:  # one event loop a process: no other request can interleave here
        running = state.exports_running = ExportsRunning()
    return running


def sources_of(core: HugMood) -> ExportSources:
    return ExportSources(
        readmodels=core.readmodels,
        store=core.store,
        blobs=core.deps.blobs,
        boards=core.heavy_reads,
    )


async def _rest(
    first: bytes, pieces: AsyncIterator[bytes], done: Callable[[], None]
) -> AsyncIterator[bytes]:
    try:
        yield first
        async for piece in pieces:
            yield piece
    finally:
        done()


@router.get("/me/export")
async def export_me(request: Request) -> Response:
    fmt = request.query_params.get("format", "json").lower()
    if fmt not in EXPORTERS:
        return error(400, "format must be json or csv", "VALIDATION", field="format")
    exporter, media_type = EXPORTERS[fmt]
    core: HugMood = request.app.state.core
    running = _running(request)
    try:
        user_id = await signed_in(core, request)
        running.start(user_id)
    except HugMoodError as e:
        return refusal(e)
    try:
        pieces = exporter(sources_of(core), user_id)
        first = await anext(pieces)
    except HugMoodError as e:
        running.end(user_id)
        return refusal(e)
    except BackendUnavailable:
        running.end(user_id)
        return error(
            503,
            "HugMood's storage is unavailable right now; please try again shortly",
            "UNAVAILABLE",
        )
    except BaseException:
        running.end(user_id)
        raise
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return StreamingResponse(
        _rest(first, pieces, lambda: running.end(user_id)),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="hugmood-export-{day}.{fmt}"',
            # Health data: never kept by a shared cache or the browser's disk cache.
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
