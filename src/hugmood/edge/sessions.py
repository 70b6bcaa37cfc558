"""Sessions this edge has verified against the region, so a check-in or hug sent while the
region is away is still authorised: a session verified within the grace period (by a request
the region answered, or by its `SessionStarted` read from the log) and not past its expiry is
trusted; one ended since (a `SessionEnded` the edge read from the log) never is."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from hugmood.application.queries.identity import Principal

MAX_SESSIONS = 100_000


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    at: float
    expires_at_ms: int | None


class VerifiedSessions:
    """Token digest → the principal the region last vouched for, and when (monotonic)."""

    def __init__(self, grace_s: float, *, max_sessions: int = MAX_SESSIONS) -> None:
        self._grace_s = grace_s
        self._max = max_sessions
        self._by_digest: OrderedDict[str, _Verified] = OrderedDict()
        self._digest_of: dict[str, str] = {}

    def verified(self, digest: str, principal: Principal) -> None:
        """The region has just said this session is valid."""
        known = self._by_digest.get(digest)
        expires = known.expires_at_ms if known is not None else None
        self._keep(digest, _Verified(principal, time.monotonic(), expires))

    def started(self, digest: str, user_id: str, session_id: str, expires_at_ms: int) -> None:
        """The log says the region started this session (through any edge of the region)."""
        known = self._by_digest.get(digest)
        # The handle is not in the event; only the second-factor paths use it, and those
        # need the region anyway.
        principal = known.principal if known is not None else Principal(user_id, session_id, "")
        self._keep(digest, _Verified(principal, time.monotonic(), expires_at_ms))

    def _keep(self, digest: str, verified: _Verified) -> None:
        principal = verified.principal
        self._by_digest[digest] = verified
        self._by_digest.move_to_end(digest)
        self._digest_of[principal.session_id] = digest
        if len(self._by_digest) > self._max:
            _, oldest = self._by_digest.popitem(last=False)
            self._digest_of.pop(oldest.principal.session_id, None)

    def vouch(self, digest: str) -> Principal | None:
        """While the region is away: the principal, if verified within the grace period."""
        found = self._by_digest.get(digest)
        if found is None or time.monotonic() - found.at > self._grace_s:
            return None
        if found.expires_at_ms is not None and time.time() * 1000 >= found.expires_at_ms:
            return None
        return found.principal

    def ended(self, session_id: str) -> None:
        digest = self._digest_of.pop(session_id, None)
        if digest is not None:
            self._by_digest.pop(digest, None)

    def forget_person(self, user_id: str) -> None:
        """Every session of someone whose account went away."""
        for v in list(self._by_digest.values()):
            if v.principal.user_id == user_id:
                self.ended(v.principal.session_id)
