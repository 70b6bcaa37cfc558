"""What an operator relies on: `/healthz`, Prometheus `/metrics`, request ids in JSON logs."""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unique
from tests.e2e.client import GraphQLClient, register
from tests.e2e.server import HugMoodServer, running_server

pytestmark = pytest.mark.e2e

LOG_DEADLINE_S = 10.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HugMoodServer]:
    root: Path = tmp_path_factory.mktemp("observability")
    with running_server(root / "data", root / "logs", {}) as running:
        yield running


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample == f"{name}{{{wanted}}}":
            return float(value)
    return 0.0


def json_log_lines(server: HugMoodServer) -> list[dict[str, Any]]:
    lines = []
    for line in server.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def logged_for(server: HugMoodServer, request_id: str) -> list[dict[str, Any]]:
    """Every JSON log line of one request, once its closing access line is written."""
    deadline = time.monotonic() + LOG_DEADLINE_S
    while time.monotonic() < deadline:
        lines = [line for line in json_log_lines(server) if line.get("request_id") == request_id]
        if any(line.get("event") == "request" for line in lines):
            return lines
        time.sleep(0.05)
    raise AssertionError(f"no access log line for request {request_id}:\n{server.log_tail()}")


def test_healthz_reports_status_and_read_model_lag_as_json(server: HugMoodServer) -> None:
    response = server.http.get(f"{server.url}/healthz")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert isinstance(body["eventLogPosition"], int)
    assert isinstance(body["readModelsPosition"], int)
    assert body["readModelsLag"] == 0


def test_metrics_count_requests_by_route_and_status_class(server: HugMoodServer) -> None:
    def scrape() -> str:
        response = server.http.get(f"{server.url}/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text

    before = scrape()
    GraphQLClient(server)("{ moodVocabulary { word } }")
    GraphQLClient(server).post(content=b"x" * 200_000)
    after = scrape()

    assert "# TYPE hugmood_http_requests_total counter" in after
    ok = {"route": "/graphql", "status": "2xx"}
    refused = {"route": "/graphql", "status": "4xx"}
    assert metric(after, "hugmood_http_requests_total", **ok) == (
        metric(before, "hugmood_http_requests_total", **ok) + 1
    )
    assert metric(after, "hugmood_http_requests_total", **refused) == (
        metric(before, "hugmood_http_requests_total", **refused) + 1
    )
    assert metric(after, "hugmood_http_request_seconds_count", route="/graphql") >= 2


def test_request_id_is_echoed_and_appears_in_the_json_log(server: HugMoodServer) -> None:
    request_id = "e2e-check.42"
    echoed = server.http.get(f"{server.url}/healthz", headers={"X-Request-ID": request_id})
    generated = server.http.get(f"{server.url}/healthz")
    replaced = server.http.get(f"{server.url}/healthz", headers={"X-Request-ID": "no spaces <>"})

    too_big = GraphQLClient(server).post(
        content=b"x" * 200_000, headers={"X-Request-ID": "e2e-413"}
    )

    assert echoed.headers["x-request-id"] == request_id
    assert (too_big.status_code, too_big.headers["x-request-id"]) == (413, "e2e-413")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])

    logged = logged_for(server, request_id)
    assert [(line["path"], line["status"]) for line in logged] == [("/healthz", 200)]


def test_a_refused_login_leaves_no_password_and_no_error_in_the_log(
    server: HugMoodServer,
) -> None:
    """Operators alert on error lines; a mistyped password is neither an error nor theirs."""
    handle, mistyped = unique("ann"), f"Mistyped-{uuid.uuid4().hex}"
    register(server, handle)
    request_id = f"e2e-login-{uuid.uuid4().hex[:8]}"
    inline = f'mutation {{ logIn(handle: "{handle}", password: "{mistyped}") {{ token }} }}'

    refused = GraphQLClient(server).post({"query": inline}, headers={"X-Request-ID": request_id})

    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    logged = logged_for(server, request_id)
    leaked = [line["event"][:200] for line in logged if mistyped in json.dumps(line)]
    assert leaked == [], f"the password is in the server log: {leaked}"
    errors = [(line["logger"], line["event"][:80]) for line in logged if line["level"] == "error"]
    assert errors == [], f"a refused login is logged as a server error: {errors}"


def test_a_client_that_leaves_mid_body_is_not_a_server_error(server: HugMoodServer) -> None:
    def server_errors() -> float:
        text = server.http.get(f"{server.url}/metrics").text
        return metric(text, "hugmood_http_requests_total", route="/graphql", status="5xx")

    before = server_errors()
    request_id = uuid.uuid4().hex
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\nX-Request-ID: " + request_id.encode() + b"\r\n\r\n"
            b'{"query": "{ moodVocab'
        )
    lines = logged_for(server, request_id)

    (access,) = [line for line in lines if line.get("event") == "request"]
    assert access["status"] == 499
    assert access["level"] != "error"
    assert [line for line in lines if line.get("level") == "error"] == []
    assert "ClientDisconnect" not in server.log_path.read_text(errors="replace")
    assert server_errors() == before
