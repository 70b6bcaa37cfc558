"""Learning together, against a server subprocess: three CLI devices whose people opted in
complete a round with secure aggregation and end holding the global version; a fourth,
without consent, sends nothing; and the learning paths refuse what they must, with codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hugmood.learning.model import PARAMETERS
from tests.e2e.client import sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_client_cli import cli_for, client_env, ok

pytestmark = pytest.mark.e2e
MOODS = ("rad", "good", "meh", "bad", "awful")
ACTIVITIES = ("friends", "work", "exercise", "family", "sleep")
LEARNING = {"HUGMOOD_LEARNING_ROUND_S": "40", "HUGMOOD_LEARNING_NOISE_MULTIPLIER": "0.4"}


def diary(path: Path, seed: int) -> Path:
    """A Daylio export of 30 days: moods that follow the day's activity, differently for
    each person."""
    rows = ["full_date,date,weekday,time,mood,activities,note_title,note"]
    for day in range(30):
        activity = ACTIVITIES[(day * (seed + 2)) % len(ACTIVITIES)]
        mood = MOODS[(ACTIVITIES.index(activity) + seed + day // 10) % len(MOODS)]
        rows.append(f"2026-10-{day + 1:02d},,,{8 + (day * 5) % 13}:15,{mood},{activity},,")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _learn(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hugmood", "learn", "--json", "--wait", "90"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_three_consenting_devices_complete_a_secure_round_and_a_fourth_sends_nothing(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(LEARNING)
    envs = []
    for n in range(4):
        person = sign_up(server, f"learner{n}")
        env = client_env(server, tmp_path / f"vault-{n}.sqlite")
        cli = cli_for(env)
        ok(cli("login", "--handle", person.handle))
        ok(cli("import", str(diary(tmp_path / f"diary-{n}.csv", n)), "--tz", "UTC"))
        envs.append(env)
    silent = cli_for(envs[3])
    assert "Consent: off" in ok(silent("learning", "status"))
    for env in envs[:3]:
        assert "You take part" in ok(cli_for(env)("learning", "consent", "on"))

    running = [_learn(env) for env in envs]
    results = []
    for process in running:
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
        results.append(json.loads(stdout))

    taken = [r["federated"] for r in results[:3]]
    assert results[3]["federated"] is None  # no consent: nothing was sent
    rounds = {t["round"] for t in taken}
    assert len(rounds) == 1, taken
    status = json.loads(ok(cli_for(envs[0])("learning", "status", "--json")))
    closed = next(r for r in status["rounds"] if r["round"] == rounds.pop())
    assert closed["participants"] == 3
    # With three people, noise that keeps epsilon within 8 outweighs their sum: the gate may
    # refuse the candidate; either way the round ran to its end with secure aggregation.
    assert closed["outcome"] in ("published", "not-improved")
    assert status["devices"] == 3  # the fourth never registered
    assert {t["version"] for t in taken} == {status["version"]["number"]}
    assert all(t["outcome"] == closed["outcome"] for t in taken)


def _http(server: HugMoodServer, token: str, device: str = "phone") -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/privacy/learning",
        headers={"authorization": f"Bearer {token}", "x-hugmood-device": device},
        timeout=30,
    )


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["errors"][0]["extensions"]["code"]


def test_the_learning_paths_refuse_with_clear_codes(start_server: StartServer) -> None:
    server = start_server(LEARNING)
    person = sign_up(server, "refused")
    token = person.api.token
    assert token is not None
    with httpx.Client(base_url=f"{server.url}/privacy/learning", timeout=30) as anonymous:
        assert anonymous.get("").status_code == 401
    with _http(server, token) as http:
        assert http.get("").json()["consent"] is False
        assert _code(http.post("/devices", json={"parameters": PARAMETERS})) == (403, "NO_CONSENT")
        key = "A" * 43 + "="
        join = {"round": 1, "version": 0, "publicKey": key, "transportKey": key}
        assert _code(http.post("/round/join", json=join)) == (403, "NOT_REGISTERED")
        assert _code(http.put("/consent", content=b"{")) == (400, "VALIDATION")
        assert _code(http.put("/consent", json={"consent": "yes"})) == (400, "VALIDATION")
        assert http.put("/consent", json={"consent": True}).json() == {"consent": True}
        assert _code(http.post("/devices", json={"parameters": 7})) == (400, "INCOMPATIBLE")
        assert http.post("/devices", json={"parameters": PARAMETERS}).status_code == 201
        assert _code(http.post("/round/join", json=join)) == (409, "NO_OPEN_ROUND")
        short = {**join, "publicKey": "AAAA"}
        assert _code(http.post("/round/join", json=short)) == (400, "BAD_SHAPE")
        masked = {"round": 1, "version": 0, "updateId": "u1", "masked": "AAAA"}
        assert _code(http.post("/round/masked", json=masked)) == (400, "BAD_SHAPE")
        assert _code(http.post("/round/masked", json={**masked, "updateId": 5})) == (
            400,
            "BAD_SHAPE",
        )
        assert _code(http.post("/round/shares", json={"round": 1, "bundles": "x"})) == (
            400,
            "BAD_SHAPE",
        )
        assert http.get("/model").json()["version"] == 0
    with _http(server, token, device="") as http:
        assert _code(http.post("/devices", json={"parameters": PARAMETERS})) == (400, "VALIDATION")
