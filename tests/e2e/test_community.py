"""Community averages over HTTP: a device encrypts for the open cohort under the decryption
service's key, contributes once, and every bad contribution gets its status and code."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hugmood.privacy.he.community import contribute
from hugmood.privacy.he.keys import generate_keypair, public_key_from_json
from hugmood.privacy.he.sealing import Sealer
from tests.e2e.client import User, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_client_cli import cli_for, client_env, flat, ok

pytestmark = pytest.mark.e2e


@pytest.fixture
def decryptor(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "decryptor"
    process = subprocess.Popen(
        [sys.executable, "-m", "hugmood.privacy.he.decryptor", str(directory)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "ready" in process.stdout.readline()
        yield directory
    finally:
        process.terminate()
        process.wait(timeout=10)


def community_api(server: HugMoodServer, user: User) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/privacy/community",
        headers={"authorization": f"Bearer {user.api.token}"},
        timeout=60,
    )


def code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["errors"][0]["extensions"]["code"]


def test_a_device_contributes_once_to_the_open_cohort_and_bad_ones_are_refused(
    start_server: StartServer, decryptor: Path
) -> None:
    server = start_server({"HUGMOOD_COMMUNITY_DECRYPTOR_DIR": str(decryptor)})
    ann = sign_up(server, "ann")
    with community_api(server, ann) as http:
        about = http.get("")
        assert about.status_code == 200, about.text
        key, cohort = public_key_from_json(about.json()["publicKey"]), about.json()["cohort"]
        assert cohort.startswith("eu-west/") and about.json()["k"] == 20
    status = httpx.get(
        f"{server.url}/privacy/age", headers={"authorization": f"Bearer {ann.api.token}"}
    ).json()
    assert status["communityAverages"] is True  # what the web app's Settings asks
    with community_api(server, ann) as http:
        sealer = Sealer(key)
        wire = contribute(sealer, cohort, mood_type="calm", intensity=0.4).to_wire(key)
        accepted = http.post("/contributions", json={"cohort": cohort, "ciphertext": wire})
        assert accepted.status_code == 201, accepted.text
        again = contribute(sealer, cohort, mood_type="calm", intensity=0.4).to_wire(key)
        twice = http.post("/contributions", json={"cohort": cohort, "ciphertext": again})
        assert code(twice) == (400, "VALIDATION") and "already" in twice.text

    bob = sign_up(server, "bob")
    other, _ = generate_keypair()
    with community_api(server, bob) as http:
        foreign = contribute(Sealer(other), cohort, mood_type="calm", intensity=0.4)
        for body, field in (
            ({"cohort": cohort, "ciphertext": foreign.to_wire(other)}, "ciphertext"),
            ({"cohort": cohort, "ciphertext": {"key": wire["key"], "c": "%%%"}}, "ciphertext"),
            ({"cohort": "eu-west/1999-01-01", "ciphertext": wire}, "cohort"),
            ({"cohort": ["x"], "ciphertext": wire}, "cohort"),
        ):
            refused = http.post("/contributions", json=body)
            assert code(refused) == (400, "VALIDATION"), (body, refused.text)
            assert refused.json()["errors"][0]["extensions"]["field"] == field
        assert code(http.post("/contributions", content=b"not json")) == (400, "VALIDATION")
        averages = http.get("/averages")
        assert averages.status_code == 200 and averages.json()["releases"] == []
        assert code(http.get("/averages", params={"from": "yesterday"})) == (400, "VALIDATION")
        assert http.get("/averages", params={"to": "0001-01-01"}).json()["releases"] == []
        assert code(http.get("/averages", params={"from": "2026-01-01", "to": "2025-01-01"})) == (
            400,
            "VALIDATION",
        )


def test_without_a_decryption_service_the_community_paths_say_so(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    with community_api(server, ann) as http:
        assert code(http.get("")) == (503, "UNAVAILABLE")
        assert code(http.post("/contributions", json={})) == (503, "UNAVAILABLE")
    anonymous = httpx.get(f"{server.url}/privacy/community", timeout=30)
    assert anonymous.status_code == 401


def test_the_cli_contributes_once_a_day_and_lists_the_averages(
    start_server: StartServer, decryptor: Path, tmp_path: Path
) -> None:
    server = start_server({"HUGMOOD_COMMUNITY_DECRYPTOR_DIR": str(decryptor)})
    dan = sign_up(server, "dan")
    cli = cli_for(client_env(server, tmp_path / "vault.sqlite"))
    ok(cli("login", "--handle", dan.handle))
    assert "Contributed to eu-west/" in flat(ok(cli("community", "contribute", "-m", "calm")))
    again = cli("community", "contribute", "-m", "calm", "-i", "0.2")
    assert again.returncode == 2 and "already contributed" in flat(again.stderr)
    wrong = cli("community", "contribute", "-m", "not-a-mood")
    assert wrong.returncode == 2 and "not in the mood vocabulary" in flat(wrong.stderr)
    assert "No community averages released" in flat(ok(cli("community", "averages")))
