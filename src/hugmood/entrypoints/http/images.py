"""Board images over plain HTTP: `POST /boards/{id}/images` stores one, `GET
/boards/{id}/images/{blobId}` serves it, with the session token as `Authorization: Bearer`.

Photos on check-ins (`entrypoints/http/mood_photos.py`) share this stack and its limit.

These paths are dispatched ahead of the app's general stack, as `/graphql` is in `hotpaths`:
that stack refuses bodies over `HUGMOOD_MAX_REQUEST_BYTES` (100 kB, sized for GraphQL), and
an image may be up to `HUGMOOD_BOARD_IMAGE_MAX_BYTES`. The same `BodySizeLimitMiddleware`
guards them with that limit instead (`asgi.create_app`): a declared Content-Length over it
is refused before anything is read, and a body sent in chunks is cut off the moment it
passes it, so no more than the limit is ever buffered.
"""

from __future__ import annotations

import re

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hugmood.application.handlers.board_images import check_upload, read_image
from hugmood.bootstrap import HugMood
from hugmood.domain.board_images import UnsupportedImage, UploadBoardImage, parse_blob_id
from hugmood.domain.errors import (
    Conflict,
    Forbidden,
    HugMoodError,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from hugmood.entrypoints.http import mood_photos
from hugmood.entrypoints.http.caller import command_context, signed_in
from hugmood.eventstore.store import ConcurrencyError
from hugmood.unavailable import BackendUnavailable

PATH = re.compile(r"^/boards/([^/]+)/images(?:/([^/]+))?$")

IMMUTABLE = "private, max-age=31536000, immutable"
"""A blob id names its content: a member's browser may keep it for good, no shared cache."""

_STATUS: tuple[tuple[type[HugMoodError], int], ...] = (
    (Unauthenticated, 401),
    (NotFound, 404),
    (Forbidden, 403),
    (UnsupportedImage, 415),
    (Conflict, 409),
    (RateLimited, 429),
)


def error(
    status: int, message: str, code: str, *, field: str | None = None, rule: str | None = None
) -> Response:
    extensions: dict[str, str] = {"code": code}
    if field:
        extensions["field"] = field
    if rule:
        extensions["rule"] = rule
    body = {"errors": [{"message": message, "extensions": extensions}]}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def refusal(e: HugMoodError) -> Response:
    status = next((s for kind, s in _STATUS if isinstance(e, kind)), 400)
    return error(status, e.message, e.code, field=e.field, rule=e.rule)


class BoardImagePaths:
    """Sends the image paths to their own stack (`images`); everything else to `app`."""

    def __init__(self, app: ASGIApp, *, images: ASGIApp) -> None:
        self.app = app
        self.images = images

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (PATH.match(path) or mood_photos.PATH.match(path)):
            await self.images(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def board_images(request: Request) -> Response:
    """`POST /boards/<id>/images` and `GET /boards/<id>/images/<blobId>`; and the photos on
    check-ins (`mood_photos`)."""
    matched = PATH.match(request.url.path)
    if matched is None:
        methods = mood_photos.allowed_methods(request.url.path)
        board_id, blob_id = "", None
    else:
        board_id, blob_id = matched.groups()
        methods = ("POST",) if blob_id is None else ("GET",)
    if request.method not in methods:
        response = error(405, f"use {' or '.join(methods)} on this path", "VALIDATION")
        response.headers["Allow"] = ", ".join(methods)
        return response
    core: HugMood = request.app.state.core
    try:
        if matched is None:
            return await mood_photos.mood_photo(core, request)
        user_id = await signed_in(core, request)
        if blob_id is None:
            return await _upload(core, request, board_id, user_id)
        return await _download(core, request, board_id, parse_blob_id(blob_id), user_id)
    except HugMoodError as e:
        return refusal(e)
    except ConcurrencyError:
        return error(409, "the board changed meanwhile; send the image again", "CONFLICT")
    except BackendUnavailable:
        return error(
            503,
            "HugMood's storage is unavailable right now; please try again shortly",
            "UNAVAILABLE",
        )


async def _upload(core: HugMood, request: Request, board_id: str, user_id: str) -> Response:
    # Refuse strangers, viewers and archived boards before reading a byte of the body.
    board_id = await check_upload(core.deps, board_id, user_id)
    data = bytearray()
    async for chunk in request.stream():  # bounded by `BodySizeLimitMiddleware`
        data += chunk
    command = UploadBoardImage(board_id, user_id, bytes(data), request.headers.get("content-type"))
    image = (
        await core.bus.handle(command, command_context(request.scope, region=core.settings.region))
    ).value
    body = {"blobId": image.blob_id, "contentType": image.content_type, "bytes": image.bytes}
    return Response(
        orjson.dumps(body),
        201,
        {"Location": f"/boards/{board_id}/images/{image.blob_id}"},
        media_type="application/json",
    )


async def _download(
    core: HugMood, request: Request, board_id: str, blob_id: str, user_id: str
) -> Response:
    image, data = await read_image(core.deps, board_id=board_id, user_id=user_id, blob_id=blob_id)
    etag = f'"{image.blob_id}"'
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(data, 200, headers, media_type=image.content_type)
