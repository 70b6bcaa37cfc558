"""Hug delivery across regions against within one region (issue 18), in the same run: from
`sendHug` leaving the sender to the `hugReceived` frame reaching the recipient's socket.

- `regions_hugs.in_process`: one server hosting `eu-west,us-east` (embedded SQLite); a US
  person's socket receives hugs from a US friend (the baseline: decided and pushed in one
  region) and from an EU friend (decided in the EU region, copied to the US one, whose relay
  pushes it; its message read back from the EU region for the frame).
- `regions_hugs.remote`: the US region a deployment of its own on PostgreSQL, the EU region an
  edge calling it over signed HTTP (`HUGMOOD_FEDERATION_KEY`), when PostgreSQL is reachable.
One hug at a time, each waited for at the recipient; the two senders take turns over rounds.

Run: `.venv/bin/python bench/regions_hugs.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from _common import (
    HOST,
    POSTGRES_URL,
    HttpConnection,
    emit_latencies,
    graphql,
    graphql_headers,
    hugmood_server,
    log_in,
    machine_params,
    postgres_reachable,
    run,
    servers,
    throwaway_schema,
)

BENCH = "regions_hugs"
PASSWORD = "bench-password-1"  # noqa: S105  (throwaway accounts on a throwaway server)
PROTOCOL = Subprotocol("graphql-transport-ws")
HUG_RECEIVED = "subscription { hugReceived { id message } }"
SEND_HUG = "mutation($input: SendHugInput!) { sendHug(input: $input) { id } }"
REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { handle } }"
REQUEST = "mutation($h: String!) { requestFriendship(handle: $h) { status } }"
ACCEPT = "mutation($h: String!) { acceptFriendship(handle: $h) { status } }"
ARRIVAL_TIMEOUT_S = 10.0
NO_LIMIT = {"HUGS_PER_MINUTE": "1000000"}
"""The hug rate limit would refuse a benchmark's steady sender."""
BASELINE = "a hug from a friend in the recipient's own region, the same socket"


@dataclass(frozen=True, slots=True)
class Person:
    handle: str
    token: str


@dataclass
class Arrivals:
    """When each hug's frame reached the recipient's socket, by hug id."""

    at: dict[str, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, hug_id: str) -> float:
        async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
            while hug_id not in self.at:
                self.changed.clear()
                await self.changed.wait()
        return self.at[hug_id]


async def person(port: int, country: str) -> Person:
    conn = await HttpConnection.open(port)
    try:
        handle = f"bench_{uuid.uuid4().hex[:12]}"
        account = {"handle": handle, "displayName": "B", "password": PASSWORD, "country": country}
        await graphql(conn, REGISTER, {"input": account})
        return Person(handle, await log_in(conn, handle, PASSWORD))
    finally:
        conn.close()


async def befriend(port: int, asker: Person, accepter: Person) -> None:
    conn = await HttpConnection.open(port)
    try:
        await graphql(conn, REQUEST, {"h": accepter.handle}, asker.token)
        await graphql(conn, ACCEPT, {"h": asker.handle}, accepter.token)
    finally:
        conn.close()


@contextlib.asynccontextmanager
async def listening(port: int, recipient: Person) -> AsyncIterator[Arrivals]:
    """The recipient's socket, subscribed to `hugReceived`, noting each arrival."""
    arrivals = Arrivals()
    ws = await connect(f"ws://{HOST}:{port}/graphql", subprotocols=[PROTOCOL], ping_interval=None)
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {recipient.token}"}}
    await ws.send(orjson.dumps(init).decode())
    ack = orjson.loads(await ws.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": HUG_RECEIVED}}
    await ws.send(orjson.dumps(subscribe).decode())
    reader = asyncio.create_task(read_hugs(ws, arrivals))
    try:
        yield arrivals
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await ws.close()


async def read_hugs(ws: ClientConnection, arrivals: Arrivals) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for raw in ws:
            arrived = time.perf_counter()
            message = orjson.loads(raw)
            if message.get("type") == "next":
                hug = message["payload"]["data"]["hugReceived"]
                if not hug["message"]:
                    raise RuntimeError(f"a hug arrived without its message: {hug}")
                arrivals.at[hug["id"]] = arrived
                arrivals.changed.set()
            elif message.get("type") == "ping":
                await ws.send('{"type":"pong"}')
            elif message.get("type") != "pong":
                raise RuntimeError(f"the hug feed answered {message}")


@dataclass(frozen=True, slots=True)
class Sender:
    port: int
    person: Person


async def hugs_from(sender: Sender, to: Person, arrivals: Arrivals, count: int) -> list[float]:
    """`count` hugs, each sent when the one before it has arrived: their latencies (s)."""
    conn = await HttpConnection.open(sender.port)
    try:
        head = conn.head("POST", "/graphql", graphql_headers(sender.person.token))
        latencies = []
        for _ in range(count):
            hug_id = str(uuid.uuid4())
            hug = {"id": hug_id, "to": to.handle, "hugType": "WARM", "message": "thinking of you"}
            body = orjson.dumps({"query": SEND_HUG, "variables": {"input": hug}})
            started = time.perf_counter()
            response = await conn.send(head, body)
            if response.status != 200 or b'"errors"' in response.body:
                raise RuntimeError(f"sendHug failed: {response.body[:300]!r}")
            latencies.append(await arrivals.wait_for(hug_id) - started)
        return latencies
    finally:
        conn.close()


async def take_turns(
    senders: dict[str, Sender], to: Person, arrivals: Arrivals, rounds: int, per_round: int
) -> dict[str, list[float]]:
    """Warm both paths up, then alternate who goes first each round."""
    seen: dict[str, list[float]] = {name: [] for name in senders}
    for sender in senders.values():
        await hugs_from(sender, to, arrivals, 10)
    for i in range(rounds):
        names = list(senders) if i % 2 == 0 else list(reversed(senders))
        for name in names:
            seen[name] += await hugs_from(senders[name], to, arrivals, per_round)
    return seen


async def across_and_within(
    eu_port: int, us_port: int, rounds: int, per_round: int
) -> dict[str, list[float]]:
    """Sam (US) listens at the US region; Ava (US) and Greta (EU) hug him from their own."""
    sam, ava, greta = await asyncio.gather(
        person(eu_port, "US"), person(eu_port, "US"), person(eu_port, "DE")
    )
    await befriend(us_port, ava, sam)
    await befriend(eu_port, greta, sam)
    async with listening(us_port, sam) as arrivals:
        senders = {"within": Sender(us_port, ava), "across": Sender(eu_port, greta)}
        return await take_turns(senders, sam, arrivals, rounds, per_round)


async def in_process(workdir: Path, rounds: int, per_round: int, params: dict[str, Any]) -> None:
    server = hugmood_server(
        workdir / "regions",
        workdir / "regions.log",
        REGIONS="eu-west,us-east",
        REGION="eu-west",
        **NO_LIMIT,
    )
    with servers(server):
        await server.wait_ready()
        seen = await across_and_within(server.port, server.port, rounds, per_round)
    emit_latencies(
        f"{BENCH}.in_process",
        seen["across"],
        BASELINE,
        seen["within"],
        params
        | {
            "regions": "eu-west,us-east in one server",
            "store": "SQLite",
            "across": "eu-west sender -> us-east recipient",
            "within": "us-east sender -> us-east recipient",
        },
    )


async def remote(workdir: Path, rounds: int, per_round: int, params: dict[str, Any]) -> None:
    shared = {"DIRECTORY_URL": POSTGRES_URL, "FEDERATION_KEY": "k" * 40, **NO_LIMIT}
    async with throwaway_schema("bench_regions_hugs") as schema:
        us = hugmood_server(
            workdir / "us",
            workdir / "us.log",
            REGION="us-east",
            DATABASE_URL=POSTGRES_URL,
            POSTGRES_SCHEMA=schema,
            **shared,
        )
        edge = hugmood_server(
            workdir / "eu",
            workdir / "eu.log",
            REGIONS="eu-west",
            REGION="eu-west",
            REGION_URLS=f"us-east=http://{HOST}:{us.port}",
            **shared,
        )
        # Each region calls the other: both ports are chosen before either starts.
        us.env["HUGMOOD_REGION_URLS"] = f"eu-west=http://{HOST}:{edge.port}"
        with servers(us):
            await us.wait_ready()
            with servers(edge):
                await edge.wait_ready()
                seen = await across_and_within(edge.port, us.port, rounds, per_round)
    emit_latencies(
        f"{BENCH}.remote",
        seen["across"],
        BASELINE + " (its own deployment)",
        seen["within"],
        params
        | {
            "regions": "eu-west edge (SQLite), us-east server (PostgreSQL)",
            "across": "eu-west sender at the EU edge -> us-east recipient, over signed HTTP",
            "within": "us-east sender at the US server -> us-east recipient",
        },
    )


async def main(quick: bool) -> None:
    rounds, per_round = (2, 25) if quick else (6, 150)
    params: dict[str, Any] = machine_params() | {
        "quick": quick,
        "rounds": rounds,
        "hugs_per_sender": rounds * per_round,
    }
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-regions-hugs-") as tmp:
        await in_process(Path(tmp), rounds, per_round, params)
        if await postgres_reachable():
            await remote(Path(tmp), rounds, per_round, params)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    run(main(parser.parse_args().quick))
