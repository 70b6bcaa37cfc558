"""The decryption service on the region's mesh: a process of its own that opens no socket,
answers the aggregation job's release (in parts), and refuses anything else — an edge of the
region, a job process without the job secret, another region's secret, an unsigned request."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import nats
import pytest

from hugmood.config import Settings
from hugmood.domain.vocabulary import MOODS
from hugmood.mesh import errors as codes
from hugmood.mesh.errors import Refused
from hugmood.mesh.service import endpoint_subject
from hugmood.mesh.start import mesh_client
from hugmood.privacy.he import audit
from hugmood.privacy.he.ciphertexts import Ciphertext
from hugmood.privacy.he.community import contribute
from hugmood.privacy.he.decryptor import SECRET_FILE, SOCKET, ReleaseRequests
from hugmood.privacy.he.decryptor_mesh import MeshDecryptionClient
from hugmood.privacy.he.decryptor_socket import SocketDecryptionClient
from hugmood.privacy.he.errors import DecryptionServiceUnavailable, NotAuthorised
from hugmood.privacy.he.job import CommunityJob, decryption_client
from hugmood.privacy.he.keys import PublicKey, fingerprint, public_key_from_json
from hugmood.privacy.he.pending import SharedCohorts
from hugmood.privacy.he.sealing import Sealer
from hugmood.sql.sqlite import SqliteDatabase
from tests.conftest import unique

SECRET = "decryptor-mesh-test-secret-0123456789abcdef"
WORDS = sorted(MOODS)


@pytest.fixture
def settings(nats_url: str) -> Settings:
    return Settings(
        database_url="memory",
        nats_url=nats_url,
        secret_key=SECRET,
        region="eu-west",
        nats_subject_prefix=unique("hmdec"),
    )


@pytest.fixture
def decryptor(settings: Settings, tmp_path: Path) -> Iterator[Path]:
    """`python -m hugmood.privacy.he.decryptor` with the region's NATS settings."""
    directory = tmp_path / "decryptor"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "HUGMOOD_NATS_URL": settings.nats_url,
        "HUGMOOD_SECRET_KEY": SECRET,
        "HUGMOOD_REGION": settings.region,
        "HUGMOOD_NATS_SUBJECT_PREFIX": settings.nats_subject_prefix,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hugmood.privacy.he.decryptor", str(directory)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        assert "ready on the mesh" in process.stdout.readline()
        yield directory
    finally:
        process.terminate()
        process.wait(timeout=10)


def contributions(key: PublicKey, cohort: str, n: int) -> tuple[list[int], float]:
    sealer = Sealer(key)
    sealer.precompute(n)
    values = [
        contribute(sealer, cohort, mood_type=WORDS[i % len(WORDS)], intensity=(i % 10) / 10).value
        for i in range(n)
    ]
    return values, sum((i % 10) / 10 for i in range(n))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


async def test_the_job_is_answered_over_the_mesh_in_parts_and_no_socket_is_open(
    settings: Settings, decryptor: Path
) -> None:
    assert not (decryptor / SOCKET).exists()  # reachable over the mesh only
    client = MeshDecryptionClient(settings, (decryptor / SECRET_FILE).read_bytes(), part_size=8)
    clock = Clock(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    db = SqliteDatabase(None)
    job = CommunityJob(client, SharedCohorts(db), region="eu-west", process="edge-1", clock=clock)
    try:
        async with job:
            key = await job.public_key()
            values, total = contributions(key, job.current_cohort(), 20)
            for number, value in enumerate(values):
                wire = Ciphertext(fingerprint(key), value).to_wire(key)
                await job.accept(job.current_cohort(), wire, f"person-{number}")
            clock.at += timedelta(days=1)
            assert await job.run_once() == ["eu-west/2026-12-04"]  # in three parts
            (released,) = await job.releases(date(2026, 12, 4), date(2026, 12, 5))
    finally:
        await db.close()
    noise = released["noiseScale"]["intensity"]
    assert abs(released["sums"]["intensity"] - total) <= 25 * noise
    (entry,) = audit.read(decryptor / "audit.jsonl")
    assert (entry["outcome"], entry["contributions"]) == ("released", 20)
    assert entry["requester"].startswith("aggregation-job:")


async def test_anything_but_the_aggregation_job_is_refused(
    settings: Settings, decryptor: Path
) -> None:
    job_secret = (decryptor / SECRET_FILE).read_bytes()
    nc = await nats.connect(settings.nats_url)
    try:
        edge = mesh_client(settings, nc, kind="edge")
        answer = await edge.request("decryptor", "public-key", {}, user_id=None, idempotent=True)
        key = public_key_from_json(answer["publicKey"])  # any process may hand it out
        values, _ = contributions(key, "c", 20)
        # An edge holds the region's mesh secret, and here even a body signed with the job
        # secret: it is still not the aggregation job.
        (signed,) = ReleaseRequests(job_secret, "edge", part_size=20).parts(key, "c", values, 1.0)
        with pytest.raises(Refused) as refused:
            await edge.request("decryptor", "release", signed, user_id=None)
        assert refused.value.code == codes.FORBIDDEN
        assert "only the aggregation job" in refused.value.description

        subject = endpoint_subject(settings.nats_subject_prefix, "eu-west", "decryptor", "release")
        unsigned = await nc.request(subject, b"{}", timeout=5)
        assert unsigned.headers is not None
        assert unsigned.headers.get("Nats-Service-Error-Code") == codes.UNAUTHENTICATED
    finally:
        await nc.close()

    impostors = (
        MeshDecryptionClient(settings, b"a guessed secret"),  # an aggregation job, no secret
        MeshDecryptionClient(replace(settings, secret_key="another region's secret"), job_secret),
    )
    for impostor in impostors:
        try:
            with pytest.raises(NotAuthorised):
                await impostor.release(key, "c", values)
        finally:
            await impostor.aclose()

    outcomes = [(e["outcome"], e["reason"]) for e in audit.read(decryptor / "audit.jsonl")]
    assert [o for o, _ in outcomes] == ["refused", "refused"]  # the other two never reached it
    assert "edge" in outcomes[0][1] and "only the aggregation job" in outcomes[1][1]
    assert audit.verify(decryptor / "audit.jsonl") == 2


async def test_without_a_decryptor_on_the_mesh_the_job_hears_so_at_once(
    settings: Settings,
) -> None:
    job = MeshDecryptionClient(settings, b"secret")
    try:
        with pytest.raises(DecryptionServiceUnavailable, match="no instance"):
            await job.public_key()
    finally:
        await job.aclose()


def test_a_server_asks_over_the_mesh_when_it_has_nats_and_on_the_socket_when_not(
    tmp_path: Path,
) -> None:
    alone = Settings(database_url="memory", community_decryptor_dir=str(tmp_path))
    assert isinstance(decryption_client(alone), SocketDecryptionClient)
    meshed = replace(alone, nats_url="nats://127.0.0.1:4222", secret_key=SECRET)
    assert isinstance(decryption_client(meshed), MeshDecryptionClient)
