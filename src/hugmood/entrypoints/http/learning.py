"""Federated learning over HTTP (under `/privacy/`, see `http.age`), for signed-in devices
(`X-HugMood-Device` names the device): the status and the current model, the person's
consent, a device's registration, and the four steps of a secure-aggregation round (join
with keys, sealed shares, the masked update, the revealed shares). Answered by the
coordinator in this process when it is the active one, else forwarded to it over NATS
(`learning.remote`). Refusals carry the coordinator's codes (`STALE_VERSION`, `BAD_SHAPE`,
`NO_CONSENT`, `REPLAYED` …)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hugmood.bootstrap import HugMood
from hugmood.domain.errors import ValidationFailed
from hugmood.learning.aggregation import UpdateRejected
from hugmood.learning.calls import CREATES, Coordinator, LocalCoordinator
from hugmood.learning.remote import RemoteCoordinator
from hugmood.learning.service import FederatedLearning, LearningUnavailable

if TYPE_CHECKING:
    from hugmood.entrypoints.http.age import PrivacyServices

PREFIX = "/privacy/learning"
_FORBIDDEN = {"NO_CONSENT", "NOT_REGISTERED", "NOT_A_PARTICIPANT"}
_CONFLICT = {
    "STALE_VERSION",
    "NO_OPEN_ROUND",
    "WRONG_PHASE",
    "ALREADY_SENT",
    "REPLAYED",
    "TOO_MANY_DEVICES",
}


def status_of(e: UpdateRejected) -> int:
    """403 for who may not, 409 for what is no longer (or not yet) possible, else 400."""
    return 403 if e.code in _FORBIDDEN else 409 if e.code in _CONFLICT else 400


def _coordinator(core: HugMood) -> Coordinator:
    local = next((s for s in core.services if isinstance(s, FederatedLearning)), None)
    if local is not None and local.running and local.active:
        return LocalCoordinator(local)
    remote = next((s for s in core.services if isinstance(s, RemoteCoordinator)), None)
    if remote is not None:
        return remote
    raise LearningUnavailable("federated learning does not run on this server")


async def _body(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return {}
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


def _path(name: str) -> Callable[..., Awaitable[Response]]:
    async def handle(
        core: HugMood, services: PrivacyServices, request: Request, user_id: str
    ) -> Response:
        device = (request.headers.get("x-hugmood-device") or "").strip() or None
        body = await _body(request)
        result = await _coordinator(core).call(name, user_id, device, body)
        return Response(
            orjson.dumps(result), 201 if name in CREATES else 200, media_type="application/json"
        )

    return handle


ROUTES = {
    ("GET", PREFIX): _path("status"),
    ("GET", f"{PREFIX}/model"): _path("model"),
    ("PUT", f"{PREFIX}/consent"): _path("consent"),
    ("POST", f"{PREFIX}/devices"): _path("register"),
    ("POST", f"{PREFIX}/round/join"): _path("join"),
    ("POST", f"{PREFIX}/round/shares"): _path("shares"),
    ("POST", f"{PREFIX}/round/masked"): _path("masked"),
    ("POST", f"{PREFIX}/round/reveal"): _path("reveal"),
    ("POST", f"{PREFIX}/round/evaluation"): _path("evaluation"),
}
