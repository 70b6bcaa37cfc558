"""A mesh instance in a process of its own, for tests that kill it: `python -m
tests.integration.mesh_process <nats url> <subject prefix> <secret> <ledger file> <name>`.
It serves the `ledger` test service until it is killed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import nats
from nats.aio.client import Client

from hugmood.mesh.identity import Caller, RequestVerifier, mesh_key
from hugmood.mesh.payload import text
from hugmood.mesh.service import JsonObject, MeshEndpoint, MeshServices, MeshServiceSpec

REGION = "eu-west"
RECORD_HOLD_S = 0.3
"""How long `record` holds its answer after the effect: the window in which a kill leaves a
request executed but unanswered."""


def ledger_service(name: str, ledger: Path | None) -> MeshServiceSpec:
    """`ledger.record` appends the request's ticket to `ledger` (an effect that must not
    happen twice: not idempotent); `ledger.read` only says which instance answered."""

    async def record(caller: Caller, payload: JsonObject) -> JsonObject:
        ticket = text(payload, "ticket")
        if ledger is not None:
            with ledger.open("a") as f:
                f.write(ticket + "\n")
        await asyncio.sleep(RECORD_HOLD_S)
        return {"ticket": ticket, "instance": name}

    async def read(caller: Caller, payload: JsonObject) -> JsonObject:
        await asyncio.sleep(0.01)
        return {"instance": name, "user": caller.user_id}

    return MeshServiceSpec(
        "ledger",
        "1.0.0",
        "A test service with one effect",
        (
            MeshEndpoint("record", record, "Append a ticket", idempotent=False),
            MeshEndpoint("read", read, "Say who answers"),
        ),
    )


def serve(nc: Client, prefix: str, secret: str, spec: MeshServiceSpec, name: str) -> MeshServices:
    return MeshServices(
        nc,
        [spec],
        RequestVerifier(mesh_key(secret, REGION)),
        region=REGION,
        subject_prefix=prefix,
        process=name,
    )


async def main(url: str, prefix: str, secret: str, ledger: Path, name: str) -> None:
    nc = await nats.connect(url, name=name)
    async with serve(nc, prefix, secret, ledger_service(name, ledger), name):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]), sys.argv[5]))
