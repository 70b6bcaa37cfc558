"""`hugmood worker` (event consumers apart from the API) and `hugmood bus parked …` (what a
consumer could not take: list it, publish it again, or discard it)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from hugmood.config import ConfigError, Settings
from hugmood.messaging.bus import BusUnavailable
from hugmood.messaging.parking import Parking, UnknownParked, describe

console = Console(stderr=True)
bus_app = typer.Typer(help="The distributed log on NATS JetStream (HUGMOOD_NATS_URL).")
parked_app = typer.Typer(help="Messages a consumer parked: list, retry or discard them.")
bus_app.add_typer(parked_app, name="parked")

T = TypeVar("T")


def register(
    app: typer.Typer, settings: Callable[[], Settings], listen: Callable[[str, int], socket.socket]
) -> None:
    """Add `worker` and `bus` to the `hugmood` command."""
    app.add_typer(bus_app, name="bus")

    @app.command()
    def worker(
        consumer: Annotated[
            list[str] | None,
            typer.Option(
                "--consumer",
                "-c",
                help="Run only this consumer of the event table (repeat for more); default: all.",
            ),
        ] = None,
        host: Annotated[
            str | None, typer.Option(help="Interface for /healthz and /metrics.")
        ] = None,
        port: Annotated[
            int, typer.Option(help="Port for /healthz and /metrics (0: any free port).", min=0)
        ] = 0,
    ) -> None:
        """Run the relay and the event consumers that may run anywhere (the read models),
        with no API. With HUGMOOD_NATS_URL and PostgreSQL, workers share the work."""
        import uvicorn

        from hugmood.entrypoints.worker_app import create_worker_app
        from hugmood.observability.logging import configure_logging
        from hugmood.observability.tracing import configure_tracing

        base = _checked(replace(settings(), role="worker"))
        listener = listen(host or base.host, port)
        base = replace(base, host=host or base.host, port=int(listener.getsockname()[1]))
        configure_logging(base.log_level, json=base.log_json)
        configure_tracing("worker")

        def announce(s: Settings, services: list[str]) -> None:
            console.print(
                f"HugMood worker is up ({', '.join(services)}); "
                f"health: http://{s.host}:{s.port}/healthz"
            )

        config = uvicorn.Config(
            create_worker_app(base, frozenset(consumer) if consumer else None, announce),
            loop="uvloop",
            http="httptools",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
        uvicorn.Server(config).run(sockets=[listener])

    @app.command()
    def distributed(
        edges: Annotated[int, typer.Option(min=1, max=8, help="Edge processes.")] = 2,
        workers: Annotated[int, typer.Option(min=1, max=8, help="Worker processes.")] = 2,
        port: Annotated[
            int, typer.Option(min=1, max=65000, help="The first edge's port; the rest follow.")
        ] = 8000,
        demo: Annotated[bool, typer.Option("--demo", help="Seed the demo users.")] = False,
    ) -> None:
        """Run a local distributed HugMood: edges and workers as separate processes on
        PostgreSQL, Redis and NATS (HUGMOOD_DATABASE_URL, HUGMOOD_REDIS_URL, HUGMOOD_NATS_URL;
        the local services by default). Ctrl+C stops them all."""
        from pathlib import Path

        from hugmood.entrypoints.distributed import ProcessDied, Topology, topology_env

        env = topology_env({"HUGMOOD_LOG_JSON": "true"})
        _checked(replace(Settings.from_env(env), role="edge"))
        logs = Path(env.get("HUGMOOD_DATA_DIR", ".hugmood")) / "distributed"
        topology = Topology(
            env,
            logs,
            edge_ports=[port + n for n in range(edges)],
            worker_ports=[port + 100 + n for n in range(workers)],
            demo=demo,
        )

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt  # SIGTERM stops every process too, as Ctrl+C does

        signal.signal(signal.SIGTERM, interrupt)
        try:
            topology.start()
        except ProcessDied as e:
            topology.stop()
            console.print(f"[red]HugMood did not start:[/red] {e}")
            raise typer.Exit(1) from None
        for process in topology.processes:
            console.print(f"{process.name:>9}  {process.url}  log: {process.log_path}")
        console.print(f"open {topology.edges[0].url}/ (Ctrl+C stops every process)")
        try:
            while all(
                p.process is not None and p.process.poll() is None for p in topology.processes
            ):
                time.sleep(0.5)
            console.print("[red]a process exited[/red]; stopping the others")
        except KeyboardInterrupt:
            pass
        finally:
            topology.stop()

    def with_parking(job: Callable[[Parking, Settings], Awaitable[T]]) -> T:
        configured = _checked(settings())
        if not configured.nats_url:
            console.print(
                "[red]no bus is configured:[/red] set HUGMOOD_NATS_URL (the embedded bus parks "
                "nothing: its consumers follow the store)"
            )
            raise typer.Exit(2)

        async def run() -> T:
            from contextlib import AsyncExitStack

            from hugmood.bootstrap import open_nats

            async with AsyncExitStack() as stack:
                nats = await open_nats(configured, stack)
                assert nats is not None
                return await job(nats.parking, configured)

        try:
            return asyncio.run(run())
        except BusUnavailable as e:
            console.print(f"[red]the bus is unavailable:[/red] {e}")
            raise typer.Exit(1) from None
        except UnknownParked as e:
            console.print(f"[red]{e.args[0]}[/red]")
            raise typer.Exit(1) from None

    @parked_app.command("list")
    def parked_list(
        limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """The oldest parked messages: consumer, subject, position and reason (not their
        content, which may be personal)."""

        async def job(parking: Parking, _: Settings) -> list[dict[str, object]]:
            return describe(await parking.list(limit=limit))

        found = with_parking(job)
        if as_json:
            typer.echo(json.dumps(found, indent=2))
        elif not found:
            console.print("nothing is parked")
        for m in [] if as_json else found:
            typer.echo(
                f"{m['sequence']:>6}  {m['consumer']}  {m['subject']}  position {m['position']}"
                f"  parked {m['parkedAt']}\n        {m['reason']}"
            )

    @parked_app.command("retry")
    def parked_retry(
        sequence: Annotated[int, typer.Argument(help="Its number in `hugmood bus parked list`.")],
    ) -> None:
        """Publish a parked message again on its subject (every consumer sees it once more;
        what one already applied changes nothing) and remove it from the parked."""

        async def job(parking: Parking, configured: Settings) -> str:
            from contextlib import AsyncExitStack

            from hugmood.bootstrap import open_nats
            from hugmood.messaging.bus import MSG_ID_HEADER, OutgoingMessage
            from hugmood.messaging.consumer import RETRY_MARK

            message = await parking.get(sequence)
            async with AsyncExitStack() as stack:
                nats = await open_nats(configured, stack)
                assert nats is not None
                await nats.bus.start()
                headers = {k: v for k, v in message.headers.items() if k != MSG_ID_HEADER}
                original = message.headers.get(MSG_ID_HEADER) or f"parked-{sequence}"
                await nats.bus.publish(
                    [
                        OutgoingMessage(
                            message.subject,
                            message.data,
                            # A new id: the old one may still be inside the duplicate window.
                            msg_id=f"{original}{RETRY_MARK}{sequence}",
                            headers=headers,
                        )
                    ]
                )
            await parking.discard(sequence)  # only once it is published again
            return message.subject

        subject = with_parking(job)
        console.print(f"published parked message {sequence} again on {subject}")

    @parked_app.command("discard")
    def parked_discard(
        sequence: Annotated[int, typer.Argument(help="Its number in `hugmood bus parked list`.")],
    ) -> None:
        """Remove a parked message for good (the event store still holds every real event)."""

        async def job(parking: Parking, _: Settings) -> str:
            reason = (await parking.get(sequence)).reason
            await parking.discard(sequence)
            return reason

        reason = with_parking(job)
        console.print(f"discarded parked message {sequence} (it was parked for: {reason})")


def _checked(settings: Settings) -> Settings:
    try:
        settings.validate()
    except ConfigError as e:
        console.print(f"[red]configuration error:[/red] {e}")
        raise typer.Exit(2) from None
    return settings
