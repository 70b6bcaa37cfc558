"""The vault's cryptography: Argon2id key derivation, AES-256-GCM sealing, key wrapping.

Audited primitives only (`cryptography`'s AESGCM, argon2-cffi's Argon2id); nothing home-made.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
SALT_BYTES = 16


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost. The default is RFC 9106's second recommended option (64 MiB, t=3, p=4);
    tests that are not about the KDF pass a cheaper one."""

    memory_kib: int = 64 * 1024
    time_cost: int = 3
    parallelism: int = 4

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> KdfParams:
        return cls(**json.loads(raw))


RFC_9106 = KdfParams()
FAST_FOR_TESTS = KdfParams(memory_kib=1024, time_cost=1, parallelism=1)


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def derive_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """The key-encryption key: Argon2id over the passphrase (UTF-8) and the vault's salt."""
    return hash_secret_raw(
        secret=passphrase.encode(),
        salt=salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )


def seal(key: AESGCM, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """Encrypt under a fresh random 96-bit nonce; returns (nonce, ciphertext with tag)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce, key.encrypt(nonce, plaintext, aad)


def unseal(key: AESGCM, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
    """The plaintext, or `None` if the ciphertext, nonce or associated data were altered."""
    try:
        return key.decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        return None
