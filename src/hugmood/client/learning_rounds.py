"""This device's part in federated learning, only with its person's consent: the consent
itself (kept on the server and remembered in the vault, so a device that was never told yes
sends nothing), the global model, and one secure-aggregation round. What leaves the device
is a clipped update, weighted by its check-ins (at most 50), masked so that the coordinator
learns only the sum of everyone's."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from hugmood.client.age import answer
from hugmood.client.device import Device
from hugmood.client.errors import ApiError, Offline
from hugmood.client.learning import (
    GLOBAL_MODEL,
    MIN_CHECK_INS,
    NotEnoughCheckIns,
    examples_of,
)
from hugmood.client.learning import global_model as held_model
from hugmood.learning import model, secagg
from hugmood.learning.privacy import GaussianAggregate
from hugmood.learning.secure_round import context

CONSENT = "learning.consent"
"""The vault's memory of the person's answer ("on"/"off"); absent: never asked, nothing sent."""
POLL_S = 0.5
"""How often a device waiting for a round's next step asks (each phase lasts minutes)."""
RETRY = frozenset({"left-out", "too-few-updates", "abandoned", "unmasking-failed"})
"""Outcomes after which a device still waiting tries the next round."""
LOCAL_EPOCHS = 2


@dataclass(frozen=True, slots=True)
class RoundReport:
    round: int | None
    """The round this device took part in (None: it took part in none)."""
    outcome: str
    """How the round ended (`published`, `not-improved` …) or why the device sent nothing."""
    version: int
    """The global version the device holds afterwards."""


def consented(device: Device) -> bool:
    return device.vault.setting(CONSENT) == "on"


def _http(device: Device) -> httpx.Client:
    if device.server_url is None or device.token is None:
        raise ApiError("UNAUTHENTICATED", "log in first (hugmood login)")
    return httpx.Client(
        base_url=device.server_url.rstrip("/") + "/privacy/learning",
        headers={"authorization": f"Bearer {device.token}", "x-hugmood-device": device.device_id},
        timeout=30,
    )


def _call(device: Device, act: Callable[[httpx.Client], Any]) -> Any:
    try:
        with _http(device) as http:
            return act(http)
    except httpx.TransportError as e:
        raise Offline(f"cannot reach {device.server_url}: {e}") from e


def status(device: Device) -> dict[str, Any]:
    """The coordinator's status as this device's person sees it."""
    found: dict[str, Any] = _call(device, lambda http: answer(http.get("")))
    return found


def set_consent(device: Device, on: bool) -> None:
    """Tell the server (and remember here); with consent, register this device. Withdrawing
    stops this device at once: it sends nothing more."""
    if not on:
        device.vault.set_settings({CONSENT: "off"})

    def act(http: httpx.Client) -> None:
        answer(http.put("/consent", json={"consent": on}))
        if on:
            answer(http.post("/devices", json={"parameters": model.PARAMETERS}))

    _call(device, act)
    if on:
        device.vault.set_settings({CONSENT: "on"})


def global_model(device: Device) -> tuple[int, model.Vector] | None:
    return held_model(device.vault)


def fetch_model(device: Device) -> tuple[int, model.Vector]:
    """Fetch the current global version and keep it in the vault."""
    body = _call(device, lambda http: answer(http.get("/model")))
    theta = np.frombuffer(base64.b64decode(body["weights"]), dtype="<f8").astype(np.float64)
    if theta.shape != (model.PARAMETERS,):
        raise ApiError("INCOMPATIBLE", "the server's model has another shape than this device's")
    device.vault.set_settings({GLOBAL_MODEL: f"{body['version']}:{body['weights']}"})
    return int(body["version"]), theta


def _split(device: Device) -> tuple[model.Examples, model.Examples]:
    """This device's check-ins for training, and the newest fifth kept out to evaluate on."""
    data = examples_of(device.vault.entries(newest_first=False))
    if len(data) < MIN_CHECK_INS:
        raise NotEnoughCheckIns(
            f"taking part needs at least {MIN_CHECK_INS} check-ins with a mood word "
            f"(this vault has {len(data)})"
        )
    cut = len(data) - max(2, len(data) // 5)
    return data.take(slice(0, cut)), data.take(slice(cut, None))


def _row(data: model.Examples, theta: model.Vector, about: dict[str, Any], seed: int | None) -> Any:
    """This device's contribution: the local update clipped and weighted, in fixed point."""
    rng = np.random.default_rng(seed)
    local = model.train(theta, data, epochs=LOCAL_EPOCHS, rng=rng)
    dp = GaussianAggregate(
        float(about["normBound"]), float(about["noiseMultiplier"]), int(about["weightCap"])
    )
    return secagg.to_fixed(dp.row(local - theta, len(data)))


def _metrics(theta: model.Vector, data: model.Examples) -> dict[str, float]:
    found = model.evaluate(theta, data)
    return {
        "loss": found.loss,
        "accuracy": found.accuracy,
        "intensityError": found.intensity_error,
    }


def _keys(view: dict[str, Any], name: str) -> dict[int, bytes]:
    return {int(i): base64.b64decode(k) for i, k in (view.get(name) or {}).items()}


def take_part(device: Device, *, wait_s: float, seed: int | None = None) -> RoundReport:
    """Train on this device from the global model and take part in the next round, waiting
    at most `wait_s` for it; nothing is sent without consent."""
    if not consented(device):
        held = global_model(device)
        return RoundReport(None, "no-consent", held[0] if held else 0)
    deadline = time.monotonic() + wait_s
    about = status(device)
    if not about["consent"]:
        device.vault.set_settings({CONSENT: "off"})  # withdrawn on another device
        return RoundReport(None, "no-consent", about["version"]["number"])
    if not about["registered"]:
        _call(device, lambda h: answer(h.post("/devices", json={"parameters": model.PARAMETERS})))
    while True:
        report = _one_round(device, about, deadline, wait_s, seed)
        if report.outcome not in RETRY or time.monotonic() > deadline:
            return report


def _one_round(
    device: Device, about: dict[str, Any], deadline: float, wait_s: float, seed: int | None
) -> RoundReport:
    """Train from the current global version and go through the next round's steps."""
    number, theta = fetch_model(device)
    train, held_out = _split(device)
    words = _row(train, theta, about, seed)
    # Fresh keys every round: a dropped device's masking key is rebuilt by the others.
    key, transport = secagg.MaskingKey.generate(), X25519PrivateKey.generate()

    def wait(ready: Callable[[dict[str, Any] | None], bool]) -> dict[str, Any] | None:
        while True:
            try:
                view: dict[str, Any] | None = status(device)["round"]
            except ApiError as e:  # another process is taking the coordinator over
                if e.code != "UNAVAILABLE" or time.monotonic() > deadline:
                    raise
            else:
                if ready(view):
                    return view
            if time.monotonic() > deadline:
                raise Offline(f"no round reached that step within {wait_s:.0f} s")
            time.sleep(POLL_S)

    view = wait(lambda v: v is not None and v["phase"] == "join")
    assert view is not None
    round_number = int(view["round"])
    if view["version"] != number:  # a version was published since: train from it
        return RoundReport(round_number, "left-out", number)

    def post(path: str, body: dict[str, Any]) -> None:
        _call(device, lambda h: answer(h.post(path, json={"round": round_number, **body})))

    try:
        post(
            "/round/join",
            {
                "version": number,
                "publicKey": base64.b64encode(key.public).decode(),
                "transportKey": base64.b64encode(
                    transport.public_key().public_bytes_raw()
                ).decode(),
            },
        )
    except ApiError as e:
        if e.code not in ("WRONG_PHASE", "NO_OPEN_ROUND", "STALE_VERSION"):
            raise
        return RoundReport(round_number, "left-out", number)  # the round moved on: next one

    steps = ("join", "share", "mask", "unmask", "evaluate")

    def reached(phase: str) -> Callable[[dict[str, Any] | None], bool]:
        return lambda v: (
            v is None or v["round"] != round_number or steps.index(v["phase"]) >= steps.index(phase)
        )

    client: secagg.Client | None = None
    for phase in steps[1:]:
        view = wait(reached(phase))
        if view is None or view["round"] != round_number:
            return _ended(device, round_number)
        if view["phase"] != phase or "index" not in view:  # left out, or too late for it
            wait(lambda v: v is None or v["round"] != round_number)
            return _ended(device, round_number)
        if client is None:
            client = secagg.Client.with_keys(
                int(view["index"]),
                int(view["clients"]),
                int(view["degree"]),
                context(round_number, number),
                key=key,
                transport=transport,
            )
        if phase == "share":
            bundles = client.share(_keys(view, "transportKeys"))
            post(
                "/round/shares",
                {
                    "bundles": [
                        {"holder": b.holder, "ciphertext": base64.b64encode(b.ciphertext).decode()}
                        for b in bundles
                    ]
                },
            )
        elif phase == "mask":
            transports = _keys(view, "transportKeys")
            for bundle in view.get("bundles") or []:
                owner = int(bundle["owner"])
                client.hold(
                    secagg.SealedBundle(
                        owner, client.index, base64.b64decode(bundle["ciphertext"])
                    ),
                    transports,
                )
            masked = client.masked(words, _keys(view, "publicKeys"))
            post(
                "/round/masked",
                {
                    "version": number,
                    "updateId": str(uuid.uuid4()),
                    "masked": base64.b64encode(masked.astype("<u8").tobytes()).decode(),
                },
            )
        elif phase == "unmask":
            shares = client.reveal(set(view["survivors"]), set(view["dropped"]))
            post(
                "/round/reveal",
                {
                    "shares": [
                        {"owner": o, "kind": k, "share": base64.b64encode(s).decode()}
                        for o, k, s in shares
                    ]
                },
            )
        elif "candidate" in view:  # evaluate: only the check-ins kept out of training
            raw = base64.b64decode(view["candidate"])
            candidate = np.frombuffer(raw, dtype="<f8").astype(np.float64)
            if candidate.shape == (model.PARAMETERS,) and np.all(np.isfinite(candidate)):
                post(
                    "/round/evaluation",
                    {
                        "examples": len(held_out),
                        "candidate": _metrics(candidate, held_out),
                        "current": _metrics(theta, held_out),
                    },
                )
    wait(lambda v: v is None or v["round"] != round_number)
    return _ended(device, round_number)


def _ended(device: Device, round_number: int) -> RoundReport:
    """How round `round_number` ended, with the global version fetched if it moved on."""
    about = status(device)
    outcome = next(
        (str(r["outcome"]) for r in about["rounds"] if r.get("round") == round_number),
        "left-out",
    )
    held = global_model(device)
    number = about["version"]["number"]
    if held is None or held[0] != number:
        number, _ = fetch_model(device)
    return RoundReport(round_number, outcome, number)
