"""The retention job: deletes check-ins older than their owner keeps them (their choice or
their country's rule), each with the ordinary `MoodDeleted`, so every read model forgets them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.handlers.retention import retention_days
from hugmood.application.messagebus import MessageBus
from hugmood.domain.errors import NotFound
from hugmood.domain.moods import DeleteMood
from hugmood.domain.retention import DAY_MS, MIN_RETENTION_DAYS
from hugmood.ids import EntryId, UserId
from hugmood.services import Loop, Service
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)
JOB_CONTEXT = CommandContext(device_id="retention-job")


class RetentionJob(Service):
    """Every little while, deletes the check-ins people keep no longer than this: those
    recorded more than their retention ago. Several processes may run it: an entry already
    deleted by another is skipped."""

    name = "retention"

    def __init__(self, bus: MessageBus, deps: Dependencies, check_s: float) -> None:
        super().__init__()
        self._bus, self._deps, self._check_s = bus, deps, check_s

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("expired check-ins", self._every_while)]

    async def _every_while(self) -> None:
        while True:
            try:
                await self.run_once()
            except BackendUnavailable as e:
                log.warning("the retention job waits for the storage: %s", e)
            await asyncio.sleep(self._check_s)

    async def run_once(self) -> int:
        """Delete every expired check-in; how many were deleted now."""
        now_ms = int(self._deps.clock.now().timestamp() * 1000)
        deleted = 0
        # Nobody keeps entries for less than the shortest retention: only owners of older
        # ones can have any to delete.
        for user_id in await _owners_of_entries_before(
            self._deps, now_ms - MIN_RETENTION_DAYS * DAY_MS
        ):
            days = await retention_days(self._deps, user_id)
            if days <= 0:
                continue
            for entry_id in await _entries_before(self._deps, user_id, now_ms - days * DAY_MS):
                try:
                    await self._bus.handle(
                        DeleteMood(entry_id, user_id), JOB_CONTEXT, read_your_writes=False
                    )
                except NotFound:
                    continue  # deleted meanwhile (by its owner, or another process's job)
                deleted += 1
        if deleted:
            log.info("retention: %d expired check-ins deleted", deleted)
        return deleted


async def _owners_of_entries_before(deps: Dependencies, before_ms: int) -> list[UserId]:
    rows = await deps.readmodels.fetch(
        "SELECT DISTINCT user_id FROM rm_mood_entries WHERE recorded_at_ms < $1", before_ms
    )
    return [UserId(r[0]) for r in rows]


async def _entries_before(deps: Dependencies, user_id: UserId, before_ms: int) -> list[EntryId]:
    rows = await deps.readmodels.fetch(
        "SELECT entry_id FROM rm_mood_entries WHERE user_id = $1 AND recorded_at_ms < $2",
        user_id,
        before_ms,
    )
    return [EntryId(r[0]) for r in rows]
