"""`hugmood region`: operators' work on regions — moving a person to another one (`move`,
decision 0029), with the servers of both regions stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from hugmood.config import ConfigError, Settings
from hugmood.domain.errors import HugMoodError, NotFound, ValidationFailed
from hugmood.domain.identity import check_country

if TYPE_CHECKING:
    from hugmood.application.region_move import MoveReport
    from hugmood.bootstrap import HugMood

console = Console(stderr=True, soft_wrap=True)  # a message is one line, whatever the width
region_app = typer.Typer(help="Operators' work on regions: moving a person to another one.")


def register(app: typer.Typer, settings: Callable[[], Settings]) -> None:
    app.add_typer(region_app, name="region")

    @region_app.command("move")
    def move(
        handle: str = typer.Option(..., help="Whose account moves (their @handle)."),
        to: str = typer.Option(..., "--to", help="The region that keeps their data from now on."),
        country: str | None = typer.Option(
            None, help="Their new country (ISO 3166-1, like US): one the new region serves."
        ),
    ) -> None:
        """Move a person's data to another region hosted by this configuration: copied there
        under a new key, forgotten here like an erasure except what friends keep. Stop the
        servers first; running it again finishes an interrupted move and changes nothing
        after a finished one. The person signs in again."""
        try:
            report = asyncio.run(
                _run_move(settings(), handle.strip().removeprefix("@").lower(), to, country)
            )
        except (ConfigError, HugMoodError) as e:
            console.print(f"[red]not moved:[/red] {escape(str(e))}")
            raise typer.Exit(2) from None
        if report.already_moved:
            console.print(f"@{report.handle} already lives in {report.target}: nothing to copy.")
            return
        console.print(
            f"@{report.handle} moved from {report.source} to {report.target}: "
            f"{report.events} events in {report.streams} streams, {report.boards} boards, "
            f"{report.blobs} images; {len(report.friends_abroad)} friends stay in "
            f"{report.source}. They sign in again."
        )


async def _run_move(
    settings: Settings, handle: str, target: str, country: str | None
) -> MoveReport:
    """Open both regions' stores (with no service running) and move the person."""
    from hugmood.application.region_move import Region, has_account, move_person, moved_to
    from hugmood.bootstrap import open_hugmood
    from hugmood.regions.hosting import hosted_regions, open_directory, region_settings
    from hugmood.regions.policy import open_policies

    settings = settings.with_secret()
    geography = open_policies(settings).geography
    hosted = hosted_regions(settings, geography)
    if target not in hosted:
        raise ConfigError(
            f"{target!r} is not a region hosted here (HUGMOOD_REGIONS={settings.regions!r}): "
            "a move needs both regions' stores in one configuration"
        )
    async with AsyncExitStack() as stack:
        directory = await open_directory(settings)
        if directory is None:
            raise ConfigError("moving a person needs the regions' directory (HUGMOOD_REGIONS)")
        stack.push_async_callback(directory.close)
        listing = await directory.by_handle(handle)
        if listing is None:
            raise NotFound(f"nobody is listed as @{handle}")
        cores: dict[str, HugMood] = {}

        async def core(name: str) -> HugMood:
            if name not in cores:
                cores[name] = await stack.enter_async_context(
                    open_hugmood(
                        region_settings(settings, name), run_services=False, directory=directory
                    )
                )
            return cores[name]

        source = listing.region
        if source == target:
            # Listed there already: a move that stopped half-way is finished from where the
            # person left, and a finished one changes nothing.
            for name in hosted:
                if name == target:
                    continue
                deps = (await core(name)).deps
                if await moved_to(deps, listing.user_id) or await has_account(
                    deps, listing.user_id
                ):
                    source = name
                    break
            else:
                raise ValidationFailed(f"@{handle} lives in {target} already")
        elif source not in hosted:
            raise ConfigError(f"@{handle} lives in {source}, which is not hosted here")
        report = await move_person(
            handle,
            Region(source, (await core(source)).deps),
            Region(target, (await core(target)).deps),
            directory,
            # (Not asked again of a move the directory already records: it is only finished.)
            country=""
            if listing.region == target
            else _new_country(geography.region(target).countries, target, handle, country),
        )
        for opened in cores.values():  # the read models answer as the servers will
            await opened.projections.catch_up_now()
        return report


def _new_country(served: Collection[str], target: str, handle: str, country: str | None) -> str:
    if not country:
        raise ValidationFailed(
            f"name @{handle}'s new country with --country (one {target} serves: "
            f"{', '.join(sorted(served))})",
            field="country",
        )
    chosen = check_country(country)
    if chosen not in served:
        raise ValidationFailed(f"{target} does not serve {chosen}", field="country")
    return chosen
