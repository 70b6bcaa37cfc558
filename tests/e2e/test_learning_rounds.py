"""Federated rounds over HTTP against a server subprocess, devices driven step by step: a
version published from thirty people's masked updates reaches a subscribed device over its
live connection, and a coordinator killed with SIGKILL mid-round ends that round as abandoned
and refuses its update ids afterwards (nothing counted twice)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from hugmood.learning import model, secagg
from hugmood.learning.privacy import GaussianAggregate
from hugmood.learning.secure_round import context
from hugmood.learning.simulation import simulate
from tests.e2e.client import sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.ws import init, next_data, open_socket, subscribe

pytestmark = pytest.mark.e2e
DEADLINE_S = 60.0
NOISE = 0.5
"""Within epsilon 8 for one round at delta 1/30; with thirty people the sum outweighs it."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Server(Protocol):
    """Where a device sends its calls (a server subprocess, or an edge of a deployment)."""

    @property
    def url(self) -> str: ...


@dataclass
class HttpDevice:
    """One person's device speaking the learning paths, as `client.learning_rounds` does."""

    server: Server
    token: str
    data: model.Examples
    held_out: model.Examples
    key: secagg.MaskingKey = field(default_factory=secagg.MaskingKey.generate)
    transport: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)
    client: secagg.Client | None = None

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.server.url}/privacy/learning",
            headers={"authorization": f"Bearer {self.token}", "x-hugmood-device": "phone"},
            timeout=30,
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        with self.http() as http:
            response = http.request(method, path, json=body)
        assert response.is_success, response.text
        return response.json()

    def view(self) -> Any:
        return self.call("GET", "")["round"]

    def opt_in(self) -> None:
        self.call("PUT", "/consent", {"consent": True})
        self.call("POST", "/devices", {"parameters": model.PARAMETERS})


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while (found := check()) is None or found is False:
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_S} s"
        time.sleep(0.1)
    return found


def _phase(device: HttpDevice, phase: str) -> Callable[[], Any]:
    def check() -> Any:
        view = device.view()
        return view if view is not None and view["phase"] == phase else None

    return check


def opted_in(
    server: Server, count: int, sign_up_at: Callable[[int], str] | None = None
) -> list[HttpDevice]:
    """`count` people with their device opted in; `sign_up_at(n)` signs person n up and
    returns their token (by default on `server`)."""
    people = simulate(count, seed=23, validation_people=1).people
    devices = []
    for n, person in enumerate(people):
        if sign_up_at is None:
            assert isinstance(server, HugMoodServer)
            token = sign_up(server, f"fl{n}").api.token
        else:
            token = sign_up_at(n)
        assert token is not None
        device = HttpDevice(server, token, person.train, person.held_out)
        device.opt_in()
        devices.append(device)
    return devices


def join_and_share(devices: list[HttpDevice]) -> tuple[int, int]:
    view = wait_for("round open to join", _phase(devices[0], "join"))
    number, version = view["round"], view["version"]
    for d in devices:
        keys = {
            "publicKey": _b64(d.key.public),
            "transportKey": _b64(d.transport.public_key().public_bytes_raw()),
        }
        d.call("POST", "/round/join", {"round": number, "version": version, **keys})
    for d in devices:
        view = wait_for("sharing", _phase(d, "share"))
        d.client = secagg.Client.with_keys(
            view["index"],
            view["clients"],
            view["degree"],
            context(number, version),
            key=d.key,
            transport=d.transport,
        )
        transports = {int(i): base64.b64decode(k) for i, k in view["transportKeys"].items()}
        bundles = [
            {"holder": b.holder, "ciphertext": _b64(b.ciphertext)}
            for b in d.client.share(transports)
        ]
        d.call("POST", "/round/shares", {"round": number, "bundles": bundles})
    return number, version


def send_masked(d: HttpDevice, number: int, version: int, update_id: str) -> httpx.Response:
    view = wait_for("masking", _phase(d, "mask"))
    assert d.client is not None
    transports = {int(i): base64.b64decode(k) for i, k in view["transportKeys"].items()}
    for bundle in view["bundles"]:
        sealed = secagg.SealedBundle(
            bundle["owner"], d.client.index, base64.b64decode(bundle["ciphertext"])
        )
        d.client.hold(sealed, transports)
    theta = model.initial_parameters()
    local = model.train(theta, d.data, epochs=2, rng=np.random.default_rng(1))
    row = GaussianAggregate(1.0, NOISE).row(local - theta, len(d.data))
    publics = {int(i): base64.b64decode(k) for i, k in view["publicKeys"].items()}
    masked = d.client.masked(secagg.to_fixed(row), publics)
    body = {
        "round": number,
        "version": version,
        "updateId": update_id,
        "masked": _b64(masked.astype("<u8").tobytes()),
    }
    with d.http() as http:
        return http.post("/round/masked", json=body)


def _metrics(theta: np.ndarray, data: model.Examples) -> dict[str, float]:
    found = model.evaluate(theta, data)
    return {
        "loss": found.loss,
        "accuracy": found.accuracy,
        "intensityError": found.intensity_error,
    }


async def test_a_version_published_from_masked_updates_reaches_devices_live(
    start_server: StartServer,
) -> None:
    server = start_server(
        {"HUGMOOD_LEARNING_ROUND_S": "120", "HUGMOOD_LEARNING_NOISE_MULTIPLIER": str(NOISE)}
    )
    devices = opted_in(server, 30)
    async with open_socket(server) as ws:
        await init(ws, devices[0].token)
        await subscribe(ws, "v", "subscription { modelVersionPublished { number epsilon } }")
        number, version = join_and_share(devices)
        for n, d in enumerate(devices):
            assert send_masked(d, number, version, f"update-{n}").status_code == 201
        for d in devices:
            view = wait_for("unmasking", _phase(d, "unmask"))
            assert d.client is not None
            shares = d.client.reveal(set(view["survivors"]), set(view["dropped"]))
            body = [{"owner": o, "kind": k, "share": _b64(s)} for o, k, s in shares]
            d.call("POST", "/round/reveal", {"round": number, "shares": body})
        for d in devices:
            view = wait_for("evaluating", _phase(d, "evaluate"))
            candidate = np.frombuffer(base64.b64decode(view["candidate"]), dtype="<f8")
            report = {
                "round": number,
                "examples": len(d.held_out),
                "candidate": _metrics(candidate, d.held_out),
                "current": _metrics(model.initial_parameters(), d.held_out),
            }
            d.call("POST", "/round/evaluation", report)
        heard = (await next_data(ws, "v"))["modelVersionPublished"]
    assert heard["number"] == 1 and 0 < heard["epsilon"] <= 8
    fetched = devices[1].call("GET", "/model")
    assert fetched["version"] == 1
    weights = np.frombuffer(base64.b64decode(fetched["weights"]), dtype="<f8")
    assert weights.shape == (model.PARAMETERS,) and np.all(np.isfinite(weights))
    status = devices[2].call("GET", "")
    assert status["rounds"][0] == {"round": number, "outcome": "published", "participants": 30}


def test_a_coordinator_killed_mid_round_abandons_it_and_counts_nothing_twice(
    start_server: StartServer,
) -> None:
    server = start_server({"HUGMOOD_LEARNING_ROUND_S": "120"})
    devices = opted_in(server, 3)
    number, version = join_and_share(devices)
    assert send_masked(devices[0], number, version, "sent-before-the-crash").status_code == 201
    server.restart_after_crash()
    status = devices[0].call("GET", "")
    assert status["rounds"][0] == {"round": number, "outcome": "abandoned", "participants": 1}
    for d in devices:
        d.key, d.transport, d.client = (
            secagg.MaskingKey.generate(),
            X25519PrivateKey.generate(),
            None,
        )
    again, version = join_and_share(devices)
    assert again > number
    replayed = send_masked(devices[0], again, version, "sent-before-the-crash")
    assert replayed.status_code == 409
    assert replayed.json()["errors"][0]["extensions"]["code"] == "REPLAYED"
    assert send_masked(devices[0], again, version, "a-fresh-update").status_code == 201
