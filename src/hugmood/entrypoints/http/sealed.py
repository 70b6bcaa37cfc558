"""Sealed mode over HTTP (under `/privacy/`, see `http.age`): `PUT /privacy/sealed/key`,
`POST /privacy/sealed/entries`, `GET /privacy/sealed/history?from&to&aggregation&timeZone`.
Ciphertexts are ~1 KB in base64; the history answer carries the packed sums for the device
to decrypt."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hugmood.application.queries.moods import time_zone
from hugmood.bootstrap import HugMood
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.history import Aggregation
from hugmood.entrypoints.http.caller import command_context
from hugmood.privacy.he.checkins import record_sealed, register_key, sealed_history

if TYPE_CHECKING:
    from hugmood.entrypoints.http.age import PrivacyServices


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ValidationFailed("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    return body


def _moment(value: Any, field: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} must be an ISO-8601 date-time", field=field) from None


async def put_key(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    body = await _body(request)
    key_id = await register_key(
        core.deps,
        command_context(request.scope, region=core.settings.region),
        user_id=user_id,
        public_key=body.get("publicKey"),
    )
    return _json({"keyId": key_id})


async def post_entry(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    body = await _body(request)
    stored = await record_sealed(
        core.deps,
        command_context(request.scope, region=core.settings.region),
        user_id=user_id,
        entry_id=str(body.get("id", "")),
        ciphertext=body.get("ciphertext"),
        recorded_at=_moment(body.get("recordedAt"), "recordedAt"),
    )
    return _json({"id": body.get("id"), "stored": stored}, 201 if stored else 200)


async def get_history(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    query = request.query_params
    try:
        aggregation = Aggregation(query.get("aggregation", "day").lower())
    except ValueError:
        raise ValidationFailed(
            "aggregation must be day, week or month", field="aggregation"
        ) from None
    history = await sealed_history(
        core.deps,
        await services.compute(),
        user_id=user_id,
        start=_moment(query.get("from"), "from"),
        end=_moment(query.get("to"), "to"),
        aggregation=aggregation,
        zone=time_zone(query.get("timeZone", "UTC")),
    )
    size = (max(history.packed, default=1).bit_length() + 7) // 8
    return _json(
        {
            "keyId": history.key_id,
            "starts": [s.isoformat() for s in history.starts],
            "perCiphertext": history.per_ciphertext,
            "ciphertexts": [
                base64.b64encode(c.to_bytes(max(size, (c.bit_length() + 7) // 8), "big")).decode()
                for c in history.packed
            ],
        }
    )
