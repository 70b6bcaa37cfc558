"""One lifecycle for HugMood's long-lived services (projections, followers of the log,
presence, hug deliveries, board rooms, sockets).

A service is an async context manager that starts once and owns its background loops in an
`asyncio.TaskGroup`: entering it runs `starting()` and then the loops; leaving it runs
`stopping()`, cancels the loops, waits for them, and runs `stopped()`. A loop that crashes
is logged, counted (`crashes`, exported as `hugmood_service_crashes_total`) and started again
after a growing pause: a bug in one follower neither takes the process down silently nor
leaves it running without that service, and shutting down never waits on a dead loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)

Loop = Callable[[], Awaitable[None]]
"""A service's background work: runs until cancelled (or returns when it is done)."""

RESTART_MIN_S = 0.1
RESTART_MAX_S = 5.0


class ServiceStateError(RuntimeError):
    """A service was started twice: each instance runs once."""


class Service:
    """Base of every long-lived service. Subclasses set `name` and override the hooks."""

    name = "service"

    def __init__(self) -> None:
        self.crashes = 0
        """How many times one of its loops crashed (and was restarted)."""
        self._started = False
        self._group: asyncio.TaskGroup | None = None
        self._loop_tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return self._group is not None

    async def starting(self) -> None:
        """Before the loops start: load a checkpoint, note where the log ends, listen."""

    def loops(self) -> Sequence[tuple[str, Loop]]:
        """The background loops, each with a name for logs and task names."""
        return ()

    async def stopping(self) -> None:
        """Before the loops are cancelled: drain what was promised."""

    async def stopped(self) -> None:
        """After the loops have ended: close what the service holds open."""

    async def __aenter__(self) -> Self:
        if self._started:
            raise ServiceStateError(f"{self.name} was already started; a service runs once")
        self._started = True
        await self.starting()
        group = asyncio.TaskGroup()
        await group.__aenter__()
        self._group = group
        for what, loop in self.loops():
            self._loop_tasks.append(
                group.create_task(self._supervise(what, loop), name=f"{self.name}: {what}")
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.stopping()
        finally:
            group, self._group = self._group, None
            if group is not None:
                for task in self._loop_tasks:
                    task.cancel()
                await group.__aexit__(None, None, None)
                self._loop_tasks.clear()
            await self.stopped()

    async def _supervise(self, what: str, loop: Loop) -> None:
        pause = RESTART_MIN_S
        while True:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                self.crashes += 1
                log.exception("%s: %s crashed; restarting in %.1f s", self.name, what, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RESTART_MAX_S)
