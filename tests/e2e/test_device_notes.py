"""Notes shared end to end between one person's own devices, against a server subprocess: two
devices linked with a pairing phrase (by the CLI) read each other's notes, the server's files
hold none of them in clear, and a device unlinked cannot read a note written afterwards."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import orjson
import pytest

from hugmood.client import HugMoodClient
from hugmood.client.api import AsyncHugMoodClient
from hugmood.client.crypto import KdfParams
from hugmood.client.device import Device
from hugmood.client.devices import OwnDevices
from hugmood.client.vault import Vault
from tests.e2e.client import PASSWORD, User, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_client_cli import PASSPHRASE, cli_for, client_env, ok

pytestmark = pytest.mark.e2e
CHEAP = KdfParams(1024, 1, 1)
T = TypeVar("T")
run = asyncio.run
FROM_A, FROM_B, AFTER = "canary-from-laptop-7f3a", "canary-from-phone-91c2", "canary-after-0d5e"


async def new_device(path: Path, server: HugMoodServer, user: User) -> str:
    device = Device(Vault.create(path, PASSPHRASE, kdf=CHEAP))
    try:
        async with AsyncHugMoodClient(server.url) as api:
            token = (await api.login(user.handle, PASSWORD)).token
        device.remember_session(server.url, user.handle, token)
        return device.device_id
    finally:
        device.vault.close()


async def own(device: Device, act: Callable[[OwnDevices], Awaitable[T]]) -> T:
    async with device.client() as api:
        return await act(OwnDevices(device.vault, device.device_id, api))


def opened(path: Path) -> Device:
    return Device(Vault.unlock(path, PASSPHRASE))


def notes_on(device: Device) -> set[str]:
    return {e.note for e in device.vault.entries() if e.note}


def server_files_hold(server: HugMoodServer, *texts: str) -> list[str]:
    """Which of `texts` appear in clear (or in base64) in any file of the server's data dir."""
    needles = {t: (t.encode(), base64.b64encode(t.encode())) for t in texts}
    found = set()
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found |= {t for t, forms in needles.items() if any(f in data for f in forms)}
    return sorted(found)


def test_two_devices_share_notes_end_to_end_and_an_unlinked_one_reads_no_new_ones(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    ann, bob = sign_up(server, "ann"), sign_up(server, "bob")
    laptop, phone = tmp_path / "laptop.sqlite", tmp_path / "phone.sqlite"
    run(new_device(laptop, server, ann))
    phone_id = run(new_device(phone, server, ann))

    a = opened(laptop)
    a.check_in(intensity=0.5, mood_type="calm", note=FROM_A)
    run(a.sync())
    run(own(a, lambda devices: devices.start()))
    assert run(a.sync()).notes_sealed == 1
    a.vault.close()

    # The CLI links the phone: the laptop shows a phrase, the phone types it.
    env_a = client_env(server, laptop, PYTHONUNBUFFERED="1")
    link = subprocess.Popen(
        [sys.executable, "-m", "hugmood", "devices", "link", "--wait", "60"],
        env=env_a,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert link.stdout is not None
    shown = link.stdout.readline()
    phrase = shown.split("Pairing phrase:")[1].strip()
    joined = ok(cli_for(client_env(server, phone))("devices", "join", phrase, "--wait", "60"))
    out, errors = link.communicate(timeout=60)
    assert link.returncode == 0, errors
    assert f"Linked {phone_id}" in out
    assert "1 notes from your other devices" in joined

    b = opened(phone)
    assert FROM_A in notes_on(b)
    b.check_in(intensity=0.3, mood_type="tired", note=FROM_B)
    assert run(b.sync()).notes_sealed == 1
    a = opened(laptop)
    assert run(a.sync()).notes_opened == 1
    assert {FROM_A, FROM_B} <= notes_on(a)
    assert server_files_hold(server, FROM_A, FROM_B) == []

    # Someone else, or a replay, gets a clear refusal and nothing of Ann's.
    assert bob.api("query { myDevices { devices { deviceId } } }")["myDevices"]["devices"] == []
    assert bob.api(
        "query($d: String!) { myNotesKeyring(deviceId: $d) { wrapped } }", d=phone_id
    ) == {"myNotesKeyring": None}
    (entry,) = [e.entry_id for e in a.vault.entries() if e.note == FROM_A]
    stolen = bob.api.failure(
        "mutation($e: String!, $c: String!) { sealNote(entryId: $e, ciphertext: $c) }",
        e=entry,
        c=base64.b64encode(bytes(40)).decode(),
    )
    assert stolen.code == "NOT_FOUND"
    too_big = ann.api.failure(
        "mutation($e: String!, $c: String!) { sealNote(entryId: $e, ciphertext: $c) }",
        e=entry,
        c=base64.b64encode(bytes(9000)).decode(),
    )
    assert (too_big.code, too_big.extensions.get("field")) == ("VALIDATION", "ciphertext")

    remaining = run(own(a, lambda devices: devices.unlink(phone_id)))
    assert remaining == [a.device_id]
    a.check_in(intensity=0.6, mood_type="calm", note=AFTER)
    run(a.sync())
    b.check_in(intensity=0.2, mood_type="tired", note="written on the unlinked phone")
    after = run(b.sync())
    assert after.notes_unreadable == 1 and AFTER not in notes_on(b)
    assert after.notes_sealed == 0  # an unlinked device shares nothing more
    assert server_files_hold(server, FROM_A, FROM_B, AFTER) == []
    a.vault.close()
    b.vault.close()

    # The server's export of Ann, from the CLI: a 0600 file, every check-in, no sealed note.
    archive = tmp_path / "ann.json"
    ok(cli_for(env_a)("export", "--from-server", "-o", str(archive)))
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    document = orjson.loads(archive.read_bytes())
    assert document["profile"]["handle"] == ann.handle
    assert len(document["entries"]) == 4
    assert all(e["note"] is None for e in document["entries"])
    with HugMoodClient(server.url, token=ann.api.token) as sdk:  # the SDK's blocking twin
        sdk.export_to(tmp_path / "ann.csv", "csv")
    assert len((tmp_path / "ann.csv").read_text().splitlines()) == 1 + 4
