"""`hugmood friends …`, `hugmood hug send` and `hugmood hugs` (live, syncing meanwhile)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import typer
from rich.table import Table

from hugmood.client.cli_common import (
    DEFAULT_VAULT,
    VaultOption,
    clear_errors,
    err,
    fail,
    open_device,
    out,
    run,
)
from hugmood.client.device import Device
from hugmood.client.errors import ClientError, Offline

friends_app = typer.Typer(help="Your friends and friend requests (needs the server).")
hug_app = typer.Typer(help="Send a hug to a friend.", no_args_is_help=True)
HUG_TYPES = (
    "warm",
    "comforting",
    "celebration",
    "strength",
    "calm",
    "gratitude",
    "miss-you",
    "playful",
)
BACKGROUND_SYNC_S = 30.0


@friends_app.callback(invoke_without_command=True)
def friends(
    ctx: typer.Context,
    status: Annotated[
        str, typer.Option(help="friends, requested, incoming or blocked.")
    ] = "friends",
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """List your friends (or requests, or blocks)."""
    if ctx.invoked_subcommand is not None:
        return
    if status not in ("friends", "requested", "incoming", "blocked"):
        fail(f"--status must be friends, requested, incoming or blocked (got {status!r})")

    async def fetch(device: Device) -> list[dict[str, Any]]:
        async with device.client() as api:
            return await api.friends(status)

    with clear_errors():
        device = open_device(vault)
        try:
            connections = run(fetch(device))
        finally:
            device.vault.close()
    table = Table(title=f"{status} ({len(connections)})")
    table.add_column("handle")
    table.add_column("name")
    table.add_column("since")
    for c in connections:
        profile = c["profile"]
        table.add_row(str(profile["handle"]), str(profile["displayName"]), str(c["since"])[:10])
    out.print(table)


def _friendship_command(action: str, summary: str) -> None:
    def command(
        handle: Annotated[str, typer.Argument(help="Their handle.")],
        vault: VaultOption = DEFAULT_VAULT,
    ) -> None:
        async def change(device: Device) -> str:
            async with device.client() as api:
                return await api.change_friendship(action, handle)

        with clear_errors():
            device = open_device(vault)
            try:
                status = run(change(device))
            finally:
                device.vault.close()
        out.print(f"{handle}: {status.lower()}")

    command.__doc__ = summary
    friends_app.command(action)(command)


for _action, _summary in (
    ("request", "Ask someone to be friends (accepts theirs if they asked first)."),
    ("accept", "Accept a friend request."),
    ("decline", "Decline a friend request."),
    ("remove", "Unfriend, or withdraw a request you sent."),
    ("block", "Block someone: neither of you sees the other's moods."),
    ("unblock", "Unblock someone."),
):
    _friendship_command(_action, _summary)


@hug_app.command("send")
def send(
    handle: Annotated[str, typer.Argument(help="The friend's handle.")],
    hug_type: Annotated[
        str, typer.Option("--type", help=f"One of: {', '.join(HUG_TYPES)}.")
    ] = "warm",
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="At most 280 characters.")
    ] = None,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Send a hug now; offline, it is queued and sent at the next sync (exactly once)."""
    if hug_type not in HUG_TYPES:
        fail(f"--type must be one of {', '.join(HUG_TYPES)} (got {hug_type!r})")
    if message is not None and len(message) > 280:
        fail(f"--message must be at most 280 characters (got {len(message)})")
    with clear_errors():
        device = open_device(vault)
        try:
            hug_id = device.queue_hug(handle, hug_type, message)
            try:
                report = run(device.sync())
            except Offline:
                out.print(
                    f"Offline: the hug to {handle} is queued (id {hug_id}) and goes at the next sync."
                )
                return
        finally:
            device.vault.close()
    refused = dict(report.refused)
    if hug_id in refused:
        fail(f"the hug to {handle} was refused: {refused[hug_id]} (kept in the vault)", 1)
    out.print(f"Sent a {hug_type} hug to {handle}.")


def hugs(
    count: Annotated[
        int | None,
        typer.Option(help="Stop after this many hugs (default: run until Ctrl+C).", min=1),
    ] = None,
    presence: Annotated[
        bool, typer.Option("--presence", help="Show friends coming and going too.")
    ] = False,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Watch hugs arrive live (and sync this device in the background meanwhile)."""
    with clear_errors():
        device = open_device(vault)
        try:
            with contextlib.suppress(KeyboardInterrupt):
                run(_watch(device, count, presence))
        finally:
            device.vault.close()


async def _watch(device: Device, count: int | None, presence: bool) -> None:
    background = asyncio.create_task(_sync_forever(device))
    watchers = []
    try:
        async with device.client() as api:
            out.print("Waiting for hugs… (Ctrl+C to stop)")
            received = asyncio.create_task(_print_hugs(api.hugs(), count))
            watchers.append(received)
            if presence:
                watchers.append(asyncio.create_task(_print_presence(api.presence())))
            await received
    finally:
        for task in (*watchers, background):
            task.cancel()
        for task in (*watchers, background):
            with contextlib.suppress(asyncio.CancelledError, ClientError):
                await task


async def _print_hugs(stream: object, count: int | None) -> None:
    seen = 0
    async for hug in stream:  # type: ignore[attr-defined]
        message = f": “{hug['message']}”" if hug.get("message") else ""
        out.print(
            f"🤗 {hug['hugType'].lower()} hug from [bold]{hug['sender']['handle']}[/bold]{message}"
        )
        seen += 1
        if count is not None and seen >= count:
            return


async def _print_presence(stream: object) -> None:
    async for change in stream:  # type: ignore[attr-defined]
        out.print(f"· {change['profile']['handle']} is {change['status'].lower()}")


async def _sync_forever(device: Device) -> None:
    while True:
        try:
            report = await device.sync()
            if report.uploaded or report.downloaded or report.hugs_sent:
                err.print(f"[dim]synced: up {report.uploaded}, down {report.downloaded}[/dim]")
        except Offline:
            pass
        await asyncio.sleep(BACKGROUND_SYNC_S)


def register(app: typer.Typer) -> None:
    app.add_typer(friends_app, name="friends")
    app.add_typer(hug_app, name="hug")
    app.command()(hugs)
