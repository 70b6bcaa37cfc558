"""Read-your-writes in a process that does not run the read models itself (an edge whose
projections run in workers): it learns their position from the checkpoint they commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hugmood.projections.runner import CHECKPOINT
from hugmood.sql.database import SqlDatabase
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)


class CheckpointWatcher:
    """The read models' position as whoever advances it last committed it.

    It reads the checkpoint only while someone waits (one reader for all waiters, every
    `poll_s`), so an idle edge costs the database nothing."""

    def __init__(
        self, db: SqlDatabase, *, poll_s: float = 0.005, wait_timeout_s: float = 10.0
    ) -> None:
        self._db = db
        self._poll_s = poll_s
        self._wait_timeout_s = wait_timeout_s
        self._position = 0
        self._advanced = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._waiting = 0

    @property
    def position(self) -> int:
        """The last position read from the checkpoint."""
        return self._position

    async def refresh(self) -> int:
        row = await self._db.fetchrow(
            "SELECT position FROM rm_checkpoints WHERE projection = $1", CHECKPOINT
        )
        position = int(row[0]) if row else 0
        if position > self._position:
            self._position = position
            self._advanced.set()
            self._advanced = asyncio.Event()
        return self._position

    async def wait_for(self, position: int) -> None:
        """Return once the read models reflect `position`, or after the wait timeout (then
        the caller reads what is there, as with the in-process runner)."""
        if self._position >= position:
            return
        self._waiting += 1
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_while_waited(), name="checkpoint reader")
        try:
            async with asyncio.timeout(self._wait_timeout_s):
                while self._position < position:
                    await self._advanced.wait()
        except TimeoutError:
            log.warning("read models lag: at %s, waited for %s", self._position, position)
        finally:
            self._waiting -= 1

    async def _read_while_waited(self) -> None:
        while self._waiting > 0:
            with contextlib.suppress(BackendUnavailable):
                await self.refresh()
            await asyncio.sleep(self._poll_s)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
