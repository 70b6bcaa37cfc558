"""A device's part in federated learning respects consent before any request: never asked
or withdrawn, it sends nothing at all; the global version it received is where its personal
copy starts."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from hugmood.client import crypto
from hugmood.client.device import Device
from hugmood.client.learning import GLOBAL_MODEL, global_model
from hugmood.client.learning_rounds import CONSENT, consented, take_part
from hugmood.client.vault import Vault
from hugmood.learning import model

PASS = "correct horse battery staple"


def _device(tmp_path: Path) -> Device:
    device = Device(Vault.create(tmp_path / "vault.db", PASS, kdf=crypto.FAST_FOR_TESTS))
    # signed in to a server nothing listens on: any request would fail as offline
    device.remember_session("http://127.0.0.1:9", "ann", "token")
    return device


def test_a_device_never_asked_sends_nothing(tmp_path: Path) -> None:
    device = _device(tmp_path)
    assert not consented(device)
    report = take_part(device, wait_s=1)
    assert (report.round, report.outcome, report.version) == (None, "no-consent", 0)


def test_a_device_whose_person_withdrew_sends_nothing(tmp_path: Path) -> None:
    device = _device(tmp_path)
    device.vault.set_settings({CONSENT: "off"})
    assert take_part(device, wait_s=1).outcome == "no-consent"


def test_the_received_global_version_is_kept_in_the_vault(tmp_path: Path) -> None:
    device = _device(tmp_path)
    theta = np.linspace(-1, 1, model.PARAMETERS)
    weights = base64.b64encode(theta.astype("<f8").tobytes()).decode()
    device.vault.set_settings({GLOBAL_MODEL: f"3:{weights}"})
    held = global_model(device.vault)
    assert held is not None and held[0] == 3 and np.array_equal(held[1], theta)
