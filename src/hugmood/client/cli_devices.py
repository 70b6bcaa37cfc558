"""`hugmood devices …`: your own devices, and the notes they share end to end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from hugmood.client.cli_common import (
    DEFAULT_VAULT,
    VaultOption,
    clear_errors,
    err,
    open_device,
    out,
    run,
)
from hugmood.client.device import Device
from hugmood.client.devices import LINK_WAIT_S, OwnDevices

devices_app = typer.Typer(
    help="Your devices: notes shared between them end to end (the server sees ciphertext).",
    no_args_is_help=True,
)
T = TypeVar("T")
WaitOption = Annotated[
    float, typer.Option("--wait", help="Seconds to wait for the other device.", min=1, max=600)
]


def _with_devices(vault: VaultOption, act: Callable[[OwnDevices, Device], Awaitable[T]]) -> T:
    with clear_errors():
        device = open_device(vault)
        try:

            async def go() -> T:
                async with device.client() as api:
                    return await act(OwnDevices(device.vault, device.device_id, api), device)

            return run(go())
        finally:
            device.vault.close()
    raise AssertionError("unreachable")


@devices_app.command("list")
def list_(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Your devices, which share notes, and which is this one."""

    async def act(own: OwnDevices, device: Device) -> None:
        _, devices = await own.state()
        table = Table("device", "key", "shares notes", "since")
        for d in devices["devices"]:
            mark = " (this one)" if d["deviceId"] == own.device_id else ""
            state = "yes" if d["linked"] else ("unlinked" if d["unlinked"] else "no")
            table.add_row(
                d["deviceId"] + mark, d["publicKey"][:12] + "…", state, d["registeredAt"][:16]
            )
        out.print(table)
        out.print(f"notes keyring version {devices['keyringVersion']}")

    _with_devices(vault, act)


@devices_app.command("init")
def init(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Start sharing notes on this, your first device (a new notes key, kept here)."""

    async def act(own: OwnDevices, device: Device) -> None:
        await own.start()
        report = await device.sync()
        out.print(
            f"This device shares notes now ({report.notes_sealed} sealed). Link another with"
            " `hugmood devices link` here and `hugmood devices join PHRASE` there."
        )

    _with_devices(vault, act)


@devices_app.command("link")
def link(vault: VaultOption = DEFAULT_VAULT, wait: WaitOption = LINK_WAIT_S) -> None:
    """Show a pairing phrase to type on your new device, then let it in once it asks."""

    def show(phrase: str) -> None:
        out.print(f"Pairing phrase: [bold]{phrase}[/bold]")
        err.print("On the new device run: hugmood devices join " + phrase)

    async def act(own: OwnDevices, device: Device) -> None:
        device_id = await own.offer_link(show, wait_s=wait)
        out.print(f"Linked {device_id}: it can read and write your notes now.")

    _with_devices(vault, act)


@devices_app.command("join")
def join(
    phrase: Annotated[str, typer.Argument(help="The phrase `hugmood devices link` showed.")],
    vault: VaultOption = DEFAULT_VAULT,
    wait: WaitOption = LINK_WAIT_S,
) -> None:
    """Link this device to your others with the phrase one of them shows."""

    async def act(own: OwnDevices, device: Device) -> None:
        keyring = await own.join(phrase, wait_s=wait)
        report = await device.sync()
        out.print(
            f"Linked (notes key version {keyring.version}): {report.notes_opened} notes from"
            f" your other devices, {report.notes_sealed} of this one's shared."
        )

    _with_devices(vault, act)


@devices_app.command("unlink")
def unlink(
    device_id: Annotated[str, typer.Argument(help="The device to unlink (see `devices list`).")],
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Unlink a device: a new notes key for the others; it cannot read notes written after."""

    async def act(own: OwnDevices, device: Device) -> None:
        remaining = await own.unlink(device_id)
        out.print(
            f"Unlinked {device_id}. New notes key shared with {len(remaining)} device(s):"
            f" {', '.join(remaining)}"
        )

    _with_devices(vault, act)


def register(app: typer.Typer) -> None:
    app.add_typer(devices_app, name="devices")
