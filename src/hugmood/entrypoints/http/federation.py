"""`POST /federation`: another region's call (friends across a border), when regions are
deployments of their own. Only a call signed with the key the regions share
(`HUGMOOD_FEDERATION_KEY`) and less than a minute old is heard; without the key the route
does not exist (404), and a person's session token opens nothing here."""

from __future__ import annotations

import logging

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from hugmood.bootstrap import HugMood
from hugmood.regions.signatures import SIGNATURE_HEADER, verify

router = APIRouter()
log = logging.getLogger(__name__)

MAX_BODY = 1 << 20


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.post("/federation", include_in_schema=False)
async def federation_call(request: Request) -> Response:
    core: HugMood = request.app.state.core
    key = core.settings.federation_key
    if not key or core.federation is None:
        return _json({"detail": "Not Found"}, 404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return _json({"error": {"code": "VALIDATION", "message": "call too large"}}, 413)
    try:
        caller = verify(key, request.headers.get(SIGNATURE_HEADER), body)
    except ValueError as e:
        log.warning("refused a federation call: %s", e)
        return _json({"error": {"code": "UNAUTHENTICATED", "message": str(e)}}, 401)
    try:
        call = orjson.loads(body)
        op, payload = call["op"], call["payload"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _json({"error": {"code": "VALIDATION", "message": "malformed call"}}, 400)
    if not isinstance(op, str) or caller == core.settings.region:
        return _json({"error": {"code": "VALIDATION", "message": "malformed call"}}, 400)
    return _json(await core.federation(op, payload, caller))
