"""Opaque session tokens: 256 random bits shown once; only a keyed hash is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets


class HmacSessionTokens:
    def __init__(self, secret_key: bytes) -> None:
        if len(secret_key) < 32:
            raise ValueError("the session secret key must be at least 32 bytes")
        self._key = secret_key

    def new_token(self) -> str:
        return "hm_" + secrets.token_urlsafe(32)

    def digest(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()
