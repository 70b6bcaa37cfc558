"""Community averages: the decryption service as its own process, k, noise, budget, audit, and
contributions that cannot weigh more than one check-in each."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hugmood.domain.vocabulary import MOODS
from hugmood.privacy.he import aggregate, audit
from hugmood.privacy.he.community import (
    COHORT_RECORD,
    QUADRANTS,
    TAG_BITS,
    CohortContributions,
    contribute,
    contribution_check,
)
from hugmood.privacy.he.decryptor import SECRET_FILE, SOCKET, DecryptionClient
from hugmood.privacy.he.errors import (
    BudgetExhausted,
    CohortTooSmall,
    ForeignCiphertext,
    HomomorphicError,
    NotAuthorised,
)
from hugmood.privacy.he.keys import PublicKey, generate_keypair
from hugmood.privacy.he.sealing import Sealer

WORDS = sorted(MOODS)


@pytest.fixture
def service_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "decryptor"
    process = subprocess.Popen(
        [sys.executable, "-m", "hugmood.privacy.he.decryptor", str(directory), "--budget", "2"],
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


@pytest.fixture
def job(service_dir: Path) -> DecryptionClient:
    return DecryptionClient(
        service_dir, (service_dir / SECRET_FILE).read_bytes(), requester="aggregation-job"
    )


def well_tagged(cohort: str, **raw: int) -> int:
    """What a dishonest device could encrypt: any slot values, with a correct tag and check."""
    slots = {"intensity": 0, "energy": 0, "pleasantness": 0, "count": 1, QUADRANTS[0].value: 1}
    slots.update(raw)
    record, shift = 0, 0
    for spec in COHORT_RECORD.fields:
        record |= slots.get(spec.name, 0) << shift
        shift += spec.bits
    tag = 12345
    check = contribution_check(cohort, record, tag)
    return record | tag << shift | check << (shift + TAG_BITS)


async def fill(
    sums: CohortContributions, public_key: PublicKey, cohort: str, n: int
) -> list[tuple[str, float]]:
    sealer = Sealer(public_key)
    sealer.precompute(n)
    entries = [(WORDS[i % len(WORDS)], (i % 10) / 10) for i in range(n)]
    for number, (mood, intensity) in enumerate(entries):
        contribution = contribute(sealer, cohort, mood_type=mood, intensity=intensity)
        sums.add(cohort, contribution.to_wire(public_key), member=f"person-{number}")
    return entries


async def test_a_cohort_of_k_is_released_with_noise_within_its_stated_scale(
    service_dir: Path, job: DecryptionClient
) -> None:
    public_key = await job.public_key()
    sums = CohortContributions(public_key)
    entries = await fill(sums, public_key, "eu-west/2026-12-04", 40)
    contributions = sums.get("eu-west/2026-12-04")
    released = await job.release(public_key, "eu-west/2026-12-04", contributions, epsilon=1.0)
    true_sums = {
        "intensity": sum(i for _, i in entries),
        "energy": sum(MOODS[m].energy + 1 for m, _ in entries),
        "pleasantness": sum(MOODS[m].pleasantness + 1 for m, _ in entries),
        "count": len(entries),
    }
    for name, truth in true_sums.items():
        # Laplace noise exceeds 25 scales with probability e^-25: never, in practice.
        assert abs(released["sums"][name] - truth) <= 25 * released["noiseScale"][name], name
    assert len(contributions) == 40
    (entry,) = audit.read(service_dir / "audit.jsonl")
    assert (entry["outcome"], entry["contributions"], entry["epsilon"]) == ("released", 40, 1.0)
    assert "sums" not in entry  # the log records the decision, not the numbers


async def test_k_minus_one_contributions_are_never_decrypted(
    service_dir: Path, job: DecryptionClient
) -> None:
    public_key = await job.public_key()
    sums = CohortContributions(public_key)
    await fill(sums, public_key, "small", 19)
    assert sums.sizes() == {"small": 19}
    with pytest.raises(CohortTooSmall, match=r"19 valid contributions .*; at least 20"):
        await job.release(public_key, "small", sums.get("small"))
    (entry,) = audit.read(service_dir / "audit.jsonl")
    assert (entry["outcome"], entry["contributions"]) == ("refused", 19)


async def test_only_the_aggregation_job_may_ask_and_the_budget_runs_out(
    service_dir: Path, job: DecryptionClient
) -> None:
    public_key = await job.public_key()
    sums = CohortContributions(public_key)
    await fill(sums, public_key, "c", 20)
    product = sums.get("c")
    intruder = DecryptionClient(service_dir, b"guessed", requester="web")
    with pytest.raises(NotAuthorised, match="only the aggregation job"):
        await intruder.release(public_key, "c", product)
    await job.release(public_key, "c", product, epsilon=1.0)
    await job.release(public_key, "c", product, epsilon=1.0)
    with pytest.raises(BudgetExhausted, match="spent ε=2 of 2"):
        await job.release(public_key, "c", product, epsilon=1.0)
    outcomes = [e["outcome"] for e in audit.read(service_dir / "audit.jsonl")]
    assert outcomes == ["refused", "released", "released", "refused"]
    assert audit.verify(service_dir / "audit.jsonl") == 4


async def test_bad_input_is_refused_and_the_service_keeps_serving(
    service_dir: Path, job: DecryptionClient
) -> None:
    public_key = await job.public_key()
    other, _ = generate_keypair()
    sums = CohortContributions(public_key)
    with pytest.raises(ForeignCiphertext):
        sums.add("c", Sealer(other).seal(1).to_wire(other), member="someone")
    reader, writer = await asyncio.open_unix_connection(service_dir / SOCKET)
    writer.write(b"this is not json\n")
    await writer.drain()
    assert json.loads(await reader.readline())["ok"] is False
    writer.close()
    with pytest.raises(HomomorphicError, match="out of range"):
        await job.release(public_key, "c", [public_key.nsquare + 5])
    assert await job.public_key() == public_key  # still answering


def test_an_edited_audit_line_breaks_the_chain(tmp_path: Path) -> None:
    log = audit.AuditLog(tmp_path / "audit.jsonl")
    for n in range(3):
        log.append({"cohort": f"c{n}", "outcome": "released"})
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"c1"', '"c9"')
    (tmp_path / "audit.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(audit.AuditLogBroken, match="line 3"):
        audit.verify(tmp_path / "audit.jsonl")


async def test_one_contribution_cannot_pass_for_a_cohort(
    service_dir: Path, job: DecryptionClient
) -> None:
    """Decision 0020's attack: one person's contribution raised to the 20th power (count 20,
    20 times their scores), or 20 re-randomised copies of it, or copies with the tag shifted,
    used to pass the k check and release one person's scores with noise meant for one in 20."""
    public_key = await job.public_key()
    sealer = Sealer(public_key)
    one = contribute(sealer, "target", mood_type="calm", intensity=0.9).value
    nsquare = public_key.nsquare
    raised = pow(one, 20, nsquare)
    copies = [aggregate.add(nsquare, (one, sealer.seal(0).value)) for _ in range(20)]
    shifted = [
        aggregate.add(nsquare, (one, sealer.seal(n << COHORT_RECORD.record_bits).value))
        for n in range(1, 20)
    ]
    for attempt, expected in (([raised], r"0 valid .*1 invalid"), (copies, r"1 valid .*19 copies")):
        with pytest.raises(CohortTooSmall, match=expected):
            await job.release(public_key, "target", attempt)
    with pytest.raises(CohortTooSmall, match=r"1 valid .*19 invalid"):
        await job.release(public_key, "target", [one, *shifted])
    outcomes = [e["outcome"] for e in audit.read(service_dir / "audit.jsonl")]
    assert outcomes == ["refused"] * 3


async def test_out_of_range_contributions_are_dropped_and_do_not_skew(
    service_dir: Path, job: DecryptionClient
) -> None:
    public_key = await job.public_key()
    sums = CohortContributions(public_key)
    entries = await fill(sums, public_key, "eu-west/2026-12-05", 20)
    sealer = Sealer(public_key)
    huge = sealer.seal(well_tagged("eu-west/2026-12-05", intensity=10**9)).value
    negative = sealer.seal(public_key.n - 10**6).value  # -10^6: Paillier plaintexts wrap mod n
    tagless = sealer.seal(1 << TAG_BITS).value
    contributions = [*sums.get("eu-west/2026-12-05"), huge, negative, tagless]
    released = await job.release(public_key, "eu-west/2026-12-05", contributions, epsilon=1.0)
    truth = sum(i for _, i in entries)
    assert abs(released["sums"]["intensity"] - truth) <= 25 * released["noiseScale"]["intensity"]
    (entry,) = audit.read(service_dir / "audit.jsonl")
    assert (entry["contributions"], entry["dropped"]) == (20, {"invalid": 3, "duplicates": 0})
