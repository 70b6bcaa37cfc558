"""One socket on a board, as a room sees it: who it is, its role, and its ordered outbox."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from hugmood.boards.protocol import CloseCode
from hugmood.domain.boards import BoardRole

OUTBOX = 2048
"""Messages waiting for one slow socket before it is closed with 1013."""


class Peer(Protocol):
    """The socket under a connection."""

    async def send(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class BoardConnection:
    """One socket on a board: who it is, its role, and its ordered outbox."""

    def __init__(
        self,
        peer: Peer,
        *,
        user_id: str,
        session_id: str,
        role: BoardRole,
        token_hash: str = "",
    ) -> None:
        self.peer = peer
        self.user_id = user_id
        self.session_id = session_id
        self.role = role
        self.token_hash = token_hash
        self.awareness: dict[int, int] = {}
        """The awareness client ids this socket spoke for, with their last clock."""
        self.closed = False
        self.stale = False
        """Its replica holds the previous generation: it gets none of this one's updates."""
        self._outbox: asyncio.Queue[bytes | None] = asyncio.Queue(OUTBOX)
        self._close: tuple[int, str] = (CloseCode.NORMAL, "")

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self._outbox.put_nowait(data)
        except asyncio.QueueFull:
            self.close(CloseCode.TRY_AGAIN_LATER, "too far behind the board's updates; reconnect")

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with `code` (only the first reason counts)."""
        if self.closed:
            return
        self.closed = True
        self._close = (code, reason[:120])
        while self._outbox.full():
            self._outbox.get_nowait()
        self._outbox.put_nowait(None)

    async def run_writer(self) -> None:
        """Write the outbox to the socket in order, until closed."""
        while True:
            data = await self._outbox.get()
            if data is None:
                with contextlib.suppress(Exception):
                    await self.peer.close(*self._close)
                return
            try:
                await self.peer.send(data)
            except Exception:
                # The socket went away: the reader sees the disconnect and leaves the room.
                self.closed = True
                return
