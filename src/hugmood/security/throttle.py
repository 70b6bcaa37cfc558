"""Per-account login throttling: after repeated failures, lock the handle out for a while."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hugmood.domain.errors import RateLimited


@dataclass(slots=True)
class _Record:
    failures: int
    first_failure: float
    locked_until: float = 0.0


class InMemoryLoginThrottle:
    """Counts failures per handle (existing or not, so it reveals nothing) in a window.

    Each further lockout doubles, up to an hour. State is per process: with several server
    processes an attacker gets at most that many times the allowance.
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 900.0,
        lockout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_failures = max_failures
        self._window_s = window_s
        self._lockout_s = lockout_s
        self._clock = clock
        self._records: dict[str, _Record] = {}

    def check(self, key: str) -> None:
        record = self._records.get(key)
        now = self._clock()
        if record is not None and record.locked_until > now:
            wait = record.locked_until - now
            raise RateLimited(
                f"too many failed logins for this account; try again in {int(wait) + 1} s",
                retry_after_s=wait,
            )

    def failed(self, key: str) -> None:
        now = self._clock()
        record = self._records.get(key)
        if record is None or now - record.first_failure > self._window_s:
            record = self._records[key] = _Record(failures=0, first_failure=now)
        record.failures += 1
        over = record.failures - self._max_failures
        if over >= 0:
            record.locked_until = now + min(self._lockout_s * 2**over, 3600.0)
        if len(self._records) > 100_000:
            self._forget_old(now)

    def succeeded(self, key: str) -> None:
        self._records.pop(key, None)

    def _forget_old(self, now: float) -> None:
        for key in [
            k
            for k, r in self._records.items()
            if now - r.first_failure > self._window_s and r.locked_until < now
        ]:
            del self._records[key]
