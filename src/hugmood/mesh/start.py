"""Wiring the mesh into a process: the services every `hugmood serve` and `hugmood worker`
registers (`open_mesh`, from the composition root), and a client signing as that process."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Protocol

from nats.aio.client import Client

from hugmood.application.dependencies import Dependencies
from hugmood.application.heavy_reads import BoardSnapshots, HeavyReads
from hugmood.config import Settings
from hugmood.eventstore.store import EventStore
from hugmood.mesh.client import MeshClient
from hugmood.mesh.identity import RequestSigner, RequestVerifier, mesh_key
from hugmood.mesh.reads import MeshReads
from hugmood.mesh.readside import boards_service, moods_service
from hugmood.mesh.service import MeshServices
from hugmood.mesh.status import Supervised, kind_service


class MeshCore(Protocol):
    """What the mesh needs of a running HugMood (`bootstrap.HugMood`)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> EventStore: ...

    @property
    def deps(self) -> Dependencies: ...

    @property
    def boards(self) -> BoardSnapshots: ...

    @property
    def services(self) -> Sequence[Supervised]: ...


def process_name(kind: str) -> str:
    """How a process names itself to the mesh: `<kind>:<host>:<pid>`."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def mesh_services(
    settings: Settings,
    nc: Client,
    *,
    kind: str,
    store: EventStore,
    deps: Dependencies,
    boards: BoardSnapshots,
    services: Sequence[Supervised],
) -> MeshServices:
    """The read side's services (`moods`, `boards`) and this process's `<kind>` service (which
    reports on `services`), to enter as a service: registered while entered, gone when left."""
    process = process_name(kind)
    return MeshServices(
        nc,
        (
            moods_service(deps),
            boards_service(deps, boards),
            kind_service(kind, process, store, services),
        ),
        RequestVerifier(mesh_key(settings.secret_key, settings.region)),
        region=settings.region,
        subject_prefix=settings.nats_subject_prefix,
        process=process,
    )


def start_mesh_services(core: MeshCore, nc: Client, *, kind: str) -> MeshServices:
    """`mesh_services` for a running HugMood, on a connection the caller owns."""
    return mesh_services(
        core.settings,
        nc,
        kind=kind,
        store=core.store,
        deps=core.deps,
        boards=core.boards,
        services=core.services,
    )


async def open_mesh(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    kind: str,
    store: EventStore,
    deps: Dependencies,
    boards: BoardSnapshots,
    services: Sequence[Supervised],
) -> MeshServices:
    """`mesh_services` on a NATS connection of their own (closed by `stack`), so that mesh
    requests never queue behind the bus's JetStream traffic; `BusUnavailable` if NATS is away."""
    from hugmood.messaging.jetstream import connect

    nc = await connect(settings.nats_url, name=f"hugmood mesh {kind}")
    stack.push_async_callback(nc.close)
    return mesh_services(
        settings, nc, kind=kind, store=store, deps=deps, boards=boards, services=services
    )


def mesh_client(settings: Settings, nc: Client, *, kind: str) -> MeshClient:
    """A client for this region's mesh that signs as this process."""
    signer = RequestSigner(mesh_key(settings.secret_key, settings.region), process_name(kind))
    return MeshClient(
        nc, signer, region=settings.region, subject_prefix=settings.nats_subject_prefix
    )


EDGE_ATTEMPT_TIMEOUT_S = 2.5
"""A heavy query (a year of days) may take a while on a busy worker: asked again after this."""


def edge_reads(settings: Settings, mesh: MeshServices, local: HeavyReads) -> MeshReads:
    """An edge's heavier queries, asked of the workers on the mesh's connection; answered by
    `local` when no worker can."""
    signer = RequestSigner(mesh_key(settings.secret_key, settings.region), process_name("edge"))
    client = MeshClient(
        mesh.connection,
        signer,
        region=settings.region,
        subject_prefix=settings.nats_subject_prefix,
        attempt_timeout_s=EDGE_ATTEMPT_TIMEOUT_S,
    )
    return MeshReads(client, local)
