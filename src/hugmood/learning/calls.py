"""The coordinator's device calls as data (a name, the person, the device and a JSON body),
answered the same way whether the HTTP path reaches the coordinator in its own process or
over NATS from another process (`learning.remote`)."""

from __future__ import annotations

from typing import Any, Protocol

from hugmood.domain.errors import ValidationFailed
from hugmood.learning import model
from hugmood.learning.aggregation import UpdateRejected
from hugmood.learning.secure_round import (
    KEY_BYTES,
    b64,
    parse_bundles,
    parse_report,
    parse_shares,
    unb64,
    words_from,
)
from hugmood.learning.service import FederatedLearning

Body = dict[str, Any]
MAX_UPDATE_ID = 100
MAX_DEVICE = 100
CREATES = frozenset({"register", "join", "shares", "masked", "reveal", "evaluation"})
"""Calls that add something (answered 201 over HTTP)."""


class Coordinator(Protocol):
    """Where device calls go: the coordinator here, or the one that runs elsewhere."""

    async def call(self, name: str, person: str, device: str | None, body: Body) -> Body: ...


def _device(device: str | None) -> str:
    if not device or len(device) > MAX_DEVICE:
        raise ValidationFailed("name the device in the X-HugMood-Device header", field="device")
    return device


async def dispatch(
    service: FederatedLearning, name: str, person: str, device: str | None, body: Body
) -> Body:
    """Answer one device call with the coordinator `service` (raises `UpdateRejected`,
    `ValidationFailed` or `LearningUnavailable`)."""
    match name:
        case "status":
            return await service.status(person, device)
        case "model":
            version, weights = await service.model()
            return {"version": version.number, "epsilon": version.epsilon, "weights": b64(weights)}
        case "consent":
            consent = body.get("consent")
            if not isinstance(consent, bool):
                raise ValidationFailed(
                    'send {"consent": true} or {"consent": false}', field="consent"
                )
            await service.set_consent(person, consent)
            return {"consent": consent}
        case "register":
            if body.get("parameters") != model.PARAMETERS:
                raise UpdateRejected(
                    "INCOMPATIBLE", f"this server trains a model of {model.PARAMETERS} parameters"
                )
            await service.register(person, _device(device), model.PARAMETERS)
            return {"registered": True}
        case "join":
            keys = (
                unb64(body.get("publicKey"), "publicKey", size=KEY_BYTES),
                unb64(body.get("transportKey"), "transportKey", size=KEY_BYTES),
            )
            await service.join(
                person, _device(device), body.get("round"), body.get("version"), keys
            )
            return {"joined": True}
        case "shares":
            bundles = parse_bundles(body.get("bundles"))
            await service.share(person, _device(device), body.get("round"), bundles)
            return {"accepted": True}
        case "masked":
            update_id = body.get("updateId")
            if not isinstance(update_id, str) or not 0 < len(update_id) <= MAX_UPDATE_ID:
                raise UpdateRejected("BAD_SHAPE", f"updateId must be text of 1 to {MAX_UPDATE_ID}")
            words = words_from(body.get("masked"), model.PARAMETERS + 1)
            await service.mask(
                person, _device(device), body.get("round"), body.get("version"), update_id, words
            )
            return {"accepted": True}
        case "reveal":
            shares = parse_shares(body.get("shares"))
            await service.reveal(person, _device(device), body.get("round"), shares)
            return {"accepted": True}
        case "evaluation":
            report = parse_report(body)
            await service.evaluation(person, _device(device), body.get("round"), report)
            return {"accepted": True}
    raise ValidationFailed(f"no learning call named {name!r}")


class LocalCoordinator:
    """Calls answered by the coordinator in this process."""

    def __init__(self, service: FederatedLearning) -> None:
        self.service = service

    async def call(self, name: str, person: str, device: str | None, body: Body) -> Body:
        return await dispatch(self.service, name, person, device, body)
