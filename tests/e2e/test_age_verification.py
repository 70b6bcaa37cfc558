"""Age verification end to end: a public check-in needs a verified age; `hugmood verify-age`
proves one from the device with zero knowledge; every bad submission gets a clear refusal."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from tests.e2e.client import RECORD_MOOD, User, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_client_cli import cli_for, client_env, flat, ok
from tests.integration.test_zk_age_verification import CACHE

pytestmark = pytest.mark.e2e
THIS_YEAR = datetime.now(UTC).year


def settings() -> dict[str, str]:
    return {"HUGMOOD_AGE_REQUIRED": "16", "HUGMOOD_ZK_CIRCUIT_DIR": str(CACHE)}


def age_api(server: HugMoodServer, user: User) -> httpx.Client:
    assert user.api.token is not None
    return httpx.Client(
        base_url=f"{server.url}/privacy/age",
        headers={"authorization": f"Bearer {user.api.token}"},
        timeout=120,
    )


def public_check_in(user: User) -> object:
    return user.api.attempt(
        RECORD_MOOD, input={"moodType": "calm", "intensity": 0.5, "privacy": "PUBLIC"}
    )


def test_a_public_check_in_waits_for_a_verified_age_from_the_cli(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(settings())
    ann = sign_up(server, "ann")
    refused = ann.api.failure(
        RECORD_MOOD, input={"moodType": "calm", "intensity": 0.5, "privacy": "PUBLIC"}
    )
    assert refused.code == "FORBIDDEN"
    assert "verified age of 16" in refused.message and "hugmood verify-age" in refused.message
    profile = ann.api.failure(
        "mutation { updateProfile(input: {defaultVisibility: PUBLIC}) { handle } }"
    )
    assert profile.code == "FORBIDDEN" and "verified age of 16" in profile.message
    # Friends-only check-ins need nothing.
    ann.api(RECORD_MOOD, input={"moodType": "calm", "intensity": 0.5, "privacy": "FRIENDS_ONLY"})

    cli = cli_for(client_env(server, tmp_path / "vault.sqlite"))
    ok(cli("login", "--handle", ann.handle))
    child = cli("verify-age", "--test-birth-date", f"{THIS_YEAR - 12}-06-01")
    assert child.returncode == 2
    assert "does not state that you are 16 or over" in flat(child.stderr)

    adult = ok(cli("verify-age", "--test-birth-date", f"{THIS_YEAR - 30}-06-01"))
    assert "Verified: age 16 or over" in flat(adult)
    assert "hugmood-test-issuer" in adult
    assert not isinstance(public_check_in(ann), Exception)  # now allowed
    ann.api("mutation { updateProfile(input: {defaultVisibility: PUBLIC}) { handle } }")
    with age_api(server, ann) as http:
        assert http.get("").json()["verifiedAge"] == 16
    # The community gate opens too (this server has no decryption service: 503, not 403).
    community = httpx.get(
        f"{server.url}/privacy/community",
        headers={"authorization": f"Bearer {ann.api.token}"},
        timeout=30,
    )
    assert community.status_code == 503, community.text
    # The credential stays in the vault: proving 18 later needs no birth date again.
    assert "Verified: age 18 or over" in flat(ok(cli("verify-age", "--threshold", "18")))
    # The server kept the outcome, never the birth date (scan its data directory).
    birth = date(THIS_YEAR - 30, 6, 1).isoformat().encode()
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            assert birth not in path.read_bytes(), path


def test_bad_age_submissions_are_refused_with_clear_errors(start_server: StartServer) -> None:
    server = start_server(settings())
    bob = sign_up(server, "bob")
    with age_api(server, bob) as http:
        unsupported = http.post("/challenge", json={"threshold": 17})
        assert unsupported.status_code == 400
        assert "age_over_17" in unsupported.json()["errors"][0]["message"]
        assert http.post("/challenge", content=b"not json").status_code == 400
        challenge = http.post("/challenge", json={"threshold": 16}).json()
        proof = {
            "issuer": "hugmood-test-issuer",
            "threshold": 16,
            "nonce": challenge["nonce"],
            "proof": base64.b64encode(b"\x00" * 5000).decode(),
        }
        rejected = http.post("/proof", json=proof)
        assert rejected.status_code == 403
        assert rejected.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        replayed = http.post("/proof", json=proof)
        assert replayed.status_code == 400
        assert "already used" in replayed.json()["errors"][0]["message"]
        stranger = http.post("/proof", json={**proof, "issuer": "somewhere-else"})
        assert stranger.status_code == 403
        assert "not trusted" in stranger.json()["errors"][0]["message"]
        assert http.post("/proof", json={"issuer": 5}).status_code == 400
        assert http.get("").json()["verifiedAge"] is None
    anonymous = httpx.post(f"{server.url}/privacy/age/challenge", json={"threshold": 16})
    assert anonymous.status_code == 401
    assert server.health()["status"] == "ok"
