"""Raw Paillier ciphertexts on the wire and their checks: the right key, in range, a unit.

On the wire a ciphertext is `{"key": <key fingerprint>, "c": <base64 of 2·|n| bytes>}`. The
server cannot tell a ciphertext's key from its value (every unit mod n² is some encryption),
so the fingerprint names the key it claims; a wrong fingerprint is refused as foreign, and a
value that is not a unit mod n² is refused as malformed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import gmpy2

from hugmood.privacy.he.errors import ForeignCiphertext, MalformedCiphertext
from hugmood.privacy.he.keys import PublicKey, fingerprint


@dataclass(frozen=True, slots=True)
class Ciphertext:
    """A raw Paillier ciphertext under the key named by `key_id`."""

    key_id: str
    value: int

    def to_wire(self, public_key: PublicKey) -> dict[str, str]:
        size = (public_key.nsquare.bit_length() + 7) // 8
        return {
            "key": self.key_id,
            "c": base64.b64encode(self.value.to_bytes(size, "big")).decode("ascii"),
        }


def check_value(public_key: PublicKey, value: int) -> int:
    """`value` if it is a unit modulo n² (0 < c < n², gcd(c, n) = 1), else MalformedCiphertext."""
    if not 0 < value < public_key.nsquare:
        raise MalformedCiphertext("the ciphertext is out of range for this key")
    if gmpy2.gcd(value, public_key.n) != 1:
        raise MalformedCiphertext("the ciphertext is not invertible modulo n²")
    return value


def from_wire(public_key: PublicKey, data: Any) -> Ciphertext:
    """Parse and check a wire ciphertext expected under `public_key`."""
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        raise MalformedCiphertext('a ciphertext is {"key": "<fingerprint>", "c": "<base64>"}')
    expected = fingerprint(public_key)
    if data.get("key") != expected:
        raise ForeignCiphertext(
            f"the ciphertext is under key {data.get('key')!r}, not this person's key {expected!r}"
        )
    size = (public_key.nsquare.bit_length() + 7) // 8
    try:
        raw = base64.b64decode(data["c"], validate=True)
    except (binascii.Error, ValueError):
        raise MalformedCiphertext("the ciphertext is not base64") from None
    if len(raw) != size:
        raise MalformedCiphertext(f"the ciphertext must be {size} bytes (got {len(raw)})")
    return Ciphertext(expected, check_value(public_key, int.from_bytes(raw, "big")))
