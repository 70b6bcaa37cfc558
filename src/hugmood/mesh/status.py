"""One mesh service per process kind (`edge`, `worker`, …): what the process runs, how far it
has read the log, and which event consumers it serves; asked by operators and other services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hugmood.application.consumers import EVENT_CONSUMERS
from hugmood.eventstore.store import EventStore
from hugmood.mesh.identity import Caller
from hugmood.mesh.service import JsonObject, MeshEndpoint, MeshServiceSpec
from hugmood.messaging.relay import subject_token

VERSION = "1.0.0"


class Supervised(Protocol):
    """A long-lived service as its status shows it (`hugmood.services.Service`)."""

    @property
    def name(self) -> str: ...

    @property
    def running(self) -> bool: ...

    @property
    def crashes(self) -> int: ...


def kind_service(
    kind: str, process: str, store: EventStore, services: Sequence[Supervised]
) -> MeshServiceSpec:
    """`<kind>.status` and `<kind>.consumers`: read-only, for any verified caller."""

    async def status(caller: Caller, payload: JsonObject) -> JsonObject:
        return {
            "kind": kind,
            "process": process,
            "logPosition": await store.last_position(),
            "services": [
                {"name": s.name, "running": s.running, "crashes": s.crashes} for s in services
            ],
        }

    async def consumers(caller: Caller, payload: JsonObject) -> JsonObject:
        here = {s.name: s for s in services}
        return {
            "kind": kind,
            "consumers": [
                {
                    "name": c.name,
                    "runs": c.runs.value,
                    "resume": c.resume.value,
                    "here": c.name in here and here[c.name].running,
                }
                for c in EVENT_CONSUMERS
            ],
        }

    return MeshServiceSpec(
        name=subject_token(kind),
        version=VERSION,
        description=f"A HugMood {kind} process: its services and event consumers",
        endpoints=(
            MeshEndpoint(
                "status",
                status,
                "The process's services (running, crashes) and the log's position",
                needs_user=False,
            ),
            MeshEndpoint(
                "consumers",
                consumers,
                "Every event consumer and whether this process runs it",
                needs_user=False,
            ),
        ),
    )
