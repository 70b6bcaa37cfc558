"""The error tree of homomorphic analytics: every refusal says what was wrong."""

from __future__ import annotations


class HomomorphicError(Exception):
    """Base of every error raised by `hugmood.privacy.he`."""


class MalformedKey(HomomorphicError):
    """A key that cannot be parsed, or whose halves do not match."""


class KeyTooSmall(MalformedKey):
    """A Paillier key below the 3072-bit floor (about 128-bit security)."""


class ForeignCiphertext(HomomorphicError):
    """A ciphertext made under another public key than the one expected."""


class MalformedCiphertext(HomomorphicError):
    """Not a valid Paillier ciphertext for this key: wrong encoding, out of range, not a unit."""


class ValueOutOfRange(HomomorphicError):
    """A value outside what its fixed-point slot can hold."""


class SlotOverflow(HomomorphicError):
    """So many additions that a slot could carry into its neighbour; the sum would be wrong."""


class InvalidContribution(HomomorphicError):
    """A decrypted community contribution that is not exactly one well-formed record."""


class CohortTooSmall(HomomorphicError):
    """A cohort aggregate with fewer than k contributions: never decrypted."""


class NotAuthorised(HomomorphicError):
    """A decryption request that does not come from the aggregation job."""


class BudgetExhausted(HomomorphicError):
    """The cohort's differential-privacy budget is spent: no further release."""


class DecryptionServiceUnavailable(HomomorphicError):
    """The decryption service did not answer (not running, or its socket is missing)."""
