"""Sealed mode end to end: scores reach the server only as ciphertexts, the server sums them
per bucket, the device decrypts the same history as computed in clear."""

from __future__ import annotations

import base64
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from hugmood.application.queries.moods import bucket
from hugmood.domain.history import Aggregation
from hugmood.domain.vocabulary import MOODS
from hugmood.privacy.he.history import SealedHistory, open_history, seal_check_in
from hugmood.privacy.he.keys import generate_keypair, public_key_to_json
from hugmood.privacy.he.sealing import Sealer
from tests.e2e.client import User, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_client_cli import cli_for, client_env, flat, ok

pytestmark = pytest.mark.e2e


def sealed_api(server: HugMoodServer, user: User) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/privacy/sealed",
        headers={"authorization": f"Bearer {user.api.token}"},
        timeout=60,
    )


def test_the_decrypted_sealed_history_equals_the_clear_one_and_no_score_is_stored(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    public, private = generate_keypair()
    sealer = Sealer(public)
    sealer.precompute(40)
    rng = random.Random(5)
    now = datetime.now(UTC).replace(microsecond=0)
    rows = sorted(
        (
            int(
                (
                    now - timedelta(days=rng.randrange(0, 20), minutes=rng.randrange(0, 1440))
                ).timestamp()
                * 1000
            ),
            rng.choice(sorted(MOODS)),
            rng.randrange(1000, 9999) / 10_000,
        )
        for _ in range(40)
    )
    with sealed_api(server, ann) as http:
        assert (
            http.get(
                "/history",
                params={"from": (now - timedelta(days=30)).isoformat(), "to": now.isoformat()},
            ).status_code
            == 404
        )
        assert http.put("/key", json={"publicKey": public_key_to_json(public)}).status_code == 200
        for at, mood, intensity in rows:
            body = {
                "id": str(uuid.uuid4()),
                "ciphertext": seal_check_in(sealer, mood_type=mood, intensity=intensity).to_wire(
                    public
                ),
                "recordedAt": datetime.fromtimestamp(at / 1000, UTC).isoformat(),
            }
            assert http.post("/entries", json=body).status_code == 201
        assert http.post("/entries", json=body).status_code == 200  # a retry: stored once
        for aggregation in ("day", "week"):
            answer = http.get(
                "/history",
                params={
                    "from": (now - timedelta(days=30)).isoformat(),
                    "to": (now + timedelta(minutes=1)).isoformat(),
                    "aggregation": aggregation,
                    "timeZone": "America/New_York",
                },
            ).json()
            sealed = SealedHistory(
                answer["keyId"],
                tuple(date.fromisoformat(s) for s in answer["starts"]),
                tuple(int.from_bytes(base64.b64decode(c), "big") for c in answer["ciphertexts"]),
                answer["perCiphertext"],
            )
            opened = open_history(private, sealed)
            clear = bucket(rows, Aggregation(aggregation), ZoneInfo("America/New_York"))
            assert [(b.start, b.count) for b in opened] == [(b.start, b.count) for b in clear]
            for got, want in zip(opened, clear, strict=True):
                assert got.mean_intensity == pytest.approx(want.mean_intensity, abs=1.01e-4)
                assert got.mean_energy == pytest.approx(want.mean_energy, abs=1.01e-4)
    # No score of a sealed check-in is anywhere in the server's files.
    stored = b"".join(p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file())
    for _, _, intensity in rows:
        assert f"{intensity}".encode() not in stored


def test_foreign_malformed_and_premature_ciphertexts_are_refused(start_server: StartServer) -> None:
    server = start_server()
    bob = sign_up(server, "bob")
    public, _ = generate_keypair()
    other, _ = generate_keypair()
    good = Sealer(public).seal(1).to_wire(public)
    entry = {"id": str(uuid.uuid4()), "recordedAt": datetime.now(UTC).isoformat()}
    with sealed_api(server, bob) as http:
        premature = http.post("/entries", json={**entry, "ciphertext": good})
        assert premature.status_code == 404 and "hugmood sealed enable" in premature.text
        assert http.put("/key", json={"publicKey": {"n": "ff"}}).status_code == 400
        http.put("/key", json={"publicKey": public_key_to_json(public)})
        foreign = http.post(
            "/entries", json={**entry, "ciphertext": Sealer(other).seal(1).to_wire(other)}
        )
        assert foreign.status_code == 400 and "not this person's key" in foreign.text
        for bad in ({**good, "c": "AAAA"}, {**good, "c": "!!"}, "text"):
            refused = http.post("/entries", json={**entry, "ciphertext": bad})
            assert refused.status_code == 400, refused.text
            assert refused.json()["errors"][0]["extensions"]["field"] == "ciphertext"
        assert http.post("/entries", content=b"{").status_code == 400
    assert server.health()["status"] == "ok"


def test_the_cli_seals_check_ins_and_reads_its_history(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    cat = sign_up(server, "cat")
    cli = cli_for(client_env(server, tmp_path / "vault.sqlite"))
    ok(cli("login", "--handle", cat.handle))
    assert "Sealed mode on" in ok(cli("sealed", "enable"))
    assert "2 computed; 2 ready" in flat(ok(cli("sealed", "precompute", "--count", "2")))
    ok(cli("sealed", "add", "-m", "calm", "-i", "0.3"))
    ok(cli("sealed", "add", "-m", "calm", "-i", "0.5"))
    shown = flat(ok(cli("sealed", "history", "--days", "2")))
    assert " 2 0.4000 " in shown  # sealed with the precomputed factors, decrypted right
    # Both factors were used up (one each); a sync refills the pool while it waits on the
    # network and leaves at least four, so there is nothing to compute for four.
    ok(cli("sync"))
    assert "0 computed" in flat(ok(cli("sealed", "precompute", "--count", "4")))
    refused = cli("sealed", "add", "-m", "calm", "-i", "1.5")
    assert refused.returncode == 2 and "intensity must be from 0.0 to 1.0" in flat(refused.stderr)
