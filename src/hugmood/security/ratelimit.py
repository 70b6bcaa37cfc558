"""A per-key sliding-window rate limit (e.g. hugs a sender may send a minute)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from hugmood.domain.errors import RateLimited


class SlidingWindowLimiter:
    """Allows `limit` hits per key in any `window_s` seconds. State is per process."""

    def __init__(
        self,
        *,
        limit: int,
        window_s: float,
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._what = what
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> None:
        """Count one hit for `key`, or raise `RateLimited` (counting nothing) if over."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= self._window_s:
            hits.popleft()
        if len(hits) >= self._limit:
            wait = self._window_s - (now - hits[0])
            raise RateLimited(
                f"you can send at most {self._limit} {self._what} per {int(self._window_s)} s; "
                f"try again in {int(wait) + 1} s",
                retry_after_s=wait,
            )
        hits.append(now)
        if len(self._hits) > 100_000:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self._window_s]:
            del self._hits[key]
