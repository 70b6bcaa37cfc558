"""One export at a time per person: a second download started before the first ends is
refused with a clear RATE_LIMITED, the first one's end frees the place, and so does time."""

from __future__ import annotations

import pytest

from hugmood.domain.errors import RateLimited
from hugmood.entrypoints.http.export import HELD_AT_MOST_S, ExportsRunning


def test_a_second_export_waits_for_the_first_and_a_forgotten_one_expires() -> None:
    now = [0.0]
    running = ExportsRunning(clock=lambda: now[0])
    running.start("ann")
    running.start("bob")  # someone else is not held up
    with pytest.raises(RateLimited, match="already being downloaded"):
        running.start("ann")
    running.end("ann")
    running.start("ann")
    now[0] += HELD_AT_MOST_S + 1
    running.start("ann")
