"""Documents generated from the schema (hypothesis-graphql), signed in and not: every answer is
a clear refusal or data, never a 5xx or an INTERNAL error, and the server's log stays free of
tracebacks and un-awaited resolvers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql

from tests.e2e.client import GraphQLClient, sign_up
from tests.e2e.server import HugMoodServer, running_server

pytestmark = pytest.mark.e2e

SCHEMA = (Path(__file__).parents[2] / "docs" / "schema.graphql").read_text()
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "Date": st.sampled_from(["2026-01-31", "2026-02-30", "yesterday", ""]).map(nodes.String),
    "DateTime": st.sampled_from(
        ["2026-01-01T08:00:00Z", "2026-13-01T00:00:00Z", "9999-12-31T23:59:59Z", "now"]
    ).map(nodes.String),
    "JSON": st.sampled_from(["{}", "[]", '{"a": 1}']).map(nodes.String),
}
LOG_SIGNS_OF_TROUBLE = ("Traceback", "never awaited", "Exception ignored")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HugMoodServer]:
    root = tmp_path_factory.mktemp("fuzz")
    # A generous login budget: the generated documents log in with wrong passwords a lot.
    with running_server(root / "data", root / "logs", {"HUGMOOD_LOGIN_MAX_FAILURES": "1000"}) as s:
        yield s


def check(client: GraphQLClient, document: str) -> None:
    response = client.post({"query": document})
    assert response.status_code < 500, (document, response.text[:300])
    body = response.json()
    for error in body.get("errors") or []:
        assert error.get("extensions", {}).get("code") != "INTERNAL", (document, error)


def test_generated_documents_get_answers_never_server_errors(server: HugMoodServer) -> None:
    signed_in = sign_up(server, "fuzz").api
    anonymous = GraphQLClient(server)
    documents = st.one_of(
        gql.queries(SCHEMA, custom_scalars=SCALARS),
        gql.mutations(SCHEMA, custom_scalars=SCALARS),
    )

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(document=documents, as_someone=st.booleans())
    def fuzz(document: str, as_someone: bool) -> None:
        check(signed_in if as_someone else anonymous, document)

    fuzz()
    log = server.log_path.read_text(errors="replace")
    assert [sign for sign in LOG_SIGNS_OF_TROUBLE if sign in log] == [], log[-3000:]
    assert server.health()["status"] == "ok"


def test_json_bodies_that_are_not_requests_are_refused(server: HugMoodServer) -> None:
    client = GraphQLClient(server)
    for body in (b"[]", b"null", b'"{ __typename }"', json.dumps({"query": 1}).encode()):
        response = client.post(content=body)
        assert response.status_code == 400, (body, response.text)
