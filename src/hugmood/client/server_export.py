"""`hugmood export --from-server`: the server's complete archive of you, written as it streams.

The file is created readable by its owner alone (it is health data) and written piece by
piece, so a long history never sits in memory; a download cut short leaves no file behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hugmood.client.cli_common import clear_errors, err, open_device, run
from hugmood.client.device import Device
from hugmood.private_files import PRIVATE_FILE


async def _write(device: Device, fmt: str, fd: int) -> int:
    written = 0
    async with device.client() as api:
        async for chunk in api.export(fmt):
            os.write(fd, chunk)
            written += len(chunk)
    return written


def download(fmt: str, output: Path | None, vault: Path) -> None:
    """Stream `GET /me/export?format=fmt` to `output` (standard output when None)."""
    with clear_errors():
        device = open_device(vault)
        try:
            if output is None:
                run(_write(device, fmt, sys.stdout.fileno()))
                return
            partial = output.with_name(output.name + ".part")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            try:
                os.fchmod(fd, PRIVATE_FILE)
                size = run(_write(device, fmt, fd))
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                partial.unlink(missing_ok=True)
                raise
            os.close(fd)
            partial.replace(output)
            err.print(
                f"exported everything the server holds about you to {output} ({size:,} bytes)"
            )
        finally:
            device.vault.close()
