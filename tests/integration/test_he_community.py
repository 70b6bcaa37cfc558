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
from hugmood.privacy.he.ciphertexts import from_wire
from hugmood.privacy.he.community import (
    COHORT_RECORD,
    QUADRANTS,
    TAG_BITS,
    contribute,
    contribution_check,
)
from hugmood.privacy.he.decryptor import (
    SECRET_FILE,
    SOCKET,
    DecryptionService,
    ReleaseRequests,
)
from hugmood.privacy.he.decryptor_socket import SocketDecryptionClient
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
def job(service_dir: Path) -> SocketDecryptionClient:
    return SocketDecryptionClient(
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


def fill(public_key: PublicKey, cohort: str, n: int) -> tuple[list[int], list[tuple[str, float]]]:
    """`n` devices' contributions to `cohort`, and what each contributed."""
    sealer = Sealer(public_key)
    sealer.precompute(n)
    entries = [(WORDS[i % len(WORDS)], (i % 10) / 10) for i in range(n)]
    contributions = [
        contribute(sealer, cohort, mood_type=mood, intensity=intensity).value
        for mood, intensity in entries
    ]
    return contributions, entries


async def test_a_cohort_of_k_is_released_with_noise_within_its_stated_scale(
    service_dir: Path, job: SocketDecryptionClient
) -> None:
    public_key = await job.public_key()
    contributions, entries = fill(public_key, "eu-west/2026-12-04", 40)
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
    service_dir: Path, job: SocketDecryptionClient
) -> None:
    public_key = await job.public_key()
    contributions, _ = fill(public_key, "small", 19)
    with pytest.raises(CohortTooSmall, match=r"19 valid contributions .*; at least 20"):
        await job.release(public_key, "small", contributions)
    (entry,) = audit.read(service_dir / "audit.jsonl")
    assert (entry["outcome"], entry["contributions"]) == ("refused", 19)


async def test_only_the_aggregation_job_may_ask_and_the_budget_runs_out(
    service_dir: Path, job: SocketDecryptionClient
) -> None:
    public_key = await job.public_key()
    product, _ = fill(public_key, "c", 20)
    intruder = SocketDecryptionClient(service_dir, b"guessed", requester="web")
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
    service_dir: Path, job: SocketDecryptionClient
) -> None:
    public_key = await job.public_key()
    other, _ = generate_keypair()
    with pytest.raises(ForeignCiphertext):
        from_wire(public_key, Sealer(other).seal(1).to_wire(other))
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
    service_dir: Path, job: SocketDecryptionClient
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
    service_dir: Path, job: SocketDecryptionClient
) -> None:
    public_key = await job.public_key()
    honest, entries = fill(public_key, "eu-west/2026-12-05", 20)
    sealer = Sealer(public_key)
    huge = sealer.seal(well_tagged("eu-west/2026-12-05", intensity=10**9)).value
    negative = sealer.seal(public_key.n - 10**6).value  # -10^6: Paillier plaintexts wrap mod n
    tagless = sealer.seal(1 << TAG_BITS).value
    contributions = [*honest, huge, negative, tagless]
    released = await job.release(public_key, "eu-west/2026-12-05", contributions, epsilon=1.0)
    truth = sum(i for _, i in entries)
    assert abs(released["sums"]["intensity"] - truth) <= 25 * released["noiseScale"]["intensity"]
    (entry,) = audit.read(service_dir / "audit.jsonl")
    assert (entry["contributions"], entry["dropped"]) == (20, {"invalid": 3, "duplicates": 0})


def test_a_release_in_parts_counts_each_part_once_in_order(tmp_path: Path) -> None:
    """Over the mesh a release comes in parts (one NATS message each): every part counts
    once, a part out of order ends the release, a replayed part is refused; all logged."""
    public_key, private_key = generate_keypair()
    service = DecryptionService(private_key, b"job secret", audit.AuditLog(tmp_path / "a.jsonl"))
    requests = ReleaseRequests(b"job secret", "aggregation-job", part_size=8)
    contributions, entries = fill(public_key, "c", 20)
    answers = [service.handle(r) for r in requests.parts(public_key, "c", contributions, 1.0)]
    assert [a.get("received") for a in answers] == [1, 2, None]
    released = answers[-1]["release"]
    truth = sum(i for _, i in entries)
    assert abs(released["sums"]["intensity"] - truth) <= 25 * released["noiseScale"]["intensity"]
    assert abs(released["sums"]["count"] - 20) <= 25 * released["noiseScale"]["count"]

    first, _, third = requests.parts(public_key, "c", contributions, 1.0)
    assert service.handle(first)["ok"]
    skipped = service.handle(third)
    assert skipped["error"] == "ValueOutOfRange" and "in order" in skipped["message"]
    replayed = service.handle(first)
    assert replayed["error"] == "NotAuthorised" and "replay" in replayed["message"]
    outcomes = [(e["outcome"], e.get("contributions")) for e in audit.read(tmp_path / "a.jsonl")]
    assert outcomes == [("released", 20), ("abandoned", 8), ("refused", None)]
