"""The one lifecycle of long-lived services: started once, loops supervised and restarted
after a crash (counted), hooks in order on the way out, and no hang on a dead loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from prometheus_client import generate_latest

from hugmood.application.consumers import EVENT_CONSUMERS
from hugmood.bootstrap import check_consumers
from hugmood.observability.metrics import Metrics
from hugmood.services import Loop, Service, ServiceStateError


class Recorder(Service):
    name = "recorder"

    def __init__(self, *, crash_times: int = 0) -> None:
        super().__init__()
        self.said: list[str] = []
        self.crash_times = crash_times
        self.ran = asyncio.Event()
        self.crashed = asyncio.Event()

    async def starting(self) -> None:
        self.said.append("starting")

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("work", self._work)]

    async def stopping(self) -> None:
        self.said.append("stopping")

    async def stopped(self) -> None:
        self.said.append("stopped")

    async def _work(self) -> None:
        if self.crash_times:
            self.crash_times -= 1
            self.crashed.set()
            raise RuntimeError("a bug")
        self.ran.set()
        await asyncio.Event().wait()


async def test_a_service_runs_its_loops_and_stops_with_its_hooks_in_order() -> None:
    service = Recorder()
    async with service:
        assert service.running
        await asyncio.wait_for(service.ran.wait(), 5)
    assert not service.running
    assert service.said == ["starting", "stopping", "stopped"]


async def test_a_service_starts_once() -> None:
    service = Recorder()
    async with service:
        with pytest.raises(ServiceStateError, match="already started"):
            await service.__aenter__()
    with pytest.raises(ServiceStateError):
        await service.__aenter__()


async def test_a_crashed_loop_is_logged_counted_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Recorder(crash_times=2)
    async with service:
        await asyncio.wait_for(service.ran.wait(), 5)
    assert service.crashes == 2
    assert [r.getMessage() for r in caplog.records].count(
        "recorder: work crashed; restarting in 0.1 s"
    ) == 1


async def test_stopping_does_not_wait_on_a_loop_that_keeps_crashing() -> None:
    service = Recorder(crash_times=10**6)
    async with service:
        await asyncio.wait_for(service.crashed.wait(), 5)
    assert not service.running


async def test_crashes_are_exported_per_service() -> None:
    metrics = Metrics()
    service = Recorder(crash_times=1)
    metrics.watch_services([service])
    async with service:
        await asyncio.wait_for(service.ran.wait(), 5)
    exported = generate_latest(metrics.registry).decode()
    assert 'hugmood_service_crashes_total{service="recorder"} 1.0' in exported


def test_every_event_consumer_needs_its_service() -> None:
    class Named(Service):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    check_consumers([Named(c.name) for c in EVENT_CONSUMERS])
    with pytest.raises(LookupError, match="live relay"):
        check_consumers([Named(c.name) for c in EVENT_CONSUMERS if c.name != "live relay"])
