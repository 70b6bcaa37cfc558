"""What regions that are deployments of their own prove to each other: a call (or a board
socket) is signed with the key they share (`HUGMOOD_FEDERATION_KEY`), HMAC-SHA256 over the
calling region, the time and what is asked, and refused when wrong or more than a minute old;
and the one error for a region that cannot be reached."""

from __future__ import annotations

import hashlib
import hmac
import time

from hugmood.unavailable import BackendUnavailable

SIGNATURE_HEADER = "x-hugmood-federation"
MAX_SKEW_S = 60.0


class RegionUnreachable(BackendUnavailable):
    """Another region could not be reached; nothing was done there."""

    shown = (
        "another region this needs cannot be reached right now; nothing was done, please try "
        "again shortly"
    )
    """The same for every cause: the details (a library's error, the other region's words)
    go to the log, not to the person."""


def sign(key: str, region: str, at: str, body: bytes) -> str:
    message = region.encode() + b"\n" + at.encode() + b"\n" + body
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def signed(key: str, region: str, body: bytes) -> str:
    """The header that signs `body` as `region`'s, now: `<region>:<unix time>:<hex signature>`
    (what `verify` checks)."""
    at = f"{time.time():.3f}"
    return f"{region}:{at}:{sign(key, region, at, body)}"


def verify(key: str, header: str | None, body: bytes, now: float | None = None) -> str:
    """The calling region, if `header` (`<region>:<unix time>:<hex signature>`) signs `body`
    with `key` and is fresh; ValueError otherwise."""
    region, _, rest = (header or "").partition(":")
    at, _, signature = rest.partition(":")
    try:
        age = abs((time.time() if now is None else now) - float(at))
    except ValueError:
        raise ValueError("malformed federation signature") from None
    if age > MAX_SKEW_S:
        raise ValueError("stale federation call")
    if not hmac.compare_digest(sign(key, region, at, body), signature):
        raise ValueError("wrong federation signature")
    return region
