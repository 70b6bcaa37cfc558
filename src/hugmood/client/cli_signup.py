"""`hugmood signup`: create an account from the command line, in the country one lives in
(which decides where the data lives and which rules apply)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from hugmood.client.api import AsyncHugMoodClient
from hugmood.client.cli_common import DEFAULT_SERVER, ServerOption, clear_errors, out, run


def signup(
    handle: Annotated[str, typer.Option(help="3-30 characters: a letter, then a-z, 0-9 or _.")],
    country: Annotated[
        str | None,
        typer.Option(
            help="Where you live (ISO 3166-1 alpha-2, like DE or US): your data lives in that "
            "country's region and its rules apply. Omitted: the server's default country."
        ),
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="Shown to friends.")] = None,
    server: ServerOption = None,
) -> None:
    """Create an account (then `hugmood login`). The country is kept with the account and
    changes only by a migration of the account, not by you."""
    password = os.environ.get("HUGMOOD_CLIENT_PASSWORD") or typer.prompt(
        "Password (10 characters or more)", hide_input=True, confirmation_prompt=True, err=True
    )
    with clear_errors():

        async def create() -> dict[str, object]:
            async with AsyncHugMoodClient(server or DEFAULT_SERVER) as api:
                return await api.register(handle, display_name or handle, password, country=country)

        made = run(create())
        where = f" in {country.strip().upper()}" if country else ""
        out.print(
            f"Signed up as [bold]@{made['handle']}[/bold]{where}; your data lives in that "
            f"country's region (see `{{ me {{ homeRegion }} }}` once logged in). "
            f"Next: hugmood login --handle {made['handle']}"
        )


def register(app: typer.Typer) -> None:
    app.command()(signup)
