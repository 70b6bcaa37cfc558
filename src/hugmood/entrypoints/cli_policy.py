"""`hugmood policy`: the regional rules in force (`show`) and the audit trail of their
changes (`history`), for operators."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table

from hugmood.config import ConfigError, Settings
from hugmood.domain.regions import RegionPolicyChanged
from hugmood.regions.policy import FEATURES, PARTICIPATION, RegionalPolicies, open_policies

console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 160)
policy_app = typer.Typer(help="The regional rules: what is in force, and every change.")


def register(app: typer.Typer, settings: Callable[[], Settings]) -> None:
    app.add_typer(policy_app, name="policy")

    @policy_app.command("show")
    def show(
        region: str | None = typer.Option(None, help="Only this region (default: every one)."),
    ) -> None:
        """Print each region's rules as loaded from its file: per country, the age of digital
        consent, the verified age each feature needs, retention, opt-in or opt-out, and what
        data may leave the region."""
        policies = _policies(settings())
        names = [region] if region else sorted(policies.regions)
        for name in names:
            if name not in policies.regions:
                console.print(
                    f"[red]no region {name!r}[/red]; known: {', '.join(policies.regions)}"
                )
                raise typer.Exit(2)
            _print_region(policies, name)

    @policy_app.command("history")
    def history(
        region: str | None = typer.Option(None, help="The region (default: this server's)."),
    ) -> None:
        """Every recorded change of a region's rules (RegionPolicyChanged events): when, which
        version, its digest and the rules that changed."""
        current = settings()
        name = region or current.region
        changes = asyncio.run(_history(current, name))
        if not changes:
            out.print(f"No change of {name}'s rules recorded yet (recorded when a server starts).")
            return
        table = Table(title=f"Rule changes in {name}")
        for column in ("recorded at", "version", "digest", "changed rules"):
            table.add_column(column)
        for n, (at, change) in enumerate(changes):
            keys = change.changed_keys
            shown = ", ".join(keys[:8]) + (f" … (+{len(keys) - 8})" if len(keys) > 8 else "")
            if n == 0:
                shown = f"first record ({len(change.rules)} rules)"
            table.add_row(
                at.isoformat(timespec="seconds"), str(change.version), change.digest[:16], shown
            )
        out.print(table)


def _policies(settings: Settings) -> RegionalPolicies:
    try:
        return open_policies(settings)
    except ConfigError as e:
        console.print(f"[red]the rules do not load:[/red] {e}")
        raise typer.Exit(2) from None


def _print_region(policies: RegionalPolicies, name: str) -> None:
    policy = policies.policy(name)
    out.print(
        f"[bold]{name}[/bold] version {policy.version}, digest {policy.digest[:16]}, "
        f"from {policy.source}"
    )
    table = Table()
    for column in ("country", "consent age", *FEATURES, "retention days", *PARTICIPATION):
        table.add_column(column.replace("_", " "))
    served = sorted(policies.geography.regions[name].countries)
    for country in served:
        rules = policy.rules_for(country)
        table.add_row(
            country,
            str(rules.digital_consent_age),
            *(str(rules.verified_age[f]) for f in FEATURES),
            str(rules.retention_days or "kept"),
            *(rules.participation[p].value for p in PARTICIPATION),
        )
    out.print(table)
    egress = Table(title=f"What may leave {name}")
    egress.add_column("data")
    egress.add_column("form")
    for kind, form in policy.egress.items():
        egress.add_row(kind, form.value)
    out.print(egress)


async def _history(settings: Settings, region: str) -> list[tuple[datetime, RegionPolicyChanged]]:
    from hugmood.bootstrap import open_hugmood
    from hugmood.regions.audit import policy_history

    async with open_hugmood(settings, run_services=False) as core:
        return await policy_history(core.store, region)
