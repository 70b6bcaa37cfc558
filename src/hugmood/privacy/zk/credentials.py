"""mdoc credentials with a birth date and `age_over_N` flags, issued by the test issuer.

An mdoc (ISO 18013-5) carries issuer-signed elements; for age checks the issuer computes the
`age_over_NN` booleans from the birth date at issuance (as mobile driving licences do), and a
proof reveals only that one of them is true. The credential stays on the device with its
device key; `pylongfellow.mdoc.testing` builds and signs the COSE structures.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pylongfellow.mdoc import PublicKey, testing

from hugmood.privacy.zk.errors import CredentialInvalid
from hugmood.privacy.zk.issuers import TEST_ISSUER_NAME, public_key_of, test_issuer_key

DOCTYPE = "org.iso.18013.5.1.mDL"
NAMESPACE = "org.iso.18013.5.1"
THRESHOLDS = (13, 14, 15, 16, 18, 21)
"""The `age_over_NN` elements every credential carries (13 to 16: the EU's ages of digital
consent; 18 and 21 for adult features)."""


def age_on(birth_date: date, day: date) -> int:
    years = day.year - birth_date.year
    return years - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True, slots=True)
class Credential:
    """What the device keeps: the mdoc, its device key and who issued it."""

    issuer: str
    mdoc: bytes
    device_key: ec.EllipticCurvePrivateKey
    valid_from: datetime
    valid_until: datetime

    def to_json(self) -> str:
        pem = self.device_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return json.dumps(
            {
                "issuer": self.issuer,
                "mdoc": base64.b64encode(self.mdoc).decode("ascii"),
                "deviceKey": pem.decode("ascii"),
                "validFrom": self.valid_from.isoformat(),
                "validUntil": self.valid_until.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Credential:
        try:
            data: Any = json.loads(text)
            key = serialization.load_pem_private_key(data["deviceKey"].encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise CredentialInvalid("the credential's device key is not an EC key")
            return cls(
                issuer=str(data["issuer"]),
                mdoc=base64.b64decode(data["mdoc"], validate=True),
                device_key=key,
                valid_from=datetime.fromisoformat(data["validFrom"]),
                valid_until=datetime.fromisoformat(data["validUntil"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise CredentialInvalid(f"the stored credential is malformed: {e}") from e

    def issuer_public_key(self) -> PublicKey:
        """The key in the issuer's certificate (x5chain) inside the mdoc."""
        try:
            issuer_auth = cbor2.loads(self.mdoc)["documents"][0]["issuerSigned"]["issuerAuth"]
            certificate = x509.load_der_x509_certificate(issuer_auth[1][33])
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise CredentialInvalid(f"the credential has no issuer certificate: {e}") from e
        key = certificate.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise CredentialInvalid("the issuer certificate does not hold a P-256 key")
        return public_key_of(key)

    def age_flags(self) -> dict[int, bool]:
        """The `age_over_NN` values the issuer signed (read on the device only)."""
        document = cbor2.loads(self.mdoc)["documents"][0]
        flags: dict[int, bool] = {}
        for item in document["issuerSigned"]["nameSpaces"].get(NAMESPACE, []):
            element = cbor2.loads(item.value)
            name = element["elementIdentifier"]
            if name.startswith("age_over_"):
                flags[int(name.removeprefix("age_over_"))] = element["elementValue"] is True
        return flags


def issue_test_credential(
    birth_date: date,
    *,
    now: datetime | None = None,
    valid_for: timedelta = timedelta(days=90),
    valid_from: datetime | None = None,
) -> Credential:
    """A credential signed by the HugMood TEST issuer (development and tests only)."""
    now = now or datetime.now(UTC)
    start = valid_from or now - timedelta(minutes=5)
    until = start + valid_for
    issuer_key = test_issuer_key()
    certificate = testing.create_certificate(
        "HugMood TEST issuer - public key, not for production",
        issuer_key.public_key(),
        "HugMood TEST issuer - public key, not for production",
        issuer_key,
        start,
        until,
    )
    today = now.astimezone(UTC).date()
    elements: dict[str, object] = {"birth_date": cbor2.CBORTag(1004, birth_date.isoformat())}
    for n in THRESHOLDS:
        elements[f"age_over_{n}"] = age_on(birth_date, today) >= n
    device_key = ec.generate_private_key(ec.SECP256R1())
    issued = testing.create_presentation(
        DOCTYPE,
        {NAMESPACE: elements},
        cbor2.dumps(["hugmood-issuance", now.isoformat()]),
        start,
        until,
        issuer_key=issuer_key,
        device_key=device_key,
        issuer_certificate=certificate,
    )
    return Credential(TEST_ISSUER_NAME, issued.mdoc, device_key, start, until)
