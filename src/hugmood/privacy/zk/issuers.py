"""Trusted mdoc issuers, and HugMood's *test issuer* for development and tests.

The trust list maps an issuer's name to its P-256 public key; it comes from configuration
(`HUGMOOD_ZK_TRUSTED_ISSUERS`). The test issuer's private key is derived from a published
string, so anyone can sign as it: it is trusted only in development, or where an operator
lists it explicitly, and its certificate says so in its name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from pylongfellow.mdoc import PublicKey

from hugmood.privacy.zk.errors import UnknownIssuer

TEST_ISSUER_NAME = "hugmood-test-issuer"
TEST_ISSUER_SEED = b"HugMood TEST issuer -- this key is PUBLIC, never trust it in production"


def test_issuer_key() -> ec.EllipticCurvePrivateKey:
    """The test issuer's signing key: public knowledge by construction (see the seed)."""
    scalar = int.from_bytes(hashlib.sha256(TEST_ISSUER_SEED).digest(), "big")
    return ec.derive_private_key(scalar, ec.SECP256R1())


def public_key_of(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> PublicKey:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    numbers = public.public_numbers()
    return PublicKey(numbers.x, numbers.y)


@dataclass(frozen=True, slots=True)
class TrustList:
    """Issuer name → public key. Only these issuers' credentials are accepted."""

    issuers: Mapping[str, PublicKey]

    def key_of(self, name: str) -> PublicKey:
        key = self.issuers.get(name)
        if key is None:
            trusted = ", ".join(sorted(self.issuers)) or "none configured"
            raise UnknownIssuer(f"issuer {name!r} is not trusted here (trusted: {trusted})")
        return key

    @classmethod
    def parse(cls, text: str, *, include_test_issuer: bool) -> TrustList:
        """`name=<x hex>:<y hex>` entries separated by commas; the test issuer by name alone."""
        issuers: dict[str, PublicKey] = {}
        if include_test_issuer:
            issuers[TEST_ISSUER_NAME] = public_key_of(test_issuer_key())
        for item in filter(None, (part.strip() for part in text.split(","))):
            if item == TEST_ISSUER_NAME:
                issuers[TEST_ISSUER_NAME] = public_key_of(test_issuer_key())
                continue
            name, _, coordinates = item.partition("=")
            x, _, y = coordinates.partition(":")
            try:
                key = PublicKey(int(x, 16), int(y, 16))
                ec.EllipticCurvePublicNumbers(key.x, key.y, ec.SECP256R1()).public_key()
            except ValueError:
                raise ValueError(
                    f"trusted issuer {item!r} must be name=<x hex>:<y hex>, a P-256 point"
                ) from None
            issuers[name.strip()] = key
        return cls(issuers)
