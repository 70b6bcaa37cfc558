"""Community averages from the device: one check-in contributed to today's cohort, encrypted
under the decryption service's key (the server cannot read it, the service opens only
cohorts of at least k), and the averages the service released."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from hugmood.client.age import answer
from hugmood.client.device import Device
from hugmood.client.errors import ApiError, Offline
from hugmood.privacy.he.community import contribute as encrypt_contribution
from hugmood.privacy.he.keys import public_key_from_json
from hugmood.privacy.he.sealing import Sealer


def _http(device: Device) -> httpx.Client:
    if device.server_url is None or device.token is None:
        raise ApiError("UNAUTHENTICATED", "log in first (hugmood login)")
    return httpx.Client(
        base_url=device.server_url.rstrip("/") + "/privacy/community",
        headers={"authorization": f"Bearer {device.token}", "x-hugmood-device": device.device_id},
        timeout=60,
    )


def contribute(device: Device, *, mood_type: str, intensity: float) -> str:
    """Encrypt one check-in for the open cohort and send it; the cohort's name."""
    try:
        with _http(device) as http:
            about = answer(http.get(""))
            key = public_key_from_json(about["publicKey"])
            cohort: str = about["cohort"]
            ciphertext = encrypt_contribution(
                Sealer(key), cohort, mood_type=mood_type, intensity=intensity
            )
            answer(
                http.post(
                    "/contributions",
                    json={"cohort": cohort, "ciphertext": ciphertext.to_wire(key)},
                )
            )
    except httpx.TransportError as e:
        raise Offline(f"cannot reach {device.server_url}: {e}") from e
    return cohort


def averages(device: Device, *, days: int) -> list[dict[str, Any]]:
    """The released averages of the last `days` days, oldest first."""
    today = datetime.now(UTC).date()
    params = {"from": (today - timedelta(days=days)).isoformat(), "to": today.isoformat()}
    try:
        with _http(device) as http:
            releases: list[dict[str, Any]] = answer(http.get("/averages", params=params))[
                "releases"
            ]
    except httpx.TransportError as e:
        raise Offline(f"cannot reach {device.server_url}: {e}") from e
    return releases
