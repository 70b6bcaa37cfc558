"""Age verification on the device: keep an age credential in the vault, prove to a server.

The credential (an ISO 18013-5 mdoc with its device key) is stored sealed in the vault like
every other setting; proving runs here, and only the proof (bound to the server's one-time
nonce) is sent. The birth date never leaves the device.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from hugmood.client.device import Device
from hugmood.client.errors import ApiError, Offline
from hugmood.privacy.zk.credentials import Credential
from hugmood.privacy.zk.prover import load_longfellow, prove_age

CREDENTIAL_SETTING = "age_credential"
CIRCUIT_DIR_ENV = "HUGMOOD_CLIENT_ZK_CIRCUIT_DIR"
DEFAULT_CIRCUIT_DIR = Path.home() / ".cache" / "hugmood" / "zk-circuits"
PROOF_TIMEOUT_S = 120.0
"""The server may need ~30 s to ready its circuit the first time, plus the check itself."""


def circuit_dir() -> Path:
    return Path(os.environ.get(CIRCUIT_DIR_ENV) or DEFAULT_CIRCUIT_DIR).expanduser()


def stored_credential(device: Device) -> Credential | None:
    text = device.vault.setting(CREDENTIAL_SETTING)
    return None if text is None else Credential.from_json(text)


def store_credential(device: Device, credential: Credential) -> None:
    device.vault.set_settings({CREDENTIAL_SETTING: credential.to_json()})


@dataclass(frozen=True, slots=True)
class Verified:
    threshold: int
    issuer: str
    at: str
    proof_bytes: int


def answer(response: httpx.Response) -> Any:
    """The JSON body of a success, or ApiError with the server's code and sentence."""
    body: Any = response.json() if response.content else {}
    if response.is_success:
        return body
    first = (body.get("errors") or [{}])[0] if isinstance(body, dict) else {}
    raise ApiError(
        (first.get("extensions") or {}).get("code", "INTERNAL"),
        first.get("message") or f"HTTP {response.status_code}",
    )


def verify_age(device: Device, credential: Credential, threshold: int) -> Verified:
    """Ask the server for a challenge, prove `age_over_<threshold>` here, send the proof."""
    if device.server_url is None or device.token is None:
        raise ApiError("UNAUTHENTICATED", "log in first (hugmood login)")
    headers = {"authorization": f"Bearer {device.token}", "x-hugmood-device": device.device_id}
    base = device.server_url.rstrip("/") + "/privacy/age"
    try:
        with httpx.Client(headers=headers, timeout=PROOF_TIMEOUT_S) as http:
            challenge = answer(http.post(f"{base}/challenge", json={"threshold": threshold}))
            proof = prove_age(
                load_longfellow(circuit_dir()),
                credential,
                threshold=threshold,
                nonce=base64.urlsafe_b64decode(challenge["nonce"]),
                audience=challenge["audience"],
                now=datetime.fromisoformat(challenge["at"]),
            )
            outcome = answer(http.post(f"{base}/proof", json=proof.to_json()))
    except httpx.TransportError as e:
        raise Offline(f"cannot reach {device.server_url}: {e}") from e
    return Verified(outcome["threshold"], outcome["issuer"], outcome["at"], len(proof.proof))
