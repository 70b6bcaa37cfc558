"""The device side: prove `age_over_N` from a stored credential for a server's nonce.

Proving takes a few seconds of CPU (Longfellow, google-cpp backend) and never reveals the
birth date: the proof shows only that the issuer signed `age_over_N = true` in a credential
valid now, held by this device (its device signature over the transcript).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import cbor2
from pylongfellow import Pylongfellow
from pylongfellow.mdoc import ProverError, RequestedAttribute, testing

from hugmood.privacy.zk.circuits import NUM_ATTRIBUTES, SPEC_VERSION, load_or_generate
from hugmood.privacy.zk.credentials import DOCTYPE, NAMESPACE, THRESHOLDS, Credential
from hugmood.privacy.zk.errors import CredentialInvalid, UnsupportedThreshold
from hugmood.privacy.zk.protocol import AgeProof, session_transcript


def age_claim(threshold: int) -> RequestedAttribute:
    if threshold not in THRESHOLDS:
        raise UnsupportedThreshold(
            f"age_over_{threshold} is not a supported check "
            f"(supported: {', '.join(map(str, THRESHOLDS))})"
        )
    return RequestedAttribute(NAMESPACE, f"age_over_{threshold}", cbor2.dumps(True))


def load_longfellow(cache_dir: Path) -> Pylongfellow:
    """A Longfellow instance with the (cached) single-claim circuit loaded."""
    longfellow = Pylongfellow(backend="google-cpp")
    longfellow.load_circuit(load_or_generate(cache_dir), SPEC_VERSION, NUM_ATTRIBUTES)
    return longfellow


def present(credential: Credential, transcript: bytes) -> bytes:
    """The credential's mdoc with its device signature redone over this transcript."""
    response = cbor2.loads(credential.mdoc)
    document = response["documents"][0]
    signature = testing.sign_device_authentication(
        credential.device_key, transcript, DOCTYPE, document["deviceSigned"]["nameSpaces"]
    )
    document["deviceSigned"]["deviceAuth"]["deviceSignature"][3] = signature
    return bytes(cbor2.dumps(response))


def prove_age(
    longfellow: Pylongfellow,
    credential: Credential,
    *,
    threshold: int,
    nonce: bytes,
    audience: str,
    now: datetime | None = None,
) -> AgeProof:
    """Prove `age_over_<threshold>` for `nonce` at `now`, the challenge's time (the verifier
    checks against the same time); says plainly why it cannot."""
    now = now or datetime.now(UTC)
    claim = age_claim(threshold)
    if now < credential.valid_from:
        raise CredentialInvalid(f"the credential is valid only from {credential.valid_from}")
    if now > credential.valid_until:
        raise CredentialInvalid(
            f"the credential expired on {credential.valid_until}; ask its issuer for a new one"
        )
    if credential.age_flags().get(threshold) is not True:
        raise CredentialInvalid(f"the credential does not state that you are {threshold} or over")
    transcript = session_transcript(nonce, audience)
    try:
        proof = longfellow.prove(
            present(credential, transcript),
            credential.issuer_public_key(),
            transcript,
            [claim],
            now,
        )
    except ProverError as e:
        raise CredentialInvalid(f"the credential could not be proven: {e}") from e
    return AgeProof(credential.issuer, threshold, nonce, proof)
