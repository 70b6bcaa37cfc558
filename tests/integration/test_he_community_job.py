"""The aggregation job on the shared read-model database (SQLite and PostgreSQL): a cohort's
contributions through several server processes count together, survive a restart, count each
person once, and are released once; the decryption service is asked only for closed cohorts
of at least k."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hugmood.config import Settings
from hugmood.domain.vocabulary import MOODS
from hugmood.privacy.he import audit
from hugmood.privacy.he.community import contribute
from hugmood.privacy.he.decryptor import SECRET_FILE
from hugmood.privacy.he.decryptor_socket import SocketDecryptionClient
from hugmood.privacy.he.errors import DecryptionServiceUnavailable, ValueOutOfRange
from hugmood.privacy.he.job import CommunityJob
from hugmood.privacy.he.keys import PublicKey
from hugmood.privacy.he.pending import SharedCohorts
from hugmood.privacy.he.sealing import Sealer
from hugmood.sql.database import SqlDatabase
from hugmood.sql.postgres import PostgresDatabase
from hugmood.sql.sqlite import SqliteDatabase

WORDS = sorted(MOODS)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def service_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "decryptor"
    process = subprocess.Popen(
        [sys.executable, "-m", "hugmood.privacy.he.decryptor", str(directory)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},  # no NATS: the socket
    )
    try:
        assert process.stdout is not None
        assert "ready" in process.stdout.readline()  # blocks until the socket is listening
        yield directory
    finally:
        process.terminate()
        process.wait(timeout=10)


class SharedDatabase:
    """Opens connections to one read-model database, as separate server processes do."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.opened: list[SqlDatabase] = []

    async def connect(self) -> SqlDatabase:
        db: SqlDatabase
        if self._settings.database_url == "sqlite":
            db = SqliteDatabase(self._settings.data_dir / "readmodels.sqlite3")
        else:
            db = await PostgresDatabase.connect(
                self._settings.database_url, schema=self._settings.postgres_schema
            )
        self.opened.append(db)
        return db


@pytest.fixture
async def shared(durable_settings: Settings) -> AsyncIterator[SharedDatabase]:
    databases = SharedDatabase(durable_settings)
    yield databases
    for db in databases.opened:
        await db.close()


async def new_job(
    service_dir: Path, shared: SharedDatabase, clock: Clock, name: str
) -> CommunityJob:
    """One server process's job (its own connection to the shared database)."""
    secret = service_dir / SECRET_FILE
    client = SocketDecryptionClient(
        service_dir, secret.read_bytes() if secret.exists() else None, requester=name
    )
    cohorts = SharedCohorts(await shared.connect())
    return CommunityJob(client, cohorts, region="eu-west", process=name, clock=clock, check_s=3600)


async def contribute_many(job: CommunityJob, key: PublicKey, people: range) -> float:
    sealer = Sealer(key)
    sealer.precompute(len(people))
    cohort, total = job.current_cohort(), 0.0
    for i in people:
        intensity = (i % 10) / 10
        total += intensity
        wire = contribute(sealer, cohort, mood_type=WORDS[i % len(WORDS)], intensity=intensity)
        await job.accept(cohort, wire.to_wire(key), f"person-{i}")
    return total


async def test_a_cohort_split_over_processes_and_a_restart_is_released_once(
    service_dir: Path, shared: SharedDatabase
) -> None:
    clock = Clock(datetime(2026, 12, 4, 18, 0, tzinfo=UTC))
    edge_a = await new_job(service_dir, shared, clock, "edge-a")
    edge_b = await new_job(service_dir, shared, clock, "edge-b")
    key = await edge_a.public_key()
    total = await contribute_many(edge_a, key, range(0, 8))
    total += await contribute_many(edge_b, key, range(8, 14))
    assert await edge_a.run_once() == []  # the day is still open
    with pytest.raises(ValueOutOfRange, match="already contributed"):
        await contribute_many(edge_b, key, range(3, 4))  # came through A: once is all

    restarted = await new_job(service_dir, shared, clock, "edge-a2")  # A restarted
    total += await contribute_many(restarted, await restarted.public_key(), range(14, 20))
    clock.at += timedelta(hours=7)
    # Every process looks for closed cohorts at once: one releases it, the others find it
    # claimed or gone.
    results = await asyncio.gather(edge_b.run_once(), restarted.run_once(), edge_a.run_once())
    assert sorted(c for r in results for c in r) == ["eu-west/2026-12-04"]
    assert await edge_b.run_once() == []

    for job in (edge_a, edge_b, restarted):
        (published,) = await job.releases(clock.at.date() - timedelta(days=1), clock.at.date())
        assert published["day"] == "2026-12-04"
    noise = published["noiseScale"]["intensity"]
    assert abs(published["sums"]["intensity"] - total) <= 25 * noise
    (entry,) = audit.read(service_dir / "audit.jsonl")
    assert (entry["outcome"], entry["contributions"]) == ("released", 20)  # none twice


async def test_a_job_refused_by_the_service_leaves_the_cohort_to_one_that_is_not(
    service_dir: Path, shared: SharedDatabase
) -> None:
    clock = Clock(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    right = await new_job(service_dir, shared, clock, "edge-right")
    wrong = CommunityJob(
        SocketDecryptionClient(service_dir, b"not the job secret", requester="edge-wrong"),
        SharedCohorts(await shared.connect()),
        region="eu-west",
        process="edge-wrong",
        clock=clock,
    )
    await contribute_many(right, await right.public_key(), range(20))
    clock.at += timedelta(days=1)
    assert await wrong.run_once() == []  # refused: the cohort waits, unclaimed
    assert await right.run_once() == ["eu-west/2026-12-04"]
    outcomes = [e["outcome"] for e in audit.read(service_dir / "audit.jsonl")]
    assert outcomes == ["refused", "released"]


async def test_a_cohort_below_k_is_dropped_without_asking_the_service(
    service_dir: Path, shared: SharedDatabase
) -> None:
    clock = Clock(datetime(2026, 12, 4, 23, 0, tzinfo=UTC))
    job = await new_job(service_dir, shared, clock, "edge")
    key = await job.public_key()
    await contribute_many(job, key, range(19))
    late = contribute(Sealer(key), "eu-west/2026-12-04", mood_type="calm", intensity=0.5)
    clock.at += timedelta(hours=2)
    with pytest.raises(ValueOutOfRange, match="open cohort 'eu-west/2026-12-05'"):
        await job.accept("eu-west/2026-12-04", late.to_wire(key), "person-late")
    assert await job.run_once() == []
    assert list(audit.read(service_dir / "audit.jsonl")) == []  # never asked
    assert await job.releases(clock.at.date() - timedelta(days=2), clock.at.date()) == []
    assert await job.cohorts.pending("eu-west") == []


async def test_without_the_decryption_service_contributions_are_refused_as_unavailable(
    tmp_path: Path,
) -> None:
    db = SqliteDatabase(None)
    try:
        job = CommunityJob(
            SocketDecryptionClient(tmp_path / "nowhere", None, requester="edge"),
            SharedCohorts(db),
            region="eu-west",
            process="edge",
        )
        with pytest.raises(DecryptionServiceUnavailable):
            await job.describe()
    finally:
        await db.close()


async def test_only_a_process_given_the_job_secret_releases_cohorts(tmp_path: Path) -> None:
    """Edges accept contributions; the secret that asks for releases can stay off them."""
    db = SqliteDatabase(None)
    settings = Settings(database_url="memory", community_decryptor_dir=str(tmp_path))
    try:
        (edge,) = CommunityJob.open(settings, db, serves_http=True)
        assert not edge.releases_here and edge.loops() == ()
        assert CommunityJob.open(settings, db, serves_http=False) == ()  # a worker: nothing
        (tmp_path / SECRET_FILE).write_bytes(b"the job secret")
        (worker,) = CommunityJob.open(settings, db, serves_http=False)
        assert worker.releases_here and [name for name, _ in worker.loops()] == ["releases"]
    finally:
        await db.close()
