"""Records that hugs reached a recipient's device, off the path that pushes them.

Pushing a hug must not wait for a second durable write. A shown hug is handed to the
`DeliveryRecorder`, which appends `HugDelivered` in the background, several at a time (the
event store commits concurrent appends together). If the process dies before that, the hug
is still SENT and is pushed again on the recipient's next connection: delivery is at least
once, and clients recognise a hug they already have by its id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence

from hugmood.application.eventmapping import CommandContext
from hugmood.application.messagebus import MessageBus
from hugmood.domain import hugs as hug_rules
from hugmood.domain.errors import HugMoodError
from hugmood.ids import HugId, UserId
from hugmood.services import Loop, Service

log = logging.getLogger(__name__)

IN_FLIGHT = 32
"""Deliveries recorded at once."""
DRAIN_S = 5.0
"""On shutdown, how long to keep recording what is still queued."""


class DeliveryRecorder(Service):
    name = "hug deliveries"

    def __init__(self, bus: MessageBus, *, in_flight: int = IN_FLIGHT) -> None:
        super().__init__()
        self._bus = bus
        self._in_flight = in_flight
        self._queue: deque[hug_rules.MarkHugDelivered] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._running: set[asyncio.Task[None]] = set()

    def delivered(self, hug_id: HugId, recipient_id: UserId, device_id: str | None) -> None:
        """Note that the hug was shown on `device_id`; recorded shortly after."""
        self._queue.append(hug_rules.MarkHugDelivered(hug_id, recipient_id, device_id))
        self._idle.clear()
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("recorder", self._run)]

    async def stopping(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_S):
                await self._idle.wait()

    async def stopped(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _run(self) -> None:
        running = self._running
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                if len(running) >= self._in_flight:
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                task = asyncio.create_task(self._record(self._queue.popleft()))
                running.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not self._queue and not self._running:
            self._idle.set()

    async def _record(self, command: hug_rules.MarkHugDelivered) -> None:
        try:
            await self._bus.handle(
                command, CommandContext(device_id=command.device_id), read_your_writes=False
            )
        except HugMoodError:
            pass  # withdrawn or already delivered meanwhile: nothing left to record
        except Exception:
            # Storage trouble: the hug stays SENT and is pushed again on the next connection.
            log.exception("could not record the delivery of hug %s", command.hug_id)
