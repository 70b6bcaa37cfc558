"""One check-in traced end to end across processes: an edge (`serve --edge-only`) and a worker
(`hugmood worker`) on PostgreSQL, Redis and NATS JetStream export their spans over OTLP/HTTP
to a receiver this test runs. The check-in's trace holds every hop — the request, the GraphQL
operation, the command, the append, the relay's NATS message, the worker's consumer and read
models, the live relay and the push to a friend's socket — and a canary written into a display
name and a note appears in no exported span and no log line of either process."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from hugmood.entrypoints.distributed import Topology, topology_env
from tests.conftest import POSTGRES_URL, unique
from tests.e2e.client import LOG_IN, REGISTER, GraphQLClient, User, befriend
from tests.e2e.server import free_port
from tests.e2e.test_distributed import Edge, PrivateNats, _drop, _postgres_or_skip, eventually
from tests.e2e.ws import init, next_data, open_socket, receive, subscribe

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CANARY = "zq-canary-trace-51c"
PASSWORD = "a long enough password"
CHECK_IN = "mutation CheckIn($i: RecordMoodInput!) { recordMood(input: $i) { id } }"
FRIEND_MOODS = "subscription { friendMoodRecorded { id } }"


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]


@dataclass
class Receiver:
    """An OTLP/HTTP traces endpoint: decodes each export request and keeps its spans."""

    spans: list[ReceivedSpan] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            self.raw.append(body)
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                )
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        self.spans.append(
                            ReceivedSpan(
                                service,
                                span.name,
                                span.trace_id.hex(),
                                span.span_id.hex(),
                                span.parent_span_id.hex(),
                                {a.key: str(a.value).strip() for a in span.attributes},
                            )
                        )

    def in_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self.lock:
            return [s for s in self.spans if s.trace_id == trace_id]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            got.take(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def traced(
    tmp_path: Path, machine_redis: tuple[str, str], receiver: tuple[Receiver, str]
) -> Iterator[tuple[Topology, Receiver]]:
    asyncio.run(_postgres_or_skip())
    private = PrivateNats(tmp_path / "nats")
    private.start()
    schema = unique("trace")
    redis_url, redis_prefix = machine_redis
    prefix = unique("hmt")
    got, endpoint = receiver
    env = topology_env(
        {
            "HUGMOOD_DATABASE_URL": POSTGRES_URL,
            "HUGMOOD_POSTGRES_SCHEMA": schema,
            "HUGMOOD_REDIS_URL": redis_url,
            "HUGMOOD_REDIS_PREFIX": f"hm:{redis_prefix}",
            "HUGMOOD_NATS_URL": private.url,
            "HUGMOOD_NATS_STREAM": prefix.upper(),
            "HUGMOOD_NATS_SUBJECT_PREFIX": prefix,
            "HUGMOOD_DATA_DIR": str(tmp_path / "data"),
            "HUGMOOD_LOG_JSON": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
    )
    topology = Topology(
        env, tmp_path / "logs", edge_ports=[free_port()], worker_ports=[free_port()]
    )
    try:
        topology.start()
        yield topology, got
    finally:
        topology.stop()
        private.kill()
        asyncio.run(_drop(schema))


def sign_up(edge: Edge, prefix: str) -> User:
    handle = unique(prefix)
    profile = {"handle": handle, "displayName": f"Name {CANARY}", "password": PASSWORD}
    GraphQLClient(edge)(REGISTER, input=profile)  # type: ignore[arg-type]
    token = GraphQLClient(edge)(LOG_IN, handle=handle, password=PASSWORD)["logIn"]["token"]  # type: ignore[arg-type]
    return User(handle, GraphQLClient(edge, token))  # type: ignore[arg-type]


EDGE_SPANS = {
    "POST /graphql",
    "mutation CheckIn",
    "handle RecordMood",
    "INSERT events",
    "publish live MoodRecorded",
    "graphql-transport-ws next",
}
WORKER_SPANS = {"apply read_models"}


def test_a_check_in_is_one_trace_across_the_edge_and_the_worker(
    traced: tuple[Topology, Receiver],
) -> None:
    topology, got = traced
    edge = Edge(topology.edges[0].url, httpx.Client(timeout=30.0))
    ann, ben = sign_up(edge, "ann"), sign_up(edge, "ben")
    befriend(ann, ben)

    async def check_in_seen_by_a_friend() -> str:
        server: Any = edge
        async with open_socket(server) as ws:
            assert (await init(ws, ben.api.token))["type"] == "connection_ack"
            await subscribe(ws, "moods", FRIEND_MOODS)
            # The socket's messages are handled in order: the pong says the feed listens.
            await ws.send(json.dumps({"type": "ping"}))
            while (await receive(ws))["type"] != "pong":
                pass
            entry = {
                "id": str(uuid.uuid4()),
                "moodType": "calm",
                "intensity": 0.5,
                "note": f"a note {CANARY}",
                "privacy": "FRIENDS_ONLY",
            }
            answer = await asyncio.to_thread(
                ann.api.post, {"query": CHECK_IN, "variables": {"i": entry}}
            )
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
            pushed = await next_data(ws, "moods")
            assert pushed["friendMoodRecorded"]["id"] == entry["id"]
            return answer.headers["x-trace-id"]

    trace_id = asyncio.run(check_in_seen_by_a_friend())

    def every_hop() -> bool:
        names = {(s.service, s.name) for s in got.in_trace(trace_id)}
        has = {n for _, n in names}
        return (
            {n for s, n in names if s == "hugmood-edge"} >= EDGE_SPANS
            and {n for s, n in names if s == "hugmood-worker"} >= WORKER_SPANS
            and any(n.startswith("create ") for n in has)
            and any(n.startswith("process ") for n in has)
        )

    eventually(every_hop, "every hop's span in the check-in's trace", deadline_s=20)
    spans = got.in_trace(trace_id)
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id not in ids]
    assert [r.name for r in roots] == ["POST /graphql"], roots  # one tree, one root
    create = next(s for s in spans if s.name.startswith("create "))
    assert create.service == "hugmood-worker" and create.attributes["messaging.system"].endswith(
        '"nats"'
    )
    append = next(s for s in spans if s.name == "INSERT events")
    assert '"postgresql"' in append.attributes["db.system"]

    # Every log line written inside the request names its trace; the canary is nowhere.
    logs = "\n".join(p.log_path.read_text(errors="replace") for p in topology.processes)
    lines = [json.loads(x) for x in logs.splitlines() if x.startswith("{")]
    assert any(x.get("event") == "request" and x.get("trace_id") == trace_id for x in lines)
    with got.lock:
        exported = b"".join(got.raw)
    assert CANARY.encode() not in exported
    assert CANARY not in logs
