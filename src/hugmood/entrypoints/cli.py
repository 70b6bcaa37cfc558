"""The `hugmood` command: serve the API (optionally with demo data), rebuild read models."""

from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import replace
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hugmood.config import ConfigError, Settings
from hugmood.entrypoints import (
    cli_help,
    cli_keys,
    cli_policy,
    cli_region,
    cli_services,
    cli_workers,
)
from hugmood.regions.hosting import hosted_regions, remote_regions
from hugmood.regions.policy import open_policies

app = typer.Typer(
    help="HugMood: check in your mood, share it as far as you choose, send hugs.",
    no_args_is_help=True,
    add_completion=False,
)
projections_app = typer.Typer(help="Manage read models (projections of the event log).")
app.add_typer(projections_app, name="projections")
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as e:
        console.print(f"[red]configuration error:[/red] {e}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.", min=1, max=65535)] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed demo users and a month of moods if absent.")
    ] = False,
    edge_only: Annotated[
        bool,
        typer.Option(
            "--edge-only",
            help="Only the API and sockets: the read models and the relay run in "
            "`hugmood worker` processes (needs PostgreSQL).",
        ),
    ] = False,
) -> None:
    """Serve the GraphQL API at /graphql (GraphiQL in development), /healthz and /metrics."""
    import uvicorn

    from hugmood.entrypoints.asgi import create_app
    from hugmood.observability.logging import configure_logging
    from hugmood.observability.tracing import configure_tracing

    settings = _settings()
    settings = replace(settings, host=host or settings.host, port=port or settings.port)
    if edge_only:
        settings = replace(settings, role="edge")
        try:
            settings.validate()
        except ConfigError as e:
            console.print(f"[red]configuration error:[/red] {e}")
            raise typer.Exit(2) from None
    try:
        cli_keys.check_master_key(settings)
        # The regions and their rules: an unknown region or a malformed file stops here.
        geography = open_policies(settings).geography
        hosted_regions(settings, geography)
        remote_regions(settings, geography)
    except ConfigError as e:
        console.print(f"[red]HugMood did not start:[/red] {e}")
        raise typer.Exit(2) from None
    # Bind before anything else: "HugMood is up" is only said once the port is ours.
    listener = _listen(settings.host, settings.port)
    configure_logging(settings.log_level, json=settings.log_json)
    configure_tracing(settings.role)
    application: Any = create_app(settings, seed_demo=demo, announce=_announce)
    if settings.regions:
        from hugmood.entrypoints.regional import RegionalEdge

        # Several regions behind one edge, each with stores of its own (`regions.hosting`).
        application = RegionalEdge(settings, seed_demo=demo, announce=_announce)
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        # The sans-I/O implementation keeps no task or queue per socket (pings are timers).
        ws="websockets-sansio",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        # Frames above this close the socket with 1009 (message too big).
        ws_max_size=settings.ws_max_message_bytes,
        # A client that vanishes without closing stops answering pings: its socket closes,
        # and its device leaves presence, well within two heartbeat intervals.
        ws_ping_interval=settings.presence_heartbeat_s / 2,
        ws_ping_timeout=settings.presence_heartbeat_s / 2,
        # permessage-deflate keeps zlib state per socket (~50 KB each, measured by
        # bench/realtime.py) to shrink messages that are a few hundred bytes anyway.
        ws_per_message_deflate=False,
    )
    uvicorn.Server(config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a clear message (exit 2) when it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening now means a browser opened at the announced URL waits in the backlog
        # until the app has started, instead of being refused.
        sock.listen(2048)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            console.print(
                f"[red]Port {port} on {host} is already in use[/red] by another program, "
                "so HugMood did not start.\n"
                f"Stop that program, or choose another port: "
                f"[bold]hugmood serve --port {port + 1}[/bold] "
                f"(or [bold]HUGMOOD_PORT={port + 1} make run[/bold])."
            )
        else:
            console.print(
                f"[red]HugMood cannot listen on {host}:{port}:[/red] {e.strerror or e}. "
                "Choose another address with --host / HUGMOOD_HOST "
                "or another port with --port / HUGMOOD_PORT."
            )
        raise typer.Exit(2) from None
    return sock


def _announce(settings: Settings, demo_logins: list[str]) -> None:
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"\n[bold]HugMood[/bold] is up: the web app at [cyan]{url}/[/cyan]")
    console.print(f"GraphQL at [cyan]{url}/graphql[/cyan]")
    where = "memory" if settings.database_url == "memory" else settings.database_url
    if settings.database_url == "sqlite":
        where = f"SQLite in {settings.data_dir}"
    console.print(f"storage: {where}; health: {url}/healthz; metrics: {url}/metrics")
    if demo_logins:
        from hugmood.entrypoints.demo import DEMO_PASSWORD

        table = Table(title="Demo logins")
        table.add_column("handle")
        table.add_column("password")
        for handle in demo_logins:
            table.add_row(handle, DEMO_PASSWORD)
        console.print(table)
    console.print("Press Ctrl+C to stop.\n")


@projections_app.command("rebuild")
def rebuild() -> None:
    """Clear every read model and rebuild it from event position 0. Stop the server first."""
    from hugmood.bootstrap import open_hugmood

    async def run() -> int:
        async with open_hugmood(_settings(), run_services=False) as core:
            return await core.projections.rebuild()

    replayed = asyncio.run(run())
    console.print(f"rebuilt every read model from {replayed} events")


@projections_app.command("status")
def status() -> None:
    """Show how far the read models are behind the event log."""
    from hugmood.bootstrap import open_hugmood

    async def run() -> tuple[int, int]:
        async with open_hugmood(_settings(), run_services=False) as core:
            await core.projections.catch_up_now()
            return await core.store.last_position(), core.projections.position

    log_position, read_position = asyncio.run(run())
    console.print(f"event log position: {log_position}; read models at: {read_position}")


def _register_client_commands() -> None:
    """The local-first client's commands (login, mood, sync, …) live in `hugmood.client`."""
    from hugmood.client.cli import register

    register(app)
    from hugmood.client import learning_cli
    from hugmood.learning.cli import learning_app

    learning_cli.register(app, learning_app)
    app.add_typer(learning_app, name="learning")


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL), as kept in docs/schema.graphql."""
    from hugmood.entrypoints.graphql.schema import export_sdl

    typer.echo(export_sdl(), nl=False)


cli_help.use_readable_labels()
_register_client_commands()
cli_services.register(app)
cli_keys.register(app, _settings)
cli_policy.register(app, _settings)
cli_region.register(app, _settings)
cli_workers.register(app, _settings, _listen)


def main() -> None:
    app()
