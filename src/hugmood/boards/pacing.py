"""Pacing a board socket: a token bucket that makes a socket wait, rather than closing it.

A member may send bursts (a drag sends an update per frame, a cursor an awareness message per
move), but not flood the board: a socket that outruns the rate is simply read more slowly, so
TCP pushes back on its sender while everyone else's messages go on as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(
        self,
        rate_per_s: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a pacer needs a positive rate and a burst of at least 1")
        self._rate = rate_per_s
        self._burst = burst
        self._tokens = burst
        self._clock = clock
        self._sleep = sleep
        self._at = clock()

    async def take(self) -> float:
        """Take one token, waiting for it if the bucket is empty; returns the wait."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        self._tokens -= 1
        if self._tokens >= 0:
            return 0.0
        wait = -self._tokens / self._rate
        await self._sleep(wait)
        return wait
