"""The vault survives SIGKILL in the middle of writes: intact, and no acknowledged entry lost."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from hugmood.client import crypto
from hugmood.client.vault import Vault

PASS = "a vault passphrase"
WRITER = """
import sys, uuid
from datetime import UTC, datetime
from pathlib import Path
from hugmood.client.device import Device
from hugmood.client.vault import Vault
device = Device(Vault.unlock(Path(sys.argv[1]), sys.argv[2], rotate_after=50))
while True:
    entry = device.check_in(mood_type="calm", intensity=0.5, note="written while being killed")
    print(entry.entry_id, flush=True)  # printed only once the durable commit returned
"""


def test_a_vault_killed_during_writes_is_intact_and_keeps_every_acknowledged_entry(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vault.sqlite"
    Vault.create(path, PASS, kdf=crypto.FAST_FOR_TESTS).close()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), PASS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    acknowledged: list[str] = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 300:
        line = writer.stdout.readline()
        assert line, f"the writer stopped: {writer.stderr.read() if writer.stderr else ''}"
        acknowledged.append(line.strip())
        assert time.monotonic() < deadline
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    acknowledged += [line.strip() for line in writer.stdout.read().splitlines() if line.strip()]

    with Vault.unlock(path, PASS, rotate_after=50) as vault:
        assert vault.integrity_ok()
        stored = {e.entry_id for e in vault.entries()}
        assert set(acknowledged) <= stored
        assert vault.key_count >= len(acknowledged) // 50  # rotation survived the kill too
        pending = {i.op_id for i in vault.pending(100_000)}
        assert set(acknowledged) <= pending, "each stored entry is still queued for upload"
