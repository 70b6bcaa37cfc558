"""The second factor's secrets: TOTP codes (pyotp, RFC 6238), one-time recovery codes, the
TOTP secret sealed at rest, and the short-lived "second step pending" token.

Everything here is keyed from the server's secret key through HKDF, each use with its own
label, so no derived key can stand in for another (or for the session-token key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ISSUER = "HugMood"
TOTP_WINDOW_STEPS = 1
"""A code from the step before or after the current one is accepted too (clock drift)."""
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""No 0/o, 1/l/i: a code copied from paper is read back right."""
RECOVERY_HALF = 5
PENDING_TTL_S = 300.0
"""How long someone who gave the right password has to give the second factor."""
MAX_TOKEN_CHARS = 600
LINK_TTL_S = 600.0


def _derive(secret_key: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(
        secret_key
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def handle_of_pending(token: str) -> str | None:
    """The handle a second-step token names, read without checking it: for an edge to route
    the second step to the region that issued the token, which then checks it."""
    if len(token) > MAX_TOKEN_CHARS or not token.startswith("mfa_"):
        return None
    try:
        body = json.loads(_unb64(token[4:].partition(".")[0]))
    except (ValueError, binascii.Error):
        return None
    handle = body.get("h") if isinstance(body, dict) else None
    return handle if isinstance(handle, str) else None


def new_totp_secret() -> str:
    """160 random bits in base32, as authenticator apps expect (RFC 4226's recommendation)."""
    return pyotp.random_base32(length=32)


def otpauth_uri(secret: str, handle: str) -> str:
    """The `otpauth://` URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=handle, issuer_name=ISSUER)


def normalise_code(code: str) -> str:
    return "".join(code.split())


def matching_step(secret: str, code: str, now: datetime, *, after_step: int = -1) -> int | None:
    """The time step whose code `code` is (within the drift window), if it is later than
    `after_step`: a code already used, or any earlier one, is refused (no replay)."""
    code = normalise_code(code)
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found: int | None = None
    for step in range(current - TOTP_WINDOW_STEPS, current + TOTP_WINDOW_STEPS + 1):
        # Every candidate is compared, whatever matched before, in constant time each.
        if hmac.compare_digest(totp.generate_otp(step), code) and step > after_step:
            found = step
    return found


def current_code(secret: str, now: datetime | None = None) -> str:
    """The code an authenticator shows now (the CLI's tests and the demo use it)."""
    return pyotp.TOTP(secret).at(now or datetime.now(UTC))


def new_recovery_codes() -> list[str]:
    """Ten codes of ten characters (about 49 bits each), shown once as `abcde-fghjk`."""

    def one() -> str:
        chars = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(2 * RECOVERY_HALF))
        return f"{chars[:RECOVERY_HALF]}-{chars[RECOVERY_HALF:]}"

    return [one() for _ in range(RECOVERY_CODE_COUNT)]


def normalise_recovery_code(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


class MfaSecrets:
    """The server-keyed operations of the second factor."""

    def __init__(self, secret_key: bytes, *, clock: Callable[[], float] = time.time) -> None:
        if len(secret_key) < 32:
            raise ValueError("the secret key must be at least 32 bytes")
        self._seal_key = AESGCM(_derive(secret_key, "hugmood totp secret at rest"))
        self._code_key = _derive(secret_key, "hugmood recovery code hash")
        self._token_key = _derive(secret_key, "hugmood second step pending token")
        self._link_key = _derive(secret_key, "hugmood social sign-in link token")
        self._clock = clock

    # --- the TOTP secret at rest -----------------------------------------------------------

    def seal(self, secret: str, user_id: str) -> str:
        """AES-256-GCM with the user's id as associated data: a sealed secret copied onto
        another account does not open."""
        nonce = os.urandom(12)
        return _b64(nonce + self._seal_key.encrypt(nonce, secret.encode(), user_id.encode()))

    def open(self, sealed: str, user_id: str) -> str:
        raw = _unb64(sealed)
        try:
            return self._seal_key.decrypt(raw[:12], raw[12:], user_id.encode()).decode()
        except InvalidTag as e:
            raise ValueError("this TOTP secret was sealed with another key") from e

    # --- recovery codes --------------------------------------------------------------------

    def recovery_hash(self, code: str, user_id: str) -> str:
        """A keyed hash of the code (high-entropy and random, so no slow hash is needed):
        the codes themselves are never kept."""
        message = f"{user_id}\0{normalise_recovery_code(code)}".encode()
        return hmac.new(self._code_key, message, hashlib.sha256).hexdigest()

    # --- the pending second step -----------------------------------------------------------

    def pending_token(self, claims: PendingClaims) -> str:
        body = {
            "u": claims.user_id,
            "h": claims.handle,
            "p": claims.purpose,
            "d": claims.device,
            "x": claims.device_proof,
            "e": int(self._clock() + PENDING_TTL_S),
            "n": secrets.token_urlsafe(8),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"mfa_{payload}.{self._mac(payload)}"

    def read_pending(self, token: str) -> PendingClaims | None:
        """The claims of a token this server issued that has not expired, else None."""
        if len(token) > MAX_TOKEN_CHARS or not token.startswith("mfa_"):
            return None
        payload, _, mac = token[4:].partition(".")
        if not hmac.compare_digest(mac.encode("utf-8", "replace"), self._mac(payload).encode()):
            return None
        try:
            body = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(body, dict) or int(body.get("e", 0)) < self._clock():
            return None
        return PendingClaims(
            user_id=str(body["u"]),
            handle=str(body["h"]),
            purpose=str(body["p"]),
            device=body.get("d"),
            device_proof=body.get("x"),
        )

    def _mac(self, payload: str, key: bytes | None = None) -> str:
        return hmac.new(key or self._token_key, payload.encode(), hashlib.sha256).hexdigest()

    # --- linking a sign-in from another provider -------------------------------------------

    def link_token(self, identity_key: str) -> str:
        """Lets the person it was handed to (who just signed in at the provider) link that
        identity to their account, by signing in with their password, for ten minutes."""
        payload = f"{identity_key}.{int(self._clock() + LINK_TTL_S)}"
        return f"link_{payload}.{self._mac(payload, self._link_key)}"

    def read_link(self, token: str) -> str | None:
        """The identity key of a link token this server issued that has not expired."""
        if len(token) > MAX_TOKEN_CHARS or not token.startswith("link_"):
            return None
        payload, _, mac = token[5:].rpartition(".")
        expected = self._mac(payload, self._link_key).encode()
        if not hmac.compare_digest(mac.encode("utf-8", "replace"), expected):
            return None
        identity_key, _, expires = payload.partition(".")
        if not expires.isdigit() or int(expires) < self._clock():
            return None
        return identity_key


@dataclass(frozen=True, slots=True)
class PendingClaims:
    """Who gave the right password, and what the token lets them do next."""

    user_id: str
    handle: str
    purpose: str
    """`second-factor` (give a code or a passkey) or `enrol` (the operator requires a second
    factor and this account has none: set one up, then a session starts)."""
    device: str | None = None
    device_proof: str | None = None
