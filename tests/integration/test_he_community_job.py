"""The aggregation job: contributions gathered per cohort, the decryption service asked only
for closed cohorts of at least k, releases published, contributions kept across a restart."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hugmood.domain.vocabulary import MOODS
from hugmood.privacy.he import audit
from hugmood.privacy.he.community import contribute
from hugmood.privacy.he.decryptor import SECRET_FILE, DecryptionClient
from hugmood.privacy.he.errors import DecryptionServiceUnavailable, ValueOutOfRange
from hugmood.privacy.he.job import CommunityJob
from hugmood.privacy.he.keys import PublicKey
from hugmood.privacy.he.sealing import Sealer

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
    )
    try:
        assert process.stdout is not None
        assert "ready" in process.stdout.readline()  # blocks until the socket is listening
        yield directory
    finally:
        process.terminate()
        process.wait(timeout=10)


def new_job(service_dir: Path, kept: Path, clock: Clock) -> CommunityJob:
    secret = service_dir / SECRET_FILE
    client = DecryptionClient(
        service_dir, secret.read_bytes() if secret.exists() else None, requester="job"
    )
    return CommunityJob(client, region="eu-west", directory=kept, clock=clock, check_s=3600)


async def contribute_many(job: CommunityJob, key: PublicKey, n: int, first: int = 0) -> float:
    sealer = Sealer(key)
    sealer.precompute(n)
    cohort, total = job.current_cohort(), 0.0
    for i in range(first, first + n):
        intensity = (i % 10) / 10
        total += intensity
        wire = contribute(sealer, cohort, mood_type=WORDS[i % len(WORDS)], intensity=intensity)
        await job.accept(cohort, wire.to_wire(key), f"person-{i}")
    return total


async def test_a_closed_cohort_of_k_is_released_once_and_survives_a_restart(
    service_dir: Path, tmp_path: Path
) -> None:
    clock = Clock(datetime(2026, 12, 4, 18, 0, tzinfo=UTC))
    job = new_job(service_dir, tmp_path / "kept", clock)
    key = await job.public_key()
    total = await contribute_many(job, key, 12)
    assert await job.run_once() == []  # the day is still open
    with pytest.raises(ValueOutOfRange, match="already contributed"):
        await contribute_many(job, key, 1, first=3)

    restarted = new_job(service_dir, tmp_path / "kept", clock)  # the server restarted
    total += await contribute_many(restarted, await restarted.public_key(), 8, first=12)
    clock.at += timedelta(hours=7)
    assert await restarted.run_once() == ["eu-west/2026-12-04"]
    assert await restarted.run_once() == []  # released once; the contributions are gone

    (published,) = restarted.releases(clock.at.date() - timedelta(days=1), clock.at.date())
    assert published["day"] == "2026-12-04"
    noise = published["noiseScale"]["intensity"]
    assert abs(published["sums"]["intensity"] - total) <= 25 * noise
    (entry,) = audit.read(service_dir / "audit.jsonl")
    assert (entry["outcome"], entry["contributions"]) == ("released", 20)
    again = new_job(service_dir, tmp_path / "kept", clock)
    await again.public_key()
    assert again.releases(clock.at.date() - timedelta(days=1), clock.at.date()) == [published]
    assert await again.run_once() == []


async def test_a_cohort_below_k_is_dropped_without_asking_the_service(
    service_dir: Path, tmp_path: Path
) -> None:
    clock = Clock(datetime(2026, 12, 4, 23, 0, tzinfo=UTC))
    job = new_job(service_dir, tmp_path / "kept", clock)
    key = await job.public_key()
    await contribute_many(job, key, 19)
    late = contribute(Sealer(key), "eu-west/2026-12-04", mood_type="calm", intensity=0.5)
    clock.at += timedelta(hours=2)
    with pytest.raises(ValueOutOfRange, match="open cohort 'eu-west/2026-12-05'"):
        await job.accept("eu-west/2026-12-04", late.to_wire(key), "person-late")
    assert await job.run_once() == []
    assert list(audit.read(service_dir / "audit.jsonl")) == []  # never asked
    assert job.releases(clock.at.date() - timedelta(days=2), clock.at.date()) == []


async def test_without_the_decryption_service_contributions_are_refused_as_unavailable(
    tmp_path: Path,
) -> None:
    job = new_job(tmp_path / "nowhere", tmp_path / "kept", Clock(datetime.now(UTC)))
    with pytest.raises(DecryptionServiceUnavailable):
        await job.describe()
