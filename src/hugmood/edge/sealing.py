"""The key the edge seals its queue with: AES-256-GCM under a key derived (HKDF-SHA256) from
the deployment's secret key, so the queue file alone opens nothing."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
_INFO = b"hugmood edge queue v1"


class QueueSealBroken(Exception):
    """A queued entry does not open under this edge's key (another key, or tampered)."""


class QueueSeal:
    """Seals and opens queued entries; `aad` binds each to its kind and id."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("the edge's queue key is derived from a secret key; none was given")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            secret_key.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except InvalidTag as e:
            raise QueueSealBroken("a queued entry does not open under this edge's key") from e
