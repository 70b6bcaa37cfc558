"""Every socket of this process, looked after together rather than one task per socket.

A single sweeper, every `period_s` (at most half a presence heartbeat):
- closes sockets whose session has expired or ended (one query for all their sessions);
- keeps the devices of open sockets present, in one batch that changes no aggregate;
- after a wave of new sockets, freezes the heap (`entrypoints.heap.FrozenHeap`).
Logout anywhere reaches the relay as `SessionEnded`; the registry closes that session's
sockets here at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from hugmood.application.queries import identity as identity_queries
from hugmood.bootstrap import HugMood
from hugmood.entrypoints.heap import FrozenHeap
from hugmood.entrypoints.ws.protocol import CloseCode
from hugmood.realtime.hub import DeviceRefresh, Listening, Message
from hugmood.realtime.relay import SESSIONS_ENDED
from hugmood.services import Loop, Service

log = logging.getLogger(__name__)

SESSION_ENDED_REASON = "your session has ended; sign in again"
SWEEP_SLICE = 500
"""Devices refreshed between two yields to the event loop."""


class Socket(Protocol):
    """What the registry needs of a socket (`connection.Socket`)."""

    @property
    def session_id(self) -> str | None: ...

    @property
    def token_hash(self) -> str | None: ...

    def device_refresh(self) -> DeviceRefresh | None: ...

    async def close(self, code: int, reason: str) -> None: ...

    def close_soon(self, code: int, reason: str) -> None: ...


class SocketRegistry(Service):
    name = "sockets"

    def __init__(self, core: HugMood, *, period_s: float) -> None:
        super().__init__()
        self._core = core
        self._period_s = period_s
        self._sockets: set[Socket] = set()
        self._by_session: dict[str, set[Socket]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listening: Listening | None = None
        self._heap = FrozenHeap()

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, socket: Socket) -> None:
        """An authenticated socket."""
        assert socket.session_id is not None
        self._sockets.add(socket)
        self._by_session.setdefault(socket.session_id, set()).add(socket)

    def remove(self, socket: Socket) -> None:
        self._sockets.discard(socket)
        if socket.session_id is not None:
            same = self._by_session.get(socket.session_id)
            if same is not None:
                same.discard(socket)
                if not same:
                    del self._by_session[socket.session_id]

    def keep(self, task: asyncio.Task[None]) -> None:
        """Hold a fire-and-forget task until it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def starting(self) -> None:
        self._listening = await self._core.live.listen([SESSIONS_ENDED], self._session_ended)

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("sweeper", self._sweep)]

    async def stopped(self) -> None:
        if self._listening is not None:
            await self._listening.close()
        for task in list(self._tasks):
            task.cancel()

    def _session_ended(self, channel: str, message: Message) -> None:
        for socket in list(self._by_session.get(str(message.get("sessionId")), ())):
            socket.close_soon(CloseCode.UNAUTHORIZED, SESSION_ENDED_REASON)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._period_s)
            try:
                await self.sweep_once()
            except Exception:
                log.exception("socket sweep failed; retrying at the next interval")

    async def sweep_once(self) -> None:
        sockets = list(self._sockets)
        hashes = sorted({s.token_hash for s in sockets if s.token_hash is not None})
        alive = await identity_queries.live_sessions(
            self._core.readmodels, hashes, int(time.time() * 1000)
        )
        for socket in sockets:
            if socket.token_hash not in alive:
                await socket.close(CloseCode.UNAUTHORIZED, SESSION_ENDED_REASON)
        open_now = [s for s in sockets if s.token_hash in alive]
        for start in range(0, len(open_now), SWEEP_SLICE):
            # In slices, letting pushes and requests run in between: refreshing 10,000
            # devices at once would hold the event loop for ~20 ms.
            slice_ = open_now[start : start + SWEEP_SLICE]
            await self._core.presence.refresh([d for s in slice_ if (d := s.device_refresh())])
            await asyncio.sleep(0)
        self._heap.sockets_now(len(self._sockets))
