"""Traces in process (SQLite, the embedded live relay): a check-in and a hug over HTTP each
make one trace from the request to the live push, every response names its trace, every log
line carries trace and span ids, and a canary written into a display name, a note and a hug
message appears in no span and no log line. An error report names its trace and route."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.entrypoints.asgi import create_app
from hugmood.observability import tracing
from hugmood.observability.error_reports import report_error
from hugmood.observability.logging import configure_logging
from tests.conftest import unique

CANARY = "zq-canary-7f3a"
PASSWORD = "a long enough password"
LOG_IN = "mutation LogIn($h: String!, $p: String!) { logIn(handle: $h, password: $p) { token } }"
BEFRIEND = "mutation Ask($h: String!) { requestFriendship(handle: $h) { __typename } }"
ACCEPT = "mutation Accept($h: String!) { acceptFriendship(handle: $h) { __typename } }"
CHECK_IN = "mutation CheckIn($i: RecordMoodInput!) { recordMood(input: $i) { id } }"
HUG = "mutation Hug($i: SendHugInput!) { sendHug(input: $i) { id } }"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.install(None)


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("INFO", json=True)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@dataclass
class Api:
    http: httpx.AsyncClient

    async def gql(self, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        return answer


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[Api, list[str]]]:
    settings = Settings(database_url="sqlite", data_dir=tmp_path)
    async with open_hugmood(settings) as core:
        handles = [unique("ann"), unique("ben")]
        for handle in handles:
            await core.bus.handle(idm.RegisterUser(handle, f"Name {CANARY}", PASSWORD, "eu-west"))
        app = create_app(settings, core=core)
        app.state.core = core
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hugmood") as http:
            yield Api(http), handles


def in_trace(exporter: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [
        s
        for s in exporter.get_finished_spans()
        if s.context is not None and format(s.context.trace_id, "032x") == trace_id
    ]


async def eventually_named(
    exporter: InMemorySpanExporter, trace_id: str, name: str
) -> list[ReadableSpan]:
    for _ in range(200):
        found = in_trace(exporter, trace_id)
        if any(s.name == name for s in found):
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {name!r} span in {[s.name for s in in_trace(exporter, trace_id)]}")


def everything_said(exporter: InMemorySpanExporter, logs: io.StringIO) -> str:
    exported = [s.to_json() for s in exporter.get_finished_spans()]
    return "\n".join([*exported, logs.getvalue()])


async def test_a_check_in_and_a_hug_are_each_one_trace_without_personal_data(
    spans: InMemorySpanExporter, log_lines: io.StringIO, api: tuple[Api, list[str]]
) -> None:
    client, (ann, ben) = api
    ann_token = (await client.gql(LOG_IN, h=ann, p=PASSWORD)).json()["data"]["logIn"]["token"]
    ben_token = (await client.gql(LOG_IN, h=ben, p=PASSWORD)).json()["data"]["logIn"]["token"]
    await client.gql(BEFRIEND, ann_token, h=ben)
    await client.gql(ACCEPT, ben_token, h=ann)

    entry = {
        "id": str(uuid.uuid4()),
        "moodType": "calm",
        "intensity": 0.5,
        "note": f"a note {CANARY}",
        "privacy": "FRIENDS_ONLY",
    }
    answer = await client.gql(CHECK_IN, ann_token, i=entry)
    trace_id = answer.headers["x-trace-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    found = await eventually_named(spans, trace_id, "publish live MoodRecorded")
    names = {s.name for s in found}
    assert {
        "POST /graphql",
        "mutation CheckIn",
        "handle RecordMood",
        "INSERT events",
        "apply read_models",
        "publish live MoodRecorded",
    } <= names, names
    by_name = {s.name: s for s in found}
    server, operation = by_name["POST /graphql"], by_name["mutation CheckIn"]
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 200
    assert operation.parent is not None and server.context is not None
    assert operation.parent.span_id == server.context.span_id
    assert operation.attributes == {
        "graphql.operation.type": "mutation",
        "graphql.operation.name": "CheckIn",
    }
    append = by_name["INSERT events"]
    assert append.attributes is not None and append.attributes["db.system"] == "sqlite"

    hug = {"to": ben, "hugType": "WARM", "message": f"hello {CANARY}"}
    hug_trace = (await client.gql(HUG, ann_token, i=hug)).headers["x-trace-id"]
    assert hug_trace != trace_id
    await eventually_named(spans, hug_trace, "publish live HugSent")

    # The access log line of the check-in carries its trace; every line in a span has both ids.
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    requests = [r for r in records if r.get("event") == "request" and r.get("trace_id") == trace_id]
    assert requests and all(re.fullmatch(r"[0-9a-f]{16}", r["span_id"]) for r in requests)

    said = everything_said(spans, log_lines)
    for secret in (CANARY, PASSWORD, ann_token, ben_token):
        assert secret not in said


async def test_a_callers_traceparent_is_continued(
    spans: InMemorySpanExporter, api: tuple[Api, list[str]]
) -> None:
    client, _ = api
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    answer = await client.http.get("/healthz", headers={"traceparent": parent})
    assert answer.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_an_error_report_names_its_trace_route_and_last_lines(
    spans: InMemorySpanExporter, log_lines: io.StringIO
) -> None:
    log = structlog.get_logger("hugmood.test")
    with tracing.server_span({"type": "http", "method": "POST", "path": "/graphql"}):
        trace_id, _ = tracing.current_ids() or ("", "")
        log.info("before the failure")
        try:
            raise ValueError(f"a value {CANARY}")
        except ValueError as e:
            report_error(e)
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    (report,) = [r for r in records if r["event"] == "error_report"]
    assert report["trace_id"] == trace_id
    assert report["route"] == "POST /graphql"
    assert report["error_type"] == "ValueError"
    assert [line["event"] for line in report["recent_lines"]] == ["before the failure"]
    assert any("test_tracing.py" in frame for frame in report["frames"])
    (span,) = spans.get_finished_spans()
    assert [e.name for e in span.events] == ["exception"]
    assert CANARY not in everything_said(spans, log_lines)


async def test_a_resolvers_bug_is_reported_with_its_trace_and_without_its_message(
    spans: InMemorySpanExporter,
    log_lines: io.StringIO,
    api: tuple[Api, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _ = api

    def broken(word: object) -> object:
        raise RuntimeError(f"a bug quoting {CANARY}")

    monkeypatch.setattr("hugmood.entrypoints.graphql.types.MoodWord.of", broken)
    answer = await client.http.post(
        "/graphql", json={"query": "query Words { moodVocabulary { word } }"}
    )
    assert answer.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    trace_id = answer.headers["x-trace-id"]
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    (report,) = [r for r in records if r["event"] == "error_report"]
    assert report["trace_id"] == trace_id and report["route"] == "POST /graphql"
    assert report["error_type"] == "RuntimeError"
    operation = next(s for s in in_trace(spans, trace_id) if s.name == "query Words")
    assert [e.name for e in operation.events] == ["exception"]
    assert CANARY not in everything_said(spans, log_lines)
