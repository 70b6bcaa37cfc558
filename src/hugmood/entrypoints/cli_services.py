"""`hugmood services`: every instance of this region's service mesh, with its version,
endpoints and request, error and latency counts, as the instances report them on NATS."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from hugmood.config import ConfigError, Settings

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("services")(services)


def services(
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for instances to answer.", min=0.05, max=10)
    ] = 0.5,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per instance.")] = False,
) -> None:
    """List every service instance of this region's mesh (HUGMOOD_NATS_URL) with its version,
    endpoints and request/error/latency stats."""
    try:
        settings = Settings.from_env()
    except ConfigError as e:
        console.print(f"[red]configuration error:[/red] {e}")
        raise typer.Exit(2) from None
    if not settings.nats_url:
        console.print(
            "the service mesh runs on NATS: set HUGMOOD_NATS_URL (e.g. nats://127.0.0.1:4222)"
        )
        raise typer.Exit(2)
    import nats.errors

    try:
        instances = asyncio.run(_instances(settings, wait))
    except (nats.errors.Error, OSError, TimeoutError) as e:
        console.print(f"[red]NATS at {settings.nats_url} could not be reached:[/red] {e}")
        raise typer.Exit(1) from None
    if as_json:
        for instance in instances:
            typer.echo(orjson.dumps(instance).decode())
        return
    if not instances:
        console.print(f"no service instance answered in region {settings.region} within {wait:g} s")
        return
    out = Console() if Console().is_terminal else Console(width=200)
    out.print(_table(instances))


async def _instances(settings: Settings, wait_s: float) -> list[dict[str, Any]]:
    """INFO and STATS of every instance, joined on the instance id."""
    import nats

    from hugmood.mesh.client import gather

    async def quiet(error: Exception) -> None:
        """nats-py logs each failed attempt with a stack trace; the command says it once."""

    nc = await nats.connect(
        settings.nats_url,
        name="hugmood services",
        connect_timeout=3,
        # nats-py's first connect tries forever unless attempts are bounded (0 and -1 both
        # mean "no bound" there): one retry, then NoServersError.
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0.2,
        error_cb=quiet,
    )
    try:
        where = {"region": settings.region, "subject_prefix": settings.nats_subject_prefix}
        infos, stats = await asyncio.gather(
            gather(nc, "INFO", wait_s=wait_s, **where), gather(nc, "STATS", wait_s=wait_s, **where)
        )
    finally:
        await nc.close()
    stats_by_id = {s.get("id"): s for s in stats}
    joined = []
    for info in sorted(infos, key=lambda i: (str(i.get("name")), str(i.get("id")))):
        counted = {
            e.get("name"): e for e in stats_by_id.get(info.get("id"), {}).get("endpoints", [])
        }
        endpoints = [
            {
                "name": e.get("name"),
                "subject": e.get("subject"),
                "requests": counted.get(e.get("name"), {}).get("num_requests", 0),
                "errors": counted.get(e.get("name"), {}).get("num_errors", 0),
                "average_ms": counted.get(e.get("name"), {}).get("average_processing_time", 0)
                / 1e6,
                "last_error": counted.get(e.get("name"), {}).get("last_error") or "",
            }
            for e in info.get("endpoints") or []
        ]
        joined.append(
            {
                "name": info.get("name"),
                "id": info.get("id"),
                "version": info.get("version"),
                "process": (info.get("metadata") or {}).get("process", ""),
                "started": stats_by_id.get(info.get("id"), {}).get("started", ""),
                "endpoints": endpoints,
            }
        )
    return joined


def _table(instances: list[dict[str, Any]]) -> Table:
    table = Table(title="service mesh instances")
    for column in ("service", "id", "version", "process", "endpoint", "requests", "errors"):
        table.add_column(column, justify="right" if column in ("requests", "errors") else "left")
    table.add_column("avg ms", justify="right")
    table.add_column("last error")
    for instance in instances:
        first = True
        for e in instance["endpoints"] or [
            {"name": "-", "requests": 0, "errors": 0, "average_ms": 0.0, "last_error": ""}
        ]:
            head = (
                (instance["name"], instance["id"], instance["version"], instance["process"])
                if first
                else ("", "", "", "")
            )
            table.add_row(
                *head,
                str(e["name"]),
                str(e["requests"]),
                str(e["errors"]),
                f"{e['average_ms']:.2f}",
                str(e["last_error"]),
            )
            first = False
    return table
