"""`hugmood insights`: what your check-ins say about you, from the server (it analyses only
what you shared with it: never a note's text, only the sentiment your device derived);
`--helpful` / `--dismiss` answer one; `--similar-minds` shows the discoverable people whose
patterns are nearest yours and what helped most of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hugmood.client.cli_common import (
    DEFAULT_VAULT,
    VaultOption,
    clear_errors,
    open_device,
    out,
    run,
)
from hugmood.client.device import Device

INSIGHTS = """
query($n: Int!) { insights(limit: $n) { id kind sentence numbers generatedAt helpful } }"""
ANSWERS = {
    "helpful": "mutation($i: ID!) { markInsightHelpful(id: $i) { id } }",
    "dismiss": "mutation($i: ID!) { dismissInsight(id: $i) { id } }",
}
SIMILAR = """
query {
  similarMinds(limit: 5) { people { handle displayName } checkInsNeeded }
  similarMindsHelped { enoughPeople sentence }
}"""
EMPTY = (
    "Nothing to say yet. Insights come once there is enough to tell noise from a pattern: "
    "a place, weather, company or tag needs at least 3 days with it and 3 without, a "
    "weekday pattern a few weeks of check-ins, a trend four weeks."
)


def insights(
    helpful: Annotated[
        str | None, typer.Option("--helpful", help="Mark the insight with this id helpful.")
    ] = None,
    dismiss: Annotated[
        str | None, typer.Option("--dismiss", help="Dismiss the insight with this id.")
    ] = None,
    similar_minds: Annotated[
        bool,
        typer.Option(
            "--similar-minds",
            help="Show the discoverable people whose mood patterns are nearest yours, and what"
            " went with better days for most of the 20 nearest (you must be discoverable).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """What your check-ins say about you: what goes with your better days, weekday and
    time-of-day patterns, trends, each with the numbers behind it."""
    if similar_minds:
        _similar_minds(as_json, vault)
        return

    async def fetch(device: Device) -> list[dict[str, Any]]:
        async with device.client() as api:
            for action, insight_id in (("helpful", helpful), ("dismiss", dismiss)):
                if insight_id is not None:
                    await api.execute(ANSWERS[action], i=insight_id)
            found: list[dict[str, Any]] = (await api.execute(INSIGHTS, n=50))["insights"]
            return found

    with clear_errors():
        device = open_device(vault)
        try:
            found = run(fetch(device))
        finally:
            device.vault.close()
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if not found:
        out.print(EMPTY)
        return
    table = Table(title=f"insights ({len(found)})")
    table.add_column("id")
    table.add_column("what your check-ins say")
    table.add_column("helpful")
    for insight in found:
        table.add_row(
            str(insight["id"])[:8], str(insight["sentence"]), "yes" if insight["helpful"] else ""
        )
    out.print(table)
    out.print("Answer with --helpful <id> or --dismiss <id> (the full id: see --json).")


def _similar_minds(as_json: bool, vault: Path) -> None:
    async def fetch(device: Device) -> dict[str, Any]:
        async with device.client() as api:
            found: dict[str, Any] = await api.execute(SIMILAR)
            return found

    with clear_errors():
        device = open_device(vault)
        try:
            found = run(fetch(device))
        finally:
            device.vault.close()
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    minds, helped = found["similarMinds"], found["similarMindsHelped"]
    if minds["checkInsNeeded"]:
        out.print(f"{minds['checkInsNeeded']} more check-ins and you can be compared with others.")
        return
    if minds["people"]:
        table = Table(title="similar minds")
        table.add_column("handle")
        table.add_column("name")
        for person in minds["people"]:
            table.add_row(f"@{person['handle']}", str(person["displayName"]))
        out.print(table)
    else:
        out.print("Nobody to show yet: similar minds appear as more people turn this on.")
    out.print(str(helped["sentence"]))


def register(app: typer.Typer) -> None:
    app.command()(insights)
