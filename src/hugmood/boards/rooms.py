"""This process's open board rooms, kept in step with the log as the `board rooms` consumer
(`application.consumers`).

Like hugs (decision 0005), boards relay through the log: every process follows it, and an
update another process stored reaches this process's sockets from there (PostgreSQL's
NOTIFY wakes the follower at once). Member changes and logouts found in the log take effect
on open sockets. Awareness (cursors, who is here) is not stored: it crosses processes through
the real-time hub (Redis when configured). See docs/decisions/0006-boards-relay-through-the-log.md.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Sequence
from typing import Any

from hugmood.application.consumers import BOARD_ROOMS, consumer
from hugmood.application.dependencies import Dependencies
from hugmood.application.handlers.boards import load_board
from hugmood.application.queries.identity import live_sessions
from hugmood.boards.auth import Admission
from hugmood.boards.connection import BoardConnection, Peer
from hugmood.boards.model import snapshot
from hugmood.boards.protocol import AwarenessMessage, CloseCode, ProtocolError, parse
from hugmood.boards.room import BoardRoom
from hugmood.boards.store import REBASED, UPDATED, BoardContentStore, decode, materialize
from hugmood.domain.boards import BoardRole, doc_stream_generation
from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.subscription import LogConsumer
from hugmood.observability.delivery import BOARD_PROPAGATION, seconds_since
from hugmood.realtime.hub import Listening, Message, RealtimeHub
from hugmood.services import Loop

log = logging.getLogger(__name__)


def _awareness(board_id: str) -> str:
    """The hub channel carrying a board's awareness between processes."""
    return f"board-awareness:{board_id}"


_MEMBERSHIP = {"BoardMemberAdded", "BoardMemberRoleChanged", "BoardMemberRemoved", "BoardArchived"}


class BoardRooms(LogConsumer):
    """Opens a room on a board's first socket, closes (and compacts) it after the last."""

    name = BOARD_ROOMS

    def __init__(
        self,
        deps: Dependencies,
        content: BoardContentStore,
        hub: RealtimeHub | None = None,
        *,
        compact_every: int = 500,
        rebase_min_bytes: int | None = 64 * 1024,
        session_check_s: float = 10.0,
    ) -> None:
        super().__init__(deps.store, consumer(BOARD_ROOMS).handles)
        self._deps = deps
        self.content = content
        self._hub = hub
        """Awareness (cursors, who is here) between processes; Redis when configured."""
        self._compact_every = compact_every
        self._rebase_min_bytes = rebase_min_bytes
        """A room that empties rebases its board once the document is at least this big and
        mostly history (`hugmood.boards.rebase`); None: never."""
        self._rooms: dict[str, BoardRoom] = {}
        self._listening: dict[str, Listening] = {}
        self._opening: dict[str, asyncio.Lock] = {}
        self._session_check_s = session_check_s

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [*super().loops(), ("session check", self._check_sessions)]

    async def stopped(self) -> None:
        for room in list(self._rooms.values()):
            await self._stop_listening(room.board_id)
            await room.close(compact=True)
        self._rooms.clear()

    def room(self, board_id: str) -> BoardRoom | None:
        return self._rooms.get(board_id)

    async def join(self, admission: Admission, peer: Peer) -> tuple[BoardRoom, BoardConnection]:
        room = await self._open(admission.board_id)
        connection = BoardConnection(
            peer,
            user_id=admission.user_id,
            session_id=admission.session_id,
            role=admission.role,
            token_hash=admission.token_hash,
        )
        room.join(connection)
        return room, connection

    async def leave(self, room: BoardRoom, connection: BoardConnection) -> None:
        await room.leave(connection)
        if room.connections or self._rooms.get(room.board_id) is not room:
            return
        async with self._opening.setdefault(room.board_id, asyncio.Lock()):
            if room.connections:
                return  # someone joined while we waited
            self._rooms.pop(room.board_id, None)
            await self._stop_listening(room.board_id)
            await room.close(compact=True)

    async def _open(self, board_id: str) -> BoardRoom:
        async with self._opening.setdefault(board_id, asyncio.Lock()):
            room = self._rooms.get(board_id)
            if room is not None and not room.failed:
                return room
            room = BoardRoom(
                board_id,
                self.content,
                compact_every=self._compact_every,
                rebase_min_bytes=self._rebase_min_bytes,
                on_failed=self._forget,
                on_awareness=self._publish_awareness if self._hub is not None else None,
            )
            await self._listen(board_id)
            # Registered before loading: an update the follower sees meanwhile is applied
            # too (applying an update twice changes nothing), so none falls in between.
            self._rooms[board_id] = room
            try:
                await room.open()
            except BaseException:
                self._rooms.pop(board_id, None)
                raise
            return room

    async def _listen(self, board_id: str) -> None:
        if self._hub is None or board_id in self._listening:
            return

        def on_message(channel: str, message: Message) -> None:
            room = self._rooms.get(board_id)
            if room is None or message.get("origin") == self.content.origin:
                return
            try:
                parsed = parse(base64.b64decode(message["awareness"]), max_bytes=1 << 20)
            except (ProtocolError, KeyError, ValueError):
                log.warning("ignored a malformed awareness message for board %s", board_id)
                return
            if isinstance(parsed, AwarenessMessage):
                room.remote_awareness(parsed)

        try:
            self._listening[board_id] = await self._hub.listen([_awareness(board_id)], on_message)
        except Exception:
            log.warning("board %s: awareness stays in this process (hub unavailable)", board_id)

    async def _stop_listening(self, board_id: str) -> None:
        listening = self._listening.pop(board_id, None)
        if listening is not None:
            await listening.close()

    async def _publish_awareness(self, room: BoardRoom, message: bytes) -> None:
        assert self._hub is not None
        await self._hub.publish(
            _awareness(room.board_id),
            {"origin": self.content.origin, "awareness": base64.b64encode(message).decode()},
        )

    def _forget(self, room: BoardRoom) -> None:
        if self._rooms.get(room.board_id) is room:
            del self._rooms[room.board_id]

    async def snapshot(self, board_id: str) -> dict[str, Any]:
        """The content as JSON: from the open room if there is one, else from the log."""
        room = self._rooms.get(board_id)
        if room is not None and room.loaded.is_set() and not room.failed:
            return snapshot(room.doc)
        return snapshot(materialize(await self.content.load(board_id)))

    async def _check_sessions(self) -> None:
        """Close the sockets of sessions that expired (a logout is seen in the log at once)."""
        while True:
            await asyncio.sleep(self._session_check_s)
            connections = [
                c for room in self._rooms.values() for c in room.connections if c.token_hash
            ]
            if not connections:
                continue
            try:
                alive = await live_sessions(
                    self._deps.readmodels,
                    sorted({c.token_hash for c in connections}),
                    int(time.time() * 1000),
                )
            except Exception:
                log.warning("could not check board sessions; will try again")
                continue
            for connection in connections:
                if connection.token_hash not in alive:
                    connection.close(CloseCode.UNAUTHENTICATED, "your session has ended")

    async def handle(self, event: RecordedEvent) -> None:
        """An event of the `board rooms` consumer's types, stored by any process."""
        if event.event_type in (UPDATED, REBASED):
            room = self._rooms.get(event.data["boardId"])
            if room is None:
                return
            generation = doc_stream_generation(event.stream_id)
            if generation > room.lineage.generation:
                await room.advance()  # another process rebased the board
            elif generation < room.lineage.generation or event.event_type == REBASED:
                return  # the previous generation's: carried over by whoever stored it
            elif event.metadata.get("processId") != self.content.origin:
                await room.remote(decode(event.data["update"]))
                BOARD_PROPAGATION.observe(seconds_since(event.timestamp))
        elif event.event_type in _MEMBERSHIP:
            room = self._rooms.get(event.data["boardId"])
            if room is not None:
                board = await load_board(self._deps, room.board_id)
                roles: dict[str, BoardRole] = {}
                if board is not None:
                    for user_id in board.members:
                        role = board.effective_role(user_id)
                        if role is not None:
                            roles[user_id] = role
                await room.refresh_roles(roles)
        elif event.event_type == "UserErased":
            # The erased person's own sockets close with their sessions; an owner's boards go.
            for board_id in event.data.get("boardsOwned", ()):
                room = self._rooms.get(board_id)
                for connection in room.connections if room is not None else ():
                    connection.close(CloseCode.NOT_FOUND, "this board was deleted")
        elif event.event_type == "SessionEnded":
            for room in self._rooms.values():
                for connection in room.connections:
                    if connection.session_id == event.data.get("sessionId"):
                        connection.close(CloseCode.UNAUTHENTICATED, "you signed out")
