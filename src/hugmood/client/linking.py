"""The cryptography of notes shared between a person's own devices (docs/decisions/0021).

- Each device has an X25519 key pair; the private half stays in its vault.
- The notes keyring holds every notes key the person has had (32 random bytes each, by
  version); notes are sealed with the newest key by AES-256-GCM, the entry's id and the
  person's id as associated data (a note moved to another entry or person fails).
- A keyring travels only wrapped for one device: an ephemeral X25519 exchange with the
  device's public key, HKDF-SHA256 over the shared secret and both public keys, AES-256-GCM.
- Linking is authenticated by a pairing phrase (80 random bits) the person reads off the old
  device and types on the new one. From it come a pairing id (which the server sees, to route
  the request) and a MAC key (which it never sees): the new device's request carries an HMAC
  over its public key, the old device's answer an HMAC over the wrapped keyring. A server
  that swaps in its own key fails the first check; one that swaps in its own keyring fails
  the second; guessing the phrase offline means 2^80 tries.
- A rotated or updated keyring is accepted only if it holds every key the device already
  has: the server, which knows none of them, cannot forge one.
- The keyring carries its roster (each linked device's public key, added by the device that
  checked it with a phrase), and a rotation wraps the new key for the roster's keys only: a
  device the server lists but no device of the person ever checked gets nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hugmood.client.errors import ClientError

PHRASE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""32 symbols without the look-alikes (I/1, O/0): 5 bits each, 16 of them make 80 bits."""
PHRASE_SYMBOLS = 16
NOTE_FORMAT = 1
_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw
_RAW_PRIVATE = serialization.PrivateFormat.Raw


class LinkingError(ClientError):
    """A key, phrase, keyring or sealed note that does not check out; nothing was changed."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise LinkingError(f"the {what} is not base64") from None


# --- device keys -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceKey:
    private: X25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(X25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> DeviceKey:
        return cls(X25519PrivateKey.from_private_bytes(unb64(text, "device key")))

    def to_text(self) -> str:
        raw = self.private.private_bytes(_RAW, _RAW_PRIVATE, serialization.NoEncryption())
        return b64(raw)

    @property
    def public(self) -> str:
        return b64(self.private.public_key().public_bytes(_RAW, _RAW_PUBLIC))


# --- the keyring -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Keyring:
    keys: dict[int, bytes]
    """Version → 32-byte notes key; the highest version seals new notes."""
    devices: dict[str, str]
    """The roster: device id → public key of every device the keyring is shared with, each
    added by a device that checked it with a pairing phrase. A rotation wraps the new key
    for these keys only, never for a key the server merely lists."""

    @classmethod
    def first(cls, device_id: str, public_key: str) -> Keyring:
        return cls({1: secrets.token_bytes(32)}, {device_id: public_key})

    @property
    def version(self) -> int:
        return max(self.keys)

    def with_device(self, device_id: str, public_key: str) -> Keyring:
        return Keyring(self.keys, {**self.devices, device_id: public_key})

    def rotated(self, *, without: str) -> Keyring:
        """A new key, and the roster without the device being unlinked."""
        devices = {d: k for d, k in self.devices.items() if d != without}
        return Keyring({**self.keys, self.version + 1: secrets.token_bytes(32)}, devices)

    def to_bytes(self) -> bytes:
        keys = {str(v): b64(k) for v, k in sorted(self.keys.items())}
        return json.dumps({"keys": keys, "devices": dict(sorted(self.devices.items()))}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Keyring:
        try:
            raw = json.loads(data)
            keys = {int(v): base64.b64decode(k, validate=True) for v, k in raw["keys"].items()}
            devices = {str(d): str(k) for d, k in raw["devices"].items()}
        except (ValueError, AttributeError, TypeError, KeyError):
            raise LinkingError("the keyring is malformed") from None
        if not keys or any(len(k) != 32 or v < 1 for v, k in keys.items()):
            raise LinkingError("the keyring is malformed")
        return cls(keys, devices)

    def extends(self, older: Keyring) -> bool:
        """Whether this keyring keeps every key of `older` (a genuine update does: only a
        holder of those keys can have made it)."""
        return (
            all(hmac.compare_digest(self.keys.get(v, b""), k) for v, k in older.keys.items())
            and self.version >= older.version
        )


@dataclass(frozen=True, slots=True)
class Wrapped:
    ephemeral_key: str
    wrapped: str


def _wrap_aad(user_id: str, device_id: str, version: int) -> bytes:
    return f"hugmood/keyring/{user_id}/{device_id}/{version}".encode()


def _wrapping_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ephemeral + recipient,
        info=b"hugmood notes keyring wrap v1",
    )
    return hkdf.derive(shared)


def wrap_keyring(
    keyring: Keyring, *, recipient_public: str, user_id: str, device_id: str
) -> Wrapped:
    """The keyring sealed to one device's public key (only its private key opens it)."""
    recipient = unb64(recipient_public, "device's public key")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(_RAW, _RAW_PUBLIC)
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    except ValueError:
        raise LinkingError("that device's public key is not an X25519 key") from None
    key = _wrapping_key(shared, ephemeral_public, recipient)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(
        nonce, keyring.to_bytes(), _wrap_aad(user_id, device_id, keyring.version)
    )
    return Wrapped(b64(ephemeral_public), b64(nonce + sealed))


def unwrap_keyring(
    wrapped: Wrapped, *, device: DeviceKey, user_id: str, device_id: str, version: int
) -> Keyring:
    ephemeral = unb64(wrapped.ephemeral_key, "ephemeral key")
    blob = unb64(wrapped.wrapped, "wrapped keyring")
    own = unb64(device.public, "device key")
    try:
        shared = device.private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
        key = _wrapping_key(shared, ephemeral, own)
        plain = AESGCM(key).decrypt(blob[:12], blob[12:], _wrap_aad(user_id, device_id, version))
    except (ValueError, InvalidTag):
        raise LinkingError("the keyring was not wrapped for this device, or was altered") from None
    keyring = Keyring.from_bytes(plain)
    if keyring.version != version:
        raise LinkingError("the keyring's version is not the one announced")
    return keyring


# --- pairing ---------------------------------------------------------------------------------


def new_phrase() -> str:
    symbols = "".join(secrets.choice(PHRASE_ALPHABET) for _ in range(PHRASE_SYMBOLS))
    return "-".join(symbols[i : i + 4] for i in range(0, PHRASE_SYMBOLS, 4))


def normalise_phrase(phrase: str) -> str:
    symbols = "".join(c for c in phrase.upper() if c.isalnum())
    symbols = symbols.replace("O", "0").replace("I", "1")
    if len(symbols) != PHRASE_SYMBOLS or any(c not in PHRASE_ALPHABET for c in symbols):
        raise LinkingError(
            f"a pairing phrase is {PHRASE_SYMBOLS} letters and digits, like ABCD-EFGH-JKLM-NPQR"
            " (shown by `hugmood devices link` on your other device)"
        )
    return symbols


@dataclass(frozen=True, slots=True)
class Pairing:
    """What a phrase gives both devices: an id to meet under, and a key to prove it."""

    pairing_id: str
    mac_key: bytes

    @classmethod
    def from_phrase(cls, phrase: str) -> Pairing:
        secret = normalise_phrase(phrase).encode()

        def derive(info: bytes) -> bytes:
            return HKDF(hashes.SHA256(), 32, salt=b"hugmood pairing v1", info=info).derive(secret)

        return cls(derive(b"pairing id")[:16].hex(), derive(b"pairing mac"))

    def _mac(self, *parts: str | int) -> bytes:
        message = b"".join(struct.pack(">I", len(p := str(part).encode())) + p for part in parts)
        return hmac.new(self.mac_key, message, hashlib.sha256).digest()

    def request_proof(self, user_id: str, device_id: str, public_key: str) -> str:
        return b64(self._mac("request", user_id, device_id, public_key))

    def answer_proof(
        self, user_id: str, device_id: str, public_key: str, version: int, wrapped: Wrapped
    ) -> str:
        return b64(
            self._mac(
                "answer",
                user_id,
                device_id,
                public_key,
                version,
                wrapped.ephemeral_key,
                wrapped.wrapped,
            )
        )

    def check(self, proof: str, expected: str, what: str) -> None:
        if not hmac.compare_digest(unb64(proof, what), unb64(expected, what)):
            raise LinkingError(
                f"the {what} does not match this pairing phrase: check the phrase, and if it"
                " is right, someone (or the server) tampered with the exchange; nothing was linked"
            )


# --- notes -----------------------------------------------------------------------------------


def _note_aad(user_id: str, entry_id: str) -> bytes:
    return f"hugmood/note/{user_id}/{entry_id}".encode()


def seal_note(keyring: Keyring, *, user_id: str, entry_id: str, note: str) -> str:
    version = keyring.version
    nonce = os.urandom(12)
    sealed = AESGCM(keyring.keys[version]).encrypt(
        nonce, note.encode(), _note_aad(user_id, entry_id)
    )
    return b64(struct.pack(">BI", NOTE_FORMAT, version) + nonce + sealed)


def open_note(keyring: Keyring, *, user_id: str, entry_id: str, ciphertext: str) -> str:
    blob = unb64(ciphertext, "sealed note")
    if len(blob) < 5 + 12 + 16 or blob[0] != NOTE_FORMAT:
        raise LinkingError("not a sealed note of this format")
    (version,) = struct.unpack(">I", blob[1:5])
    key = keyring.keys.get(version)
    if key is None:
        raise LinkingError(f"this device has no notes key of version {version}")
    try:
        plain = AESGCM(key).decrypt(blob[5:17], blob[17:], _note_aad(user_id, entry_id))
    except InvalidTag:
        raise LinkingError("the sealed note was altered or belongs to another entry") from None
    return plain.decode()
