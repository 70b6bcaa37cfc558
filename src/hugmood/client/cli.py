"""The client half of the `hugmood` command: log in, sync, the vault and its settings.

Registered on the main `hugmood` app by `register`; mood, friends and hug commands live in
`cli_moods` and `cli_social`.
"""

from __future__ import annotations

import os
import uuid
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from hugmood.client import agent, cli_mfa, sealed
from hugmood.client.api import AsyncHugMoodClient
from hugmood.client.cli_common import (
    DEFAULT_SERVER,
    DEFAULT_VAULT,
    ServerOption,
    VaultOption,
    clear_errors,
    err,
    fail,
    kdf_params,
    open_device,
    out,
    passphrase,
    run,
)
from hugmood.client.device import Device
from hugmood.client.errors import ApiError, Offline, SecondStepNeeded
from hugmood.client.records import SHARE_NOTES
from hugmood.client.sync import SyncReport
from hugmood.client.vault import Vault

vault_app = typer.Typer(help="The encrypted vault on this device.", no_args_is_help=True)
settings_app = typer.Typer(help="This device's settings.", no_args_is_help=True)


def login(
    handle: Annotated[str | None, typer.Option(help="Your HugMood handle.")] = None,
    server: ServerOption = None,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Sign in on this device (creating its encrypted vault the first time)."""
    with clear_errors():
        device = open_device(vault) if Vault.exists(vault) else None
        try:
            handle = (
                handle or (device.handle if device else None) or typer.prompt("Handle", err=True)
            )
            password = os.environ.get("HUGMOOD_CLIENT_PASSWORD") or typer.prompt(
                "Password", hide_input=True, err=True
            )
            url = server or (device.server_url if device else None) or DEFAULT_SERVER
            device_id = device.device_id if device else str(uuid.uuid4())

            async def sign_in() -> str:
                async with AsyncHugMoodClient(url, device_id=device_id) as api:
                    try:
                        return (await api.login(handle, password)).token
                    except SecondStepNeeded as held:
                        return (await cli_mfa.second_step(api, held)).token

            # The account is checked first: a wrong password leaves no vault behind.
            token = run(sign_in())
            if device is None:
                err.print(f"Creating an encrypted vault at {vault}")
                device = Device(
                    Vault.create(
                        vault,
                        passphrase(confirm=True, prompt="New vault passphrase"),
                        kdf=kdf_params(),
                    )
                )
                device.vault.set_settings({"device_id": device_id})
            device.remember_session(url, handle, token)
            out.print(f"Logged in as [bold]{handle}[/bold] at {url}; vault: {vault}")
        finally:
            if device is not None:
                device.vault.close()


def unlock(
    for_: Annotated[
        str,
        typer.Option("--for", metavar="TIME", help="How long: 90s, 15m, 1h30m (at most 24h)."),
    ] = "15m",
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Keep the vault unlocked for a while (as ssh-agent does): no passphrase asked until then."""
    try:
        seconds = agent.parse_duration(for_)
    except ValueError as e:
        fail(f"--for: {e}")
    with clear_errors():
        device = open_device(vault)
        try:
            agent.start(vault, device.vault.key, seconds)
        finally:
            device.vault.close()
    minutes = f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
    out.print(f"Unlocked for {minutes}: `hugmood lock` locks it again sooner.")


def lock(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Forget the key `hugmood unlock` kept: the next command asks for the passphrase."""
    if agent.stop(vault):
        out.print("Locked: the next command asks for the passphrase.")
    else:
        out.print("The vault was not unlocked.")


def logout(vault: VaultOption = DEFAULT_VAULT) -> None:
    """End this device's session (the vault and its entries stay)."""
    with clear_errors():
        device = open_device(vault)
        try:
            if device.token is None:
                out.print("This device is already logged out.")
                return

            async def end() -> None:
                async with device.client() as api:
                    await api.logout()

            try:
                run(end())
            except (Offline, ApiError) as e:
                err.print(f"[yellow]the server was not told ({e}); this device forgets it[/]")
            device.forget_session()
            out.print("Logged out. Your entries stay in the vault.")
        finally:
            device.vault.close()


def sync(
    vault: VaultOption = DEFAULT_VAULT,
    batch: Annotated[int, typer.Option(help="Entries per upload.", min=1, max=500)] = 200,
) -> None:
    """Upload what this device queued (each exactly once) and download your other devices'."""
    with clear_errors():
        device = open_device(vault)
        try:
            # Sealed mode: the vault's pool of random factors refills while the sync waits.
            with sealed.refilling(device):
                report = _sync_with_progress(device, batch)
        finally:
            device.vault.close()
        print_report(report)
        if report.refused:
            raise typer.Exit(1)


def _sync_with_progress(device: Device, batch: int) -> SyncReport:
    with Progress(
        TextColumn("syncing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("upload", total=max(device.vault.counts()["pending"], 1))

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run(device.sync(progress=advance, batch_size=batch))


def print_report(report: SyncReport) -> None:
    out.print(
        f"uploaded {report.uploaded}, already there {report.already_there}, "
        f"hugs sent {report.hugs_sent}, downloaded {report.downloaded}, deleted {report.deleted}"
    )
    if report.notes_sealed or report.notes_opened or report.notes_unreadable:
        out.print(
            f"notes end to end: {report.notes_sealed} sealed, {report.notes_opened} opened"
            + (
                f", {report.notes_unreadable} not readable here (written after this device"
                " was unlinked)"
                if report.notes_unreadable
                else ""
            )
        )
    for op_id, reason in report.refused:
        err.print(f"[red]refused[/red] {op_id}: {reason} (kept in the vault)")


@vault_app.command("change-passphrase")
def change_passphrase(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Change the vault passphrase (only the key is rewrapped; entries stay as they are)."""
    with clear_errors():
        device = open_device(vault)
        try:
            new = os.environ.get("HUGMOOD_CLIENT_NEW_PASSPHRASE") or typer.prompt(
                "New vault passphrase", hide_input=True, confirmation_prompt=True
            )
            device.vault.change_passphrase(new)
            out.print("Passphrase changed.")
        finally:
            device.vault.close()


@vault_app.command("status")
def vault_status(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Who this vault belongs to, what it holds and what waits to sync."""
    with clear_errors():
        device = open_device(vault)
        try:
            counts = device.vault.counts()
            out.print(
                f"vault: {vault} (integrity {'ok' if device.vault.integrity_ok() else 'BAD'})"
            )
            out.print(f"account: {device.handle or '-'} at {device.server_url or '-'}")
            out.print(f"session: {'active' if device.token else 'logged out'}")
            out.print(
                f"entries: {counts['entries']}; waiting to sync: {counts['pending']}; "
                f"refused: {counts['refused']}; shareNotes: {device.share_notes}"
            )
            for op_id, kind, reason in device.vault.refused():
                out.print(f"  refused {kind} {op_id}: {reason}")
        finally:
            device.vault.close()


@vault_app.command("retry-refused")
def retry_refused(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Queue refused items again for the next sync."""
    with clear_errors():
        device = open_device(vault)
        try:
            out.print(f"{device.vault.retry_refused()} item(s) queued again")
        finally:
            device.vault.close()


@settings_app.command("share-notes")
def share_notes(
    value: Annotated[str, typer.Argument(help=f"One of: {', '.join(SHARE_NOTES)}.")],
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Which raw notes may leave this device: never (default), friends, public.

    never: only derived insights are uploaded. friends: notes of entries shared with
    friends or private. public: every note.
    """
    if value not in SHARE_NOTES:
        fail(f"share-notes must be one of {', '.join(SHARE_NOTES)} (got {value!r})")
    with clear_errors():
        device = open_device(vault)
        try:
            device.set_share_notes(value)
            out.print(f"shareNotes: {value}")
        finally:
            device.vault.close()


def register(app: typer.Typer) -> None:
    """Add the client commands to the `hugmood` command."""
    from hugmood.client import (
        cli_age,
        cli_community,
        cli_devices,
        cli_insights,
        cli_moods,
        cli_sealed,
        cli_signup,
        cli_social,
    )

    cli_signup.register(app)
    app.command()(login)
    app.command()(logout)
    app.command()(unlock)
    app.command()(lock)
    app.command()(sync)
    app.add_typer(vault_app, name="vault")
    app.add_typer(settings_app, name="settings")
    cli_moods.register(app)
    cli_social.register(app)
    cli_age.register(app)
    cli_sealed.register(app)
    cli_community.register(app)
    cli_insights.register(app)
    cli_devices.register(app)
    cli_mfa.register(app)
