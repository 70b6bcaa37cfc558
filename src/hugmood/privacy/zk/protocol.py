"""What travels between device and server: the session transcript and the proof submission.

The transcript is CBOR, as ISO 18013-5 session transcripts are; it names HugMood, the
server's audience (its origin) and the server's one-time nonce, and both the device
signature inside the mdoc and the Longfellow proof are bound to it. A proof made for one
nonce therefore verifies for no other.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import cbor2

from hugmood.privacy.zk.errors import MalformedProof

NONCE_BYTES = 32
MAX_PROOF_BYTES = 1_000_000
"""Longfellow v7 single-attribute proofs are about 360 KB; anything past 1 MB is refused."""


def session_transcript(nonce: bytes, audience: str) -> bytes:
    return cbor2.dumps([None, None, ["HugMood age verification", audience, nonce]])


@dataclass(frozen=True, slots=True)
class AgeProof:
    """A device's answer to a challenge: `age_over_<threshold>` proven for `nonce`."""

    issuer: str
    threshold: int
    nonce: bytes
    proof: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "threshold": self.threshold,
            "nonce": base64.urlsafe_b64encode(self.nonce).decode("ascii"),
            "proof": base64.b64encode(self.proof).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: Any) -> AgeProof:
        if not isinstance(data, dict):
            raise MalformedProof("an age proof is a JSON object: issuer, threshold, nonce, proof")
        issuer, threshold = data.get("issuer"), data.get("threshold")
        if not isinstance(issuer, str) or not 0 < len(issuer) <= 200:
            raise MalformedProof("issuer must be the issuer's name")
        if not isinstance(threshold, int) or isinstance(threshold, bool):
            raise MalformedProof("threshold must be a whole number of years")
        try:
            nonce = base64.urlsafe_b64decode(str(data.get("nonce", "")))
            proof = base64.b64decode(str(data.get("proof", "")), validate=True)
        except (binascii.Error, ValueError):
            raise MalformedProof("nonce and proof must be base64") from None
        if len(nonce) != NONCE_BYTES:
            raise MalformedProof(f"the nonce must be {NONCE_BYTES} bytes")
        if not 0 < len(proof) <= MAX_PROOF_BYTES:
            raise MalformedProof(f"the proof must be 1 to {MAX_PROOF_BYTES} bytes")
        return cls(issuer, threshold, nonce, proof)
