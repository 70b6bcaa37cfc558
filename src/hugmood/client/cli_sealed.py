"""`hugmood sealed …`: check-ins whose scores only this device can read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from hugmood.client import sealed
from hugmood.client.cli_common import (
    DEFAULT_VAULT,
    VaultOption,
    clear_errors,
    fail,
    open_device,
    out,
)
from hugmood.client.sealing_pool import MAX_POOL, TARGET
from hugmood.privacy.he.errors import HomomorphicError

sealed_app = typer.Typer(
    help="Sealed mode: scores leave this device only encrypted (Paillier, 3072-bit).",
    no_args_is_help=True,
)


@sealed_app.command("enable")
def enable(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Make this vault's sealing key (kept here) and give the server its public half."""
    with clear_errors():
        device = open_device(vault)
        try:
            key_id = sealed.enable(device)
            out.print(f"Sealed mode on: key {key_id}. The private key stays in {vault}.")
        finally:
            device.vault.close()


@sealed_app.command("add")
def add(
    mood: Annotated[str, typer.Option("--mood", "-m", help="A word of the mood vocabulary.")],
    intensity: Annotated[float, typer.Option("--intensity", "-i", help="0 to 1.")] = 0.5,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """A check-in uploaded only as a ciphertext under your key."""
    with clear_errors():
        device = open_device(vault)
        try:
            entry_id = sealed.add(device, mood_type=mood, intensity=intensity)
            out.print(f"Sealed check-in {entry_id} stored; the server cannot read its scores.")
        except HomomorphicError as e:
            fail(str(e))
        finally:
            device.vault.close()


@sealed_app.command("precompute")
def precompute(
    count: Annotated[
        int, typer.Option(help="How many to keep ready (one per sealed check-in).")
    ] = TARGET,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Compute random factors now (~0.1 s each), so that sealed check-ins are instant later."""
    if not 1 <= count <= MAX_POOL:
        fail(f"--count must be 1 to {MAX_POOL}")
    with clear_errors():
        device = open_device(vault)
        try:
            added, ready = sealed.precompute(device, count)
        finally:
            device.vault.close()
    out.print(f"{added} computed; {ready} ready in the vault, each used for one check-in only.")


@sealed_app.command("history")
def history(
    days: Annotated[int, typer.Option(help="How far back.")] = 30,
    aggregation: Annotated[str, typer.Option(help="day, week or month.")] = "day",
    time_zone: Annotated[str, typer.Option("--time-zone", help="IANA name.")] = "UTC",
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Your history computed by the server on ciphertexts, decrypted here."""
    if not 1 <= days <= 3 * 366:
        fail("--days must be 1 to 1098")
    end = datetime.now(UTC) + timedelta(minutes=1)
    with clear_errors():
        device = open_device(vault)
        try:
            buckets = sealed.history(
                device,
                start=end - timedelta(days=days),
                end=end,
                aggregation=aggregation,
                time_zone=time_zone,
            )
        except HomomorphicError as e:
            fail(f"the server's sums could not be decrypted with this vault's key: {e}")
        finally:
            device.vault.close()
    table = Table("start", "count", "intensity", "energy", "pleasantness")
    for b in buckets:
        table.add_row(
            b.start.isoformat(),
            str(b.count),
            f"{b.mean_intensity:.4f}",
            f"{b.mean_energy:.4f}",
            f"{b.mean_pleasantness:.4f}",
        )
    out.print(table if buckets else "No sealed check-ins in that range.")


def register(app: typer.Typer) -> None:
    app.add_typer(sealed_app, name="sealed")
