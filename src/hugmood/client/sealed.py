"""Sealed mode on the device: a Paillier key in the vault, check-ins uploaded as ciphertexts,
history sums decrypted here. The server never sees a score of a sealed check-in."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx

from hugmood.client.age import answer
from hugmood.client.device import Device
from hugmood.client.errors import ApiError, Offline
from hugmood.client.sealing_pool import SealingPool
from hugmood.client.sealing_pool import refilling as refill_in_background
from hugmood.privacy.he.history import OpenedBucket, SealedHistory, open_history, seal_check_in
from hugmood.privacy.he.keys import (
    PrivateKey,
    generate_keypair,
    private_key_from_json,
    private_key_to_json,
    public_key_to_json,
)
from hugmood.privacy.he.sealing import Sealer

KEY_SETTING = "sealing_key"


def _http(device: Device) -> httpx.Client:
    if device.server_url is None or device.token is None:
        raise ApiError("UNAUTHENTICATED", "log in first (hugmood login)")
    return httpx.Client(
        base_url=device.server_url.rstrip("/") + "/privacy/sealed",
        headers={"authorization": f"Bearer {device.token}", "x-hugmood-device": device.device_id},
        timeout=60,
    )


def private_key(device: Device) -> PrivateKey | None:
    text = device.vault.setting(KEY_SETTING)
    return None if text is None else private_key_from_json(json.loads(text))


def enable(device: Device) -> str:
    """Make (once) the vault's sealing key and register its public half; the key id."""
    key = private_key(device)
    if key is None:
        _, key = generate_keypair()
        device.vault.set_settings({KEY_SETTING: json.dumps(private_key_to_json(key))})
    try:
        with _http(device) as http:
            body = answer(http.put("/key", json={"publicKey": public_key_to_json(key.public_key)}))
    except httpx.TransportError as e:
        raise Offline(f"cannot reach {device.server_url}: {e}") from e
    key_id: str = body["keyId"]
    return key_id


def _key_or_fail(device: Device) -> PrivateKey:
    key = private_key(device)
    if key is None:
        raise ApiError("NOT_FOUND", "sealed mode is not set up here: run hugmood sealed enable")
    return key


def add(
    device: Device, *, mood_type: str, intensity: float, recorded_at: datetime | None = None
) -> str:
    """Encrypt one check-in on the device and upload only the ciphertext; its id."""
    key = _key_or_fail(device)
    # A precomputed factor if the vault has one (taken out of it before it is used, so it
    # never hides a second check-in), else a fresh one computed now.
    factor = SealingPool(device.vault, key.public_key).take()
    sealer = Sealer(key.public_key, () if factor is None else (factor,))
    ciphertext = seal_check_in(sealer, mood_type=mood_type, intensity=intensity)
    entry_id = str(uuid.uuid4())
    body: dict[str, Any] = {
        "id": entry_id,
        "ciphertext": ciphertext.to_wire(key.public_key),
        "recordedAt": (recorded_at or datetime.now(UTC)).isoformat(),
    }
    try:
        with _http(device) as http:
            answer(http.post("/entries", json=body))
    except httpx.TransportError as e:
        raise Offline(f"cannot reach {device.server_url}: {e}") from e
    return entry_id


def precompute(device: Device, target: int) -> tuple[int, int]:
    """Fill the vault's pool of random factors up to `target`: (added, now in the pool)."""
    key = _key_or_fail(device)
    pool = SealingPool(device.vault, key.public_key)
    added = pool.top_up(target)
    return added, pool.size()


@contextmanager
def refilling(device: Device) -> Iterator[None]:
    """Refill the pool in the background of what the body does (a sync); nothing without
    sealed mode."""
    key = private_key(device)
    if key is None:
        yield
        return
    with refill_in_background(SealingPool(device.vault, key.public_key)):
        yield


def history(
    device: Device, *, start: datetime, end: datetime, aggregation: str, time_zone: str
) -> list[OpenedBucket]:
    """Ask the server for encrypted bucket sums and decrypt them here."""
    key = _key_or_fail(device)
    params = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "aggregation": aggregation,
        "timeZone": time_zone,
    }
    try:
        with _http(device) as http:
            body = answer(http.get("/history", params=params))
    except httpx.TransportError as e:
        raise Offline(f"cannot reach {device.server_url}: {e}") from e
    sealed = SealedHistory(
        body["keyId"],
        tuple(date.fromisoformat(s) for s in body["starts"]),
        tuple(int.from_bytes(base64.b64decode(c), "big") for c in body["ciphertexts"]),
        body["perCiphertext"],
    )
    return open_history(key, sealed)
