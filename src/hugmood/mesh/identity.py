"""Who asks: every mesh request is signed by the calling process with HMAC-SHA256 under a key
derived from the region's secret, over the subject, the caller, the user, a request id, a
timestamp and the body's digest; services verify it and refuse replays (decision 0015)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hugmood.mesh.errors import UNAUTHENTICATED, UNAVAILABLE, Refused

CALLER_HEADER = "Hugmood-Mesh-Caller"
USER_HEADER = "Hugmood-Mesh-User"
REQUEST_ID_HEADER = "Hugmood-Mesh-Request-Id"
TIMESTAMP_HEADER = "Hugmood-Mesh-Timestamp"
SIGNATURE_HEADER = "Hugmood-Mesh-Signature"

SIGNATURE_VERSION = "v1"
MAX_SKEW_S = 30.0
"""A request signed more than this long ago (or ahead, by a fast clock) is refused."""
MAX_REMEMBERED = 500_000
"""Request ids remembered against replay; past it, new requests are refused, not let through."""

_TOKEN = re.compile(r"[A-Za-z0-9_.:@-]{1,200}")
_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


def mesh_key(secret_key: str, region: str) -> bytes:
    """The region's mesh key: HMAC of a label under `HUGMOOD_SECRET_KEY`, so the secret that
    keys session tokens is never used as is, and another region's signatures do not verify."""
    if not secret_key:
        raise ValueError("the mesh needs HUGMOOD_SECRET_KEY to sign and verify requests")
    label = b"hugmood service mesh v1\x00" + region.encode()
    return hmac.new(secret_key.encode(), label, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified request's origin: the calling process and the user it asks for, if any."""

    service: str
    user_id: str | None
    request_id: str


def _signed_text(
    subject: str, caller: str, user: str, request_id: str, timestamp: str, body: bytes
) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    fields = (SIGNATURE_VERSION, subject, caller, user, request_id, timestamp, digest)
    return "\n".join(fields).encode()


def _mac(key: bytes, text: bytes) -> str:
    return f"{SIGNATURE_VERSION}={hmac.new(key, text, hashlib.sha256).hexdigest()}"


class RequestSigner:
    """Signs a calling process's requests; `caller` names the process (`edge:host:pid`)."""

    def __init__(self, key: bytes, caller: str, *, clock: Callable[[], float] = time.time) -> None:
        if not _TOKEN.fullmatch(caller):
            raise ValueError(f"a mesh caller name is letters, digits and _.:@- ({caller!r})")
        self._key = key
        self.caller = caller
        self._clock = clock

    def headers(
        self, subject: str, body: bytes, *, user_id: str | None, request_id: str | None = None
    ) -> dict[str, str]:
        """The identity headers of one request (a fresh request id unless one is given)."""
        user = user_id or ""
        if user and not _TOKEN.fullmatch(user):
            raise ValueError(f"{user!r} is not a user id")
        request_id = request_id or uuid.uuid4().hex
        timestamp = str(int(self._clock() * 1000))
        text = _signed_text(subject, self.caller, user, request_id, timestamp, body)
        return {
            CALLER_HEADER: self.caller,
            USER_HEADER: user,
            REQUEST_ID_HEADER: request_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: _mac(self._key, text),
        }


class RequestVerifier:
    """Checks a request's identity headers; one per service instance, remembering the ids it
    accepted for as long as their signature is fresh, so a replay to it is refused."""

    def __init__(
        self,
        key: bytes,
        *,
        max_skew_s: float = MAX_SKEW_S,
        max_remembered: int = MAX_REMEMBERED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._max_skew_s = max_skew_s
        self._max_remembered = max_remembered
        self._clock = clock
        # Insertion order is expiry order (each id is kept for the same span after it was
        # seen), so forgetting the expired ones only ever looks at the front.
        self._seen: OrderedDict[str, float] = OrderedDict()

    def verify(self, subject: str, headers: Mapping[str, str] | None, body: bytes) -> Caller:
        """The verified caller; `Refused` (401) naming what is wrong otherwise."""
        headers = headers or {}
        missing = [
            h
            for h in (CALLER_HEADER, REQUEST_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
            if not headers.get(h)
        ]
        if missing:
            raise Refused(UNAUTHENTICATED, f"unsigned request: no {', '.join(missing)} header")
        caller, request_id = headers[CALLER_HEADER], headers[REQUEST_ID_HEADER]
        user, timestamp = headers.get(USER_HEADER, ""), headers[TIMESTAMP_HEADER]
        if not _TOKEN.fullmatch(caller) or (user and not _TOKEN.fullmatch(user)):
            raise Refused(UNAUTHENTICATED, "the caller or user header is malformed")
        if not _REQUEST_ID.fullmatch(request_id):
            raise Refused(UNAUTHENTICATED, "the request id must be 32 lower-case hex digits")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refused(UNAUTHENTICATED, "the timestamp must be milliseconds since the epoch")
        now = self._clock()
        if abs(now - int(timestamp) / 1000) > self._max_skew_s:
            raise Refused(
                UNAUTHENTICATED,
                f"the request was signed more than {self._max_skew_s:g} s from now "
                "(expired, or clocks disagree)",
            )
        expected = _mac(self._key, _signed_text(subject, caller, user, request_id, timestamp, body))
        if not hmac.compare_digest(expected.encode(), headers[SIGNATURE_HEADER].encode()):
            raise Refused(UNAUTHENTICATED, "the signature does not verify")
        self._remember(request_id, now)
        return Caller(service=caller, user_id=user or None, request_id=request_id)

    def _remember(self, request_id: str, now: float) -> None:
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[oldest]
        if request_id in self._seen:
            raise Refused(UNAUTHENTICATED, f"request {request_id} was already received (replay)")
        if len(self._seen) >= self._max_remembered:
            raise Refused(UNAVAILABLE, "too many requests to remember against replay; retry later")
        # Kept past the last moment its timestamp could still be accepted.
        self._seen[request_id] = now + 2 * self._max_skew_s
