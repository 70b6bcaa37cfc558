"""Personal insights from outside: six weeks of back-dated check-ins where walks lift the
day become an insight the owner reads over GraphQL and in the CLI (`hugmood insights`),
answers there, and nobody else can read or answer."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.client import User, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.test_client_cli import cli_for, client_env, ok

pytestmark = pytest.mark.e2e

RECORD_MOODS = "mutation($e: [RecordMoodInput!]!) { recordMoods(entries: $e) { status } }"
INSIGHTS = "query($n: Int!) { insights(limit: $n) { id kind sentence numbers helpful } }"
DISMISS = "mutation($i: ID!) { dismissInsight(id: $i) { id } }"


def six_weeks_with_walks(user: User) -> None:
    rng = random.Random(6)
    start = datetime.now(UTC) - timedelta(days=42)
    entries = []
    for n in range(42):
        walked = rng.random() < 0.45
        entries.append(
            {
                "id": str(uuid.uuid4()),
                "moodType": "happy",
                "intensity": round(rng.uniform(0.2, 0.5) + (0.4 if walked else 0.0), 2),
                "contextFactors": {"tags": ["walk"] if walked else []},
                "recordedAt": (start + timedelta(days=n, hours=9)).isoformat(),
            }
        )
    results = user.api(RECORD_MOODS, e=entries)["recordMoods"]
    assert {r["status"] for r in results} == {"STORED"}


def eventually_insights(user: User) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found: list[dict[str, Any]] = user.api(INSIGHTS, n=20)["insights"]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("no insight came")


def test_insights_are_the_owners_in_graphql_and_the_cli(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    six_weeks_with_walks(ann)

    found = eventually_insights(ann)
    walk = next(i for i in found if "walk" in i["sentence"])
    assert walk["kind"] == "factor" and json.loads(walk["numbers"])["daysWith"] >= 3
    assert ben.api(INSIGHTS, n=20)["insights"] == [], "insights are their owner's alone"
    refused = ben.api.failure(DISMISS, i=walk["id"])
    assert refused.code == "NOT_FOUND", refused
    assert ann.api.failure(INSIGHTS, n=0).code == "VALIDATION"
    assert ann.api.failure(DISMISS, i="not-an-id").code == "VALIDATION"

    cli = cli_for(client_env(server, tmp_path / "vault.sqlite"))
    ok(cli("login", "--handle", ann.handle))
    listed = json.loads(ok(cli("insights", "--json")))
    assert walk["id"] in [i["id"] for i in listed]
    assert "walk" in ok(cli("insights"))
    after = json.loads(ok(cli("insights", "--dismiss", walk["id"], "--json")))
    assert walk["id"] not in [i["id"] for i in after]

    # Similar minds from the CLI: only once discoverable, and nothing from fewer than 20.
    not_yet = cli("insights", "--similar-minds")
    assert not_yet.returncode == 2 and "NOT_DISCOVERABLE" in not_yet.stderr + not_yet.stdout
    ann.api("mutation { setDiscoverable(discoverable: true) }")
    shown = ok(cli("insights", "--similar-minds"))
    assert "Nobody to show yet" in shown and "Not enough people yet" in shown
