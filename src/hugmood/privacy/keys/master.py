"""The master key (key-encryption key) that wraps every person's data key.

Embedded, it is a key file created with mode 0600 in the data directory; otherwise (and at
scale, where PostgreSQL holds the wrapped data keys) it comes from `HUGMOOD_MASTER_KEY`. It
never sits beside the keys it wraps in one store, and it is never replaced silently: a
missing or wrong key refuses the start (`DataKeyStore.open` checks it against the store).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hugmood.config import Settings
from hugmood.privacy.keys.errors import MasterKeyRefused
from hugmood.private_files import private_dir

KEY_BYTES = 32
NONCE_BYTES = 12
MASTER_KEY_FILE = "master.key"
_CHECK = b"hugmood master key check"


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def new_master_key_text() -> str:
    """A fresh master key as `HUGMOOD_MASTER_KEY` and the key file spell it."""
    return encode_key(secrets.token_bytes(KEY_BYTES))


def decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise MasterKeyRefused(
            f"{where} must be {KEY_BYTES} random bytes in URL-safe base64 "
            "(make one with `hugmood keys new-master-key`)"
        )
    return key


@dataclass(frozen=True, slots=True)
class MasterKey:
    """A key-encryption key, and where it came from (for messages and for saving it)."""

    key: bytes
    origin: str
    file: Path | None = None
    """The key file it is kept in (embedded mode)."""
    fresh: bool = False
    """Made just now because there was no key file: saved only once the store is checked."""

    @property
    def key_id(self) -> str:
        """Names the key without revealing it: which key wrapped a data key."""
        return hashlib.sha256(b"hugmood master key id\x00" + self.key).hexdigest()[:16]

    def wrap(self, user_id: str, data_key: bytes) -> str:
        """`data_key` encrypted under this key, bound to `user_id` (it opens for no one else)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, data_key, _wrap_aad(user_id))
        return encode_key(nonce + sealed)

    def unwrap(self, user_id: str, wrapped: str) -> bytes:
        raw = decode_wrapped(wrapped)
        return AESGCM(self.key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _wrap_aad(user_id))

    def check_value(self) -> str:
        """A value only this key opens, kept in the store to recognise the right key at start."""
        return self.wrap("", _CHECK)

    def opens(self, check_value: str) -> bool:
        try:
            return self.unwrap("", check_value) == _CHECK
        except (InvalidTag, ValueError):
            return False

    def saved(self) -> MasterKey:
        """A fresh key kept in its file (0600, never over an existing one); if another process
        sharing the data directory made the file first, its key instead."""
        if self.file is None or not self.fresh:
            return self
        private_dir(self.file.parent)
        try:
            fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return read_key_file(self.file)
        with os.fdopen(fd, "w") as f:
            f.write(encode_key(self.key) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return replace(self, fresh=False)


def _wrap_aad(user_id: str) -> bytes:
    return b"hugmood data key\x00" + user_id.encode()


def decode_wrapped(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise ValueError("not a wrapped key") from e
    if len(raw) <= NONCE_BYTES:
        raise ValueError("not a wrapped key")
    return raw


def load_master_key(settings: Settings) -> MasterKey:
    """The configured master key: `HUGMOOD_MASTER_KEY`, else the data directory's key file
    (embedded SQLite, or PostgreSQL in development), else a key for this process alone
    (the in-memory store keeps nothing)."""
    if settings.master_key:
        return MasterKey(
            decode_key(settings.master_key, "HUGMOOD_MASTER_KEY"), "HUGMOOD_MASTER_KEY"
        )
    if settings.database_url == "memory":
        return MasterKey(secrets.token_bytes(KEY_BYTES), "this process")
    if settings.database_url != "sqlite" and not settings.development:
        raise MasterKeyRefused(
            "HUGMOOD_MASTER_KEY must be set in production with PostgreSQL: the master key "
            "must not sit in a file beside the keys it wraps"
        )
    return read_key_file(settings.data_dir / MASTER_KEY_FILE)


def read_key_file(path: Path) -> MasterKey:
    if not path.exists():
        return MasterKey(secrets.token_bytes(KEY_BYTES), str(path), file=path, fresh=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise MasterKeyRefused(
            f"{path} has mode {mode:04o}: the master key must be readable by its owner only "
            f"(chmod 600 {path})"
        )
    return MasterKey(decode_key(path.read_text(), str(path)), str(path), file=path)
