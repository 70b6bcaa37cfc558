"""Federated learning over HTTP (under `/privacy/`, see `http.age`), for signed-in devices
(`X-HugMood-Device` names the device): the status and the current model, the person's
consent, a device's registration, and the four steps of a secure-aggregation round (join
with keys, sealed shares, the masked update, the revealed shares). Refusals carry the
coordinator's codes (`STALE_VERSION`, `BAD_SHAPE`, `NO_CONSENT`, `REPLAYED` …)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hugmood.bootstrap import HugMood
from hugmood.domain.errors import ValidationFailed
from hugmood.learning import model
from hugmood.learning.aggregation import UpdateRejected
from hugmood.learning.secure_round import (
    KEY_BYTES,
    b64,
    parse_bundles,
    parse_shares,
    unb64,
    words_from,
)
from hugmood.learning.service import FederatedLearning, LearningUnavailable

if TYPE_CHECKING:
    from hugmood.entrypoints.http.age import PrivacyServices

PREFIX = "/privacy/learning"
MAX_UPDATE_ID = 100
_FORBIDDEN = {"NO_CONSENT", "NOT_REGISTERED", "NOT_A_PARTICIPANT"}
_CONFLICT = {"STALE_VERSION", "NO_OPEN_ROUND", "WRONG_PHASE", "ALREADY_SENT", "REPLAYED"}


def status_of(e: UpdateRejected) -> int:
    """403 for who may not, 409 for what is no longer (or not yet) possible, else 400."""
    return 403 if e.code in _FORBIDDEN else 409 if e.code in _CONFLICT else 400


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def _coordinator(core: HugMood) -> FederatedLearning:
    found = next((s for s in core.services if isinstance(s, FederatedLearning)), None)
    if found is None or not found.running:
        raise LearningUnavailable("federated learning does not run in this server process")
    return found


def _device(request: Request) -> str:
    device = (request.headers.get("x-hugmood-device") or "").strip()
    if not device or len(device) > 100:
        raise ValidationFailed("name the device in the X-HugMood-Device header", field="device")
    return device


async def _body(request: Request) -> dict[str, Any]:
    data = bytearray()
    async for chunk in request.stream():  # bounded by `BodySizeLimitMiddleware`
        data += chunk
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ValidationFailed("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    return body


async def get_status(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    device = (request.headers.get("x-hugmood-device") or "").strip()[:100] or None
    return _json(await _coordinator(core).status(user_id, device))


async def get_model(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    version, weights = await _coordinator(core).model()
    return _json({"version": version.number, "epsilon": version.epsilon, "weights": b64(weights)})


async def put_consent(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    consent = (await _body(request)).get("consent")
    if not isinstance(consent, bool):
        raise ValidationFailed('send {"consent": true} or {"consent": false}', field="consent")
    await _coordinator(core).set_consent(user_id, consent)
    return _json({"consent": consent})


async def post_register(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    body = await _body(request)
    parameters = body.get("parameters")
    if parameters != model.PARAMETERS:
        raise UpdateRejected(
            "INCOMPATIBLE", f"this server trains a model of {model.PARAMETERS} parameters"
        )
    await _coordinator(core).register(user_id, _device(request), parameters)
    return _json({"registered": True}, 201)


async def post_join(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    body = await _body(request)
    keys = (
        unb64(body.get("publicKey"), "publicKey", size=KEY_BYTES),
        unb64(body.get("transportKey"), "transportKey", size=KEY_BYTES),
    )
    await _coordinator(core).join(
        user_id, _device(request), body.get("round"), body.get("version"), keys
    )
    return _json({"joined": True}, 201)


async def post_shares(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    body = await _body(request)
    bundles = parse_bundles(body.get("bundles"))
    await _coordinator(core).share(user_id, _device(request), body.get("round"), bundles)
    return _json({"accepted": True}, 201)


async def post_masked(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    body = await _body(request)
    update_id = body.get("updateId")
    if not isinstance(update_id, str) or not 0 < len(update_id) <= MAX_UPDATE_ID:
        raise UpdateRejected("BAD_SHAPE", f"updateId must be text of 1 to {MAX_UPDATE_ID}")
    words = words_from(body.get("masked"), model.PARAMETERS + 1)
    await _coordinator(core).mask(
        user_id, _device(request), body.get("round"), body.get("version"), update_id, words
    )
    return _json({"accepted": True}, 201)


async def post_reveal(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    body = await _body(request)
    shares = parse_shares(body.get("shares"))
    await _coordinator(core).reveal(user_id, _device(request), body.get("round"), shares)
    return _json({"accepted": True}, 201)


ROUTES = {
    ("GET", PREFIX): get_status,
    ("GET", f"{PREFIX}/model"): get_model,
    ("PUT", f"{PREFIX}/consent"): put_consent,
    ("POST", f"{PREFIX}/devices"): post_register,
    ("POST", f"{PREFIX}/round/join"): post_join,
    ("POST", f"{PREFIX}/round/shares"): post_shares,
    ("POST", f"{PREFIX}/round/masked"): post_masked,
    ("POST", f"{PREFIX}/round/reveal"): post_reveal,
}
