"""Paillier key pairs (python-paillier), their fingerprints and their JSON form.

A key pair is generated where the private half will live (the device vault, or the decryption
service's key directory) and never leaves it; the server only ever holds public keys.
"""

from __future__ import annotations

import hashlib
from typing import Any, TypeAlias

from phe import paillier

from hugmood.privacy.he.errors import KeyTooSmall, MalformedKey

MIN_KEY_BITS = 3072
"""NIST SP 800-57's 128-bit level for factoring-based keys."""

PublicKey: TypeAlias = paillier.PaillierPublicKey
PrivateKey: TypeAlias = paillier.PaillierPrivateKey


def generate_keypair(bits: int = MIN_KEY_BITS) -> tuple[PublicKey, PrivateKey]:
    """A fresh key pair of `bits` (at least 3072) bits."""
    if bits < MIN_KEY_BITS:
        raise KeyTooSmall(f"Paillier keys must have at least {MIN_KEY_BITS} bits (asked {bits})")
    public_key, private_key = paillier.generate_paillier_keypair(n_length=bits)
    return public_key, private_key


def fingerprint(public_key: PublicKey) -> str:
    """A short, stable name for a public key: SHA-256 of its modulus, 32 hex digits."""
    n = public_key.n
    return hashlib.sha256(n.to_bytes((n.bit_length() + 7) // 8, "big")).hexdigest()[:32]


def public_key_to_json(public_key: PublicKey) -> dict[str, str]:
    return {"n": format(public_key.n, "x")}


def public_key_from_json(data: Any) -> PublicKey:
    """Parse `{"n": hex}`; refuses keys below the floor and anything malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("n"), str):
        raise MalformedKey("a Paillier public key is {'n': '<hex modulus>'}")
    try:
        n = int(data["n"], 16)
    except ValueError:
        raise MalformedKey("the modulus is not hexadecimal") from None
    if n.bit_length() < MIN_KEY_BITS:
        raise KeyTooSmall(
            f"Paillier keys must have at least {MIN_KEY_BITS} bits (got {n.bit_length()})"
        )
    return paillier.PaillierPublicKey(n)


def private_key_to_json(private_key: PrivateKey) -> dict[str, str]:
    return {
        "n": format(private_key.public_key.n, "x"),
        "p": format(private_key.p, "x"),
        "q": format(private_key.q, "x"),
    }


def private_key_from_json(data: Any) -> PrivateKey:
    public_key = public_key_from_json(data)
    try:
        p, q = int(data["p"], 16), int(data["q"], 16)
    except (KeyError, TypeError, ValueError):
        raise MalformedKey("a Paillier private key is {'n', 'p', 'q'} in hexadecimal") from None
    if p * q != public_key.n:
        raise MalformedKey("the private key's primes do not match its modulus")
    return paillier.PaillierPrivateKey(public_key, p, q)
