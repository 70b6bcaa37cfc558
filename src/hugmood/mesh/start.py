"""Wiring the mesh into a process: the services every `hugmood serve` and `hugmood worker`
registers, and a client signing as that process; both on a NATS connection the caller owns."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import Protocol

from nats.aio.client import Client

from hugmood.application.dependencies import Dependencies
from hugmood.config import Settings
from hugmood.eventstore.store import EventStore
from hugmood.mesh.client import MeshClient
from hugmood.mesh.identity import RequestSigner, RequestVerifier, mesh_key
from hugmood.mesh.metrics import MeshMetrics
from hugmood.mesh.readside import BoardSnapshots, boards_service, moods_service
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


def start_mesh_services(
    core: MeshCore, nc: Client, *, kind: str, metrics: MeshMetrics | None = None
) -> MeshServices:
    """The read side's services (`moods`, `boards`) and this process's `<kind>` service, to
    enter as a service (`async with`): registered while entered, gone when left."""
    settings = core.settings
    process = process_name(kind)
    return MeshServices(
        nc,
        (
            moods_service(core.deps),
            boards_service(core.deps, core.boards),
            kind_service(kind, process, core.store, core.services),
        ),
        RequestVerifier(mesh_key(settings.secret_key, settings.region)),
        region=settings.region,
        subject_prefix=settings.nats_subject_prefix,
        process=process,
        metrics=metrics,
    )


def mesh_client(settings: Settings, nc: Client, *, kind: str) -> MeshClient:
    """A client for this region's mesh that signs as this process."""
    signer = RequestSigner(mesh_key(settings.secret_key, settings.region), process_name(kind))
    return MeshClient(
        nc, signer, region=settings.region, subject_prefix=settings.nats_subject_prefix
    )
