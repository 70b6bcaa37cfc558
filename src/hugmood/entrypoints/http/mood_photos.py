"""Photos on check-ins over plain HTTP, beside board images (and under the same body limit,
`HUGMOOD_BOARD_IMAGE_MAX_BYTES`): `POST /moods/{id}/photo` adds or replaces the photo (the
owner), `DELETE /moods/{id}/photo` takes it off, `GET /moods/{id}/photos/{blobId}` serves it
to whoever may see the check-in. `Authorization: Bearer` as everywhere."""

from __future__ import annotations

import re

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hugmood.application.handlers.mood_photos import check_attach, read_mood_photo
from hugmood.bootstrap import HugMood
from hugmood.domain.board_images import parse_blob_id
from hugmood.domain.mood_photos import AttachMoodPhoto, RemoveMoodPhoto
from hugmood.entrypoints.http.caller import command_context, signed_in

PATH = re.compile(r"^/moods/([^/]+)/(?:photo|photos/([^/]+))$")

IMMUTABLE = "private, max-age=31536000, immutable"


def photo_url(entry_id: str, blob_id: str) -> str:
    """Where a photo is fetched: its blob id in the path, so a new photo is a new address."""
    return f"/moods/{entry_id}/photos/{blob_id}"


def allowed_methods(path: str) -> tuple[str, ...]:
    matched = PATH.match(path)
    assert matched is not None
    return ("GET",) if matched.group(2) is not None else ("POST", "DELETE")


async def mood_photo(core: HugMood, request: Request) -> Response:
    """The three paths; refusals are raised as `HugMoodError` for the caller to answer."""
    matched = PATH.match(request.url.path)
    assert matched is not None  # the dispatcher sends only these paths here
    entry_id, blob_id = matched.groups()
    user_id = await signed_in(core, request)
    context = command_context(request.scope, region=core.settings.region)
    if blob_id is not None:
        content_type, data = await read_mood_photo(
            core.deps, entry_id=entry_id, viewer_id=user_id, blob_id=parse_blob_id(blob_id)
        )
        headers = {
            "ETag": f'"{blob_id}"',
            "Cache-Control": IMMUTABLE,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        }
        if f'"{blob_id}"' in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(data, 200, headers, media_type=content_type)
    if request.method == "DELETE":
        await core.bus.handle(RemoveMoodPhoto(entry_id, user_id), context)
        return Response(status_code=204)
    # Refuse anyone but the owner before reading a byte of the body.
    entry_id = await check_attach(core.deps, entry_id, user_id)
    received = bytearray()
    async for chunk in request.stream():  # bounded by `BodySizeLimitMiddleware`
        received += chunk
    command = AttachMoodPhoto(
        entry_id, user_id, bytes(received), request.headers.get("content-type")
    )
    image = (await core.bus.handle(command, context)).value
    url = photo_url(entry_id, image.blob_id)
    body = {"blobId": image.blob_id, "contentType": image.content_type, "bytes": image.bytes}
    return Response(
        orjson.dumps({**body, "url": url}), 201, {"Location": url}, media_type="application/json"
    )
