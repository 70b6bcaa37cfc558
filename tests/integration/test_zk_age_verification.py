"""Age verification with real Longfellow proofs: a valid proof passes, every bad case fails.

The circuit is generated once (about 30 s) into HUGMOOD_TEST_ZK_CACHE (default
~/.cache/hugmood/zk-circuits) and reused by later runs. Each proof takes a few seconds.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pylongfellow import Pylongfellow
from pylongfellow.mdoc import testing

from hugmood.privacy.zk.challenges import MemoryChallengeStore
from hugmood.privacy.zk.circuits import circuit_path, read_cached
from hugmood.privacy.zk.credentials import DOCTYPE, NAMESPACE, Credential, issue_test_credential
from hugmood.privacy.zk.errors import (
    ChallengeInvalid,
    CredentialInvalid,
    ProofRejected,
    UnknownIssuer,
    UnsupportedThreshold,
)
from hugmood.privacy.zk.issuers import TEST_ISSUER_NAME, TrustList
from hugmood.privacy.zk.protocol import AgeProof
from hugmood.privacy.zk.prover import load_longfellow, prove_age
from hugmood.privacy.zk.verifier import AgeVerifier

CACHE = Path(
    os.environ.get("HUGMOOD_TEST_ZK_CACHE", Path.home() / ".cache" / "hugmood" / "zk-circuits")
)
AUDIENCE = "https://hugmood.test"
NOW = datetime.now(UTC).replace(microsecond=0)
ADULT = date(NOW.year - 30, 1, 15)
CHILD = date(NOW.year - 12, 1, 15)


@pytest.fixture(scope="module")
def longfellow() -> Pylongfellow:
    return load_longfellow(CACHE)


@pytest.fixture(scope="module")
def trust() -> TrustList:
    return TrustList.parse("", include_test_issuer=True)


@pytest.fixture(scope="module")
def adult() -> Credential:
    return issue_test_credential(ADULT, now=NOW)


@pytest.fixture
async def verifier(trust: TrustList) -> AsyncIterator[AgeVerifier]:
    store = MemoryChallengeStore(ttl=timedelta(days=365))
    async with AgeVerifier(trust, store, cache_dir=CACHE, audience=AUDIENCE) as v:
        yield v


def prove(
    longfellow: Pylongfellow,
    credential: Credential,
    verifier: AgeVerifier,
    *,
    user: str = "alice",
    threshold: int = 18,
    proven: int | None = None,
) -> AgeProof:
    challenge = verifier.challenges.issue(user, threshold, NOW)
    return prove_age(
        longfellow,
        credential,
        threshold=proven or threshold,
        nonce=challenge.nonce,
        audience=AUDIENCE,
        now=NOW,
    )


def test_the_cached_circuit_is_checked_against_its_known_hash(
    tmp_path: Path, longfellow: Pylongfellow
) -> None:
    # The `longfellow` fixture generated the circuit into CACHE if this machine had none.
    cached = circuit_path(CACHE).read_bytes()
    corrupt = circuit_path(tmp_path)
    corrupt.write_bytes(cached[:-1] + bytes([cached[-1] ^ 1]))
    assert read_cached(circuit_path(CACHE)) == cached
    assert read_cached(corrupt) is None  # so it is regenerated, not trusted
    assert read_cached(tmp_path / "missing.bin") is None


async def test_a_valid_proof_is_accepted_and_only_the_outcome_is_returned(
    longfellow: Pylongfellow, adult: Credential, trust: TrustList, verifier: AgeVerifier
) -> None:
    proof = prove(longfellow, adult, verifier)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    running = asyncio.create_task(ticker())
    outcome = await verifier.verify("alice", proof, NOW)
    running.cancel()
    assert (outcome.threshold, outcome.issuer, outcome.at) == (18, TEST_ISSUER_NAME, NOW)
    assert ticks > 1  # the loop kept serving while the proof was checked in a worker
    assert ADULT.isoformat() not in repr(outcome)


async def test_a_replayed_proof_is_refused_without_verifying_again(
    longfellow: Pylongfellow, adult: Credential, trust: TrustList, verifier: AgeVerifier
) -> None:
    proof = prove(longfellow, adult, verifier)
    await verifier.verify("alice", proof, NOW)
    with pytest.raises(ChallengeInvalid, match="already used"):
        await verifier.verify("alice", proof, NOW)


async def test_a_tampered_proof_is_refused(
    longfellow: Pylongfellow, adult: Credential, trust: TrustList, verifier: AgeVerifier
) -> None:
    proof = prove(longfellow, adult, verifier)
    middle = len(proof.proof) // 2
    flipped = proof.proof[:middle] + bytes([proof.proof[middle] ^ 0x40]) + proof.proof[middle + 1 :]
    with pytest.raises(ProofRejected, match="does not verify"):
        await verifier.verify("alice", AgeProof(proof.issuer, 18, proof.nonce, flipped), NOW)


async def test_a_proof_for_another_threshold_is_refused(
    longfellow: Pylongfellow, adult: Credential, trust: TrustList, verifier: AgeVerifier
) -> None:
    # The device proves age_over_13 against a challenge for 18 and claims it is for 18.
    proof = prove(longfellow, adult, verifier, threshold=18, proven=13)
    with pytest.raises(ChallengeInvalid, match="asked for age 18, not 13"):
        await verifier.verify("alice", proof, NOW)
    relabelled = prove(longfellow, adult, verifier, threshold=18, proven=13)
    with pytest.raises(ProofRejected):
        await verifier.verify(
            "alice", AgeProof(relabelled.issuer, 18, relabelled.nonce, relabelled.proof), NOW
        )


async def test_someone_elses_or_an_unknown_nonce_is_refused(
    longfellow: Pylongfellow, adult: Credential, trust: TrustList, verifier: AgeVerifier
) -> None:
    proof = prove(longfellow, adult, verifier, user="alice")
    with pytest.raises(ChallengeInvalid, match="someone else"):
        await verifier.verify("mallory", proof, NOW)
    with pytest.raises(ChallengeInvalid, match="unknown"):
        await verifier.verify("alice", AgeProof(proof.issuer, 18, b"\0" * 32, proof.proof), NOW)


async def test_an_unknown_issuer_is_refused_and_a_forged_test_issuer_fails(
    longfellow: Pylongfellow, trust: TrustList, verifier: AgeVerifier
) -> None:
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue = testing.create_presentation(
        DOCTYPE,
        {NAMESPACE: {"age_over_18": True}},
        cbor2.dumps(["issuance"]),
        NOW - timedelta(days=1),
        NOW + timedelta(days=30),
        issuer_key=rogue_key,
    )
    credential = Credential(
        "rogue", rogue.mdoc, rogue.device_key, NOW - timedelta(days=1), NOW + timedelta(days=30)
    )
    proof = prove(longfellow, credential, verifier)
    with pytest.raises(UnknownIssuer, match="'rogue' is not trusted"):
        await verifier.verify("alice", proof, NOW)
    # The same rogue proof presented under the trusted test issuer's name does not verify.
    with pytest.raises(ProofRejected):
        await verifier.verify(
            "alice", AgeProof(TEST_ISSUER_NAME, 18, proof.nonce, proof.proof), NOW
        )


async def test_an_expired_credential_is_refused_on_the_device_and_by_the_server(
    longfellow: Pylongfellow, trust: TrustList, verifier: AgeVerifier
) -> None:
    short = issue_test_credential(ADULT, now=NOW, valid_for=timedelta(days=1))
    later = NOW + timedelta(days=2)
    challenge = verifier.challenges.issue("alice", 18, later)
    with pytest.raises(CredentialInvalid, match="expired"):
        prove_age(
            longfellow, short, threshold=18, nonce=challenge.nonce, audience=AUDIENCE, now=later
        )
    # A device that proves at a time of its own choosing, when the credential was still
    # valid: the server checks against the challenge's time, and refuses.
    proof = prove_age(
        longfellow, short, threshold=18, nonce=challenge.nonce, audience=AUDIENCE, now=NOW
    )
    with pytest.raises(ProofRejected, match="expired"):
        await verifier.verify("alice", proof, later)


def test_an_under_age_credential_cannot_prove_and_odd_thresholds_are_refused(
    longfellow: Pylongfellow, trust: TrustList
) -> None:
    child = issue_test_credential(CHILD, now=NOW)
    assert child.age_flags() == {13: False, 14: False, 15: False, 16: False, 18: False, 21: False}
    with pytest.raises(CredentialInvalid, match="does not state that you are 13"):
        prove_age(longfellow, child, threshold=13, nonce=b"n" * 32, audience=AUDIENCE, now=NOW)
    with pytest.raises(UnsupportedThreshold, match="age_over_17"):
        prove_age(longfellow, child, threshold=17, nonce=b"n" * 32, audience=AUDIENCE, now=NOW)


def test_a_credential_survives_the_device_store(adult: Credential) -> None:
    again = Credential.from_json(adult.to_json())
    assert (again.mdoc, again.issuer, again.valid_until) == (
        adult.mdoc,
        adult.issuer,
        adult.valid_until,
    )
    with pytest.raises(CredentialInvalid, match="malformed"):
        Credential.from_json('{"issuer": "x"}')
