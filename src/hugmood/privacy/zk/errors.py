"""The error tree of age verification: each refusal says what is wrong and what to do."""

from __future__ import annotations


class AgeVerificationError(Exception):
    """Base of every error raised by `hugmood.privacy.zk`."""


class CircuitUnavailable(AgeVerificationError):
    """The Longfellow circuit could not be generated, read or matched to its known hash."""


class UnknownIssuer(AgeVerificationError):
    """The credential's issuer is not on the trust list."""


class UnsupportedThreshold(AgeVerificationError):
    """An age threshold no credential carries (`age_over_N` for N in `THRESHOLDS`)."""


class ChallengeInvalid(AgeVerificationError):
    """The nonce is unknown, already used, expired, or was issued to someone else."""


class MalformedProof(AgeVerificationError):
    """The submission cannot be parsed (bad base64, too large, wrong fields)."""


class ProofRejected(AgeVerificationError):
    """The proof does not verify against this nonce, threshold, issuer and time."""


class CredentialInvalid(AgeVerificationError):
    """On the device: the credential is expired, not yet valid, malformed or says 'not over N'."""


class VerifierUnavailable(AgeVerificationError):
    """The verification workers are not running (shut down, or a worker died)."""
