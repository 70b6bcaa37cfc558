"""Opaque session tokens: 256 random bits shown once; only a keyed hash is ever stored.

Where several regions serve one edge, a token names the region that issued it
(`hm_<region>.<random>`), so the edge routes a request without looking anything up; a token
whose region was altered is simply unknown to the region it then reaches.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_REGIONAL = re.compile(r"^hm_([a-z0-9-]{2,40})\.")


class HmacSessionTokens:
    def __init__(self, secret_key: bytes, *, region: str | None = None) -> None:
        if len(secret_key) < 32:
            raise ValueError("the session secret key must be at least 32 bytes")
        self._key = secret_key
        self._prefix = f"hm_{region}." if region else "hm_"

    def new_token(self) -> str:
        return self._prefix + secrets.token_urlsafe(32)

    def digest(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()


def region_of_token(token: str) -> str | None:
    """The region a token says issued it (None: a token of a single-region server)."""
    found = _REGIONAL.match(token)
    return found.group(1) if found else None
