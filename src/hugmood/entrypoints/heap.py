"""How this server process uses CPython's cyclic garbage collector.

**Thresholds.** With the default thresholds (700, 10, 10) a young collection runs every 700
net allocations, so objects of requests still in flight (a GraphQL executor waiting on the
database holds dozens, in reference cycles) are promoted, pile up in the oldest generation,
and trigger full passes every second or two under load. `tune_collector()` makes young
collections rarer (every 50,000 allocations: a few ms each), so a request's cycles mostly die
young, where collecting them is cheap. Measured with 10,000 sockets at 500 hugs/s
(bench/realtime.py): delivery p50 from ~1 s to ~20 ms, sustained 456 → 770 hugs/s.

**Freezing.** CPython's full collection walks every tracked object. With 10,000 sockets open
that is about a million objects, and under load a full pass came every 2–3 s and took
0.5–0.9 s (bench/realtime.py), stalling every request and push behind it. The sockets' own objects
live as long as the sockets, so scanning them finds nothing: after a wave of new sockets the
registry freezes the heap (`gc.freeze()`), moving what exists into a generation the collector
ignores, and full passes then scan only what is new.

The price: a reference cycle frozen before it became garbage is not collected while frozen.
Sockets break their own cycles when they end; to bound what may still leak, the heap is
unfrozen and collected once half the sockets frozen have gone. Both steps run a full
collection, which pauses the process once per wave of connections, not per request.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

THRESHOLDS = (50_000, 20, 10)
"""Young-generation allocations, then young collections per middle one, middle per full."""

GROWTH = 1.25
"""Freeze again once the sockets grew by this factor since the last freeze…"""
MIN_NEW = 500
"""…and by at least this many."""


def tune_collector() -> None:
    """Set the server's thresholds (see the module's doc); call once at start-up."""
    gc.set_threshold(*THRESHOLDS)


def settle_heap() -> None:
    """Once a long-lived process has started: everything alive now lives as long as the
    process, so keep it out of the cyclic collector's full passes, which otherwise pause the
    process for tens of ms (measured on a worker's insights recompute: every ~30th took
    70-120 ms, each time in a full pass); and collect young garbage less often."""
    gc.collect()
    gc.freeze()
    tune_collector()


class FrozenHeap:
    def __init__(self) -> None:
        self.frozen_at = 0
        """Sockets open at the last freeze."""

    def sockets_now(self, sockets: int) -> None:
        """Called by the registry's sweeper with the number of open sockets."""
        if sockets >= max(self.frozen_at * GROWTH, self.frozen_at + MIN_NEW):
            self._refreeze(sockets, unfreeze=False)
        elif self.frozen_at >= MIN_NEW and sockets < self.frozen_at / 2:
            self._refreeze(sockets, unfreeze=True)

    def _refreeze(self, sockets: int, *, unfreeze: bool) -> None:
        started = time.perf_counter()
        if unfreeze:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
        log.info(
            "heap frozen",
            extra={
                "sockets": sockets,
                "frozen_objects": gc.get_freeze_count(),
                "pause_ms": round((time.perf_counter() - started) * 1000),
            },
        )
        self.frozen_at = sockets
