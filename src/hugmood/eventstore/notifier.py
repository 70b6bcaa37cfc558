"""Wakes waiting subscribers when events are appended in this process."""

from __future__ import annotations

import asyncio
import contextlib


class AppendNotifier:
    """Tracks the highest position appended here and wakes anyone waiting past a position.

    Backends call `notify` after a commit; subscriptions call `wait` instead of polling, so a
    new event reaches them as soon as it is durable.
    """

    def __init__(self) -> None:
        self._last = 0
        self._changed = asyncio.Event()

    @property
    def last_position(self) -> int:
        return self._last

    def notify(self, position: int) -> None:
        if position > self._last:
            self._last = position
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, after_position: int, timeout: float) -> None:
        if self._last > after_position:
            return
        changed = self._changed
        # `asyncio.timeout`, not `wait_for`: no inner task, so cancelling the waiter (a
        # subscription shutting down) cannot be lost while that task is being torn down.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await changed.wait()
