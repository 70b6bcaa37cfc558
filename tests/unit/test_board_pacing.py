"""A board socket's pacer: bursts pass at once, a flood is slowed to the rate, never refused."""

from __future__ import annotations

import pytest

from hugmood.boards.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += seconds


async def test_a_burst_passes_at_once_and_a_flood_goes_at_the_rate() -> None:
    t = FakeTime()
    pacer = Pacer(100, 200, clock=t.clock, sleep=t.sleep)
    for _ in range(200):
        assert await pacer.take() == 0.0
    assert t.slept == 0.0
    for _ in range(1000):  # a flood: 1,000 more messages as fast as they come
        await pacer.take()
    assert t.slept == pytest.approx(10.0)  # at 100 per second


async def test_a_quiet_socket_gets_its_burst_back() -> None:
    t = FakeTime()
    pacer = Pacer(100, 200, clock=t.clock, sleep=t.sleep)
    for _ in range(200):
        await pacer.take()
    t.now += 60.0
    for _ in range(200):
        assert await pacer.take() == 0.0


def test_a_pacer_needs_a_rate_and_a_burst() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        Pacer(0, 10)
