"""`hugmood community …`: contribute to the community averages and read them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hugmood.client import community
from hugmood.client.cli_common import (
    DEFAULT_VAULT,
    VaultOption,
    clear_errors,
    fail,
    open_device,
    out,
)
from hugmood.privacy.he.errors import HomomorphicError

community_app = typer.Typer(
    help="Community averages: encrypted contributions, released only for 20 people or more.",
    no_args_is_help=True,
)


@community_app.command("contribute")
def contribute(
    mood: Annotated[str, typer.Option("--mood", "-m", help="A word of the mood vocabulary.")],
    intensity: Annotated[float, typer.Option("--intensity", "-i", help="0 to 1.")] = 0.5,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Add today's check-in to your region's cohort, encrypted (once a day)."""
    with clear_errors():
        device = open_device(vault)
        try:
            cohort = community.contribute(device, mood_type=mood, intensity=intensity)
            out.print(
                f"Contributed to {cohort}, encrypted: the average is released once the day is "
                "over, if at least 20 people took part."
            )
        except HomomorphicError as e:
            fail(str(e))
        finally:
            device.vault.close()


@community_app.command("averages")
def averages(
    days: Annotated[int, typer.Option(help="How far back.")] = 30,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """The community averages released for your region (with statistical noise)."""
    if not 1 <= days <= 366:
        fail("--days must be 1 to 366")
    with clear_errors():
        device = open_device(vault)
        try:
            releases = community.averages(device, days=days)
        finally:
            device.vault.close()
    table = Table("day", "people (about)", "intensity", "energy", "pleasantness")
    for r in releases:
        means = r["means"]
        table.add_row(
            r["day"],
            str(max(0, round(r["sums"]["count"]))),
            f"{means['intensity']:.2f}",
            f"{means['energy']:.2f}",
            f"{means['pleasantness']:.2f}",
        )
    out.print(table if releases else "No community averages released for these days yet.")


def register(app: typer.Typer) -> None:
    app.add_typer(community_app, name="community")
