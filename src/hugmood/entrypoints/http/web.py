"""The browser app: the built `web/dist` served at `/`, any other page path answered with
`index.html` so the app's own routes (`/history`, `/friends`, …) survive a reload."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

WEB_DIST = Path(__file__).resolve().parents[4] / "web" / "dist"
"""Where `make run` / `make test` build the app (`npm run build` in `web/`)."""

IMMUTABLE = "public, max-age=31536000, immutable"


class WebApp:
    """Static files with an SPA fallback; mounted last, so API paths are never shadowed."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self.index = dist / "index.html"
        self.files = StaticFiles(directory=dist, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "no such endpoint"})
            return
        if scope["type"] != "http":
            return
        response = await self._response(scope)
        await response(scope, receive, send)

    async def _response(self, scope: Scope) -> Response:
        if not self.index.is_file():
            return PlainTextResponse(
                "The web app is not built: run `make run` (or `npm ci && npm run build` in web/).",
                status_code=404,
            )
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("Method Not Allowed", status_code=405)
        path: str = scope["path"]
        try:
            response = await self.files.get_response(path.lstrip("/") or "index.html", scope)
        except HTTPException as e:
            if e.status_code != 404 or path.startswith("/assets/"):
                return PlainTextResponse(str(e.detail), status_code=e.status_code)
            # A page of the app (`/history`): the app itself decides what to show.
            return FileResponse(self.index, headers={"Cache-Control": "no-cache"})
        if path.startswith("/assets/"):
            response.headers["Cache-Control"] = IMMUTABLE  # file names carry a content hash
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response
