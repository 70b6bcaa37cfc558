"""The service that carries out deletions whose grace period is over: every little while it
finds them in the read models and sends each `EraseWhenDue`, which erases only what is due
(so several processes running it erase each account once)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from hugmood.application.messagebus import MessageBus
from hugmood.application.ports import Clock
from hugmood.application.queries.erasure import due_erasures
from hugmood.domain.erasure import EraseWhenDue
from hugmood.services import Loop, Service
from hugmood.sql.database import SqlDatabase
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)


class ErasureScheduler(Service):
    name = "scheduled erasures"

    def __init__(self, bus: MessageBus, db: SqlDatabase, clock: Clock, check_s: float) -> None:
        super().__init__()
        self._bus, self._db, self._clock, self._check_s = bus, db, clock, check_s

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("due erasures", self._every_while)]

    async def _every_while(self) -> None:
        while True:
            try:
                await self.run_once()
            except BackendUnavailable as e:
                log.warning("scheduled erasures wait for the storage: %s", e)
            await asyncio.sleep(self._check_s)

    async def run_once(self) -> int:
        """Erase every account that is due; how many were erased now."""
        now_ms = int(self._clock.now().timestamp() * 1000)
        erased = 0
        for user_id in await due_erasures(self._db, now_ms):
            result = await self._bus.handle(EraseWhenDue(user_id), read_your_writes=False)
            erased += bool(result.value)
        return erased
