"""Board rooms in one process on every backend: what a peer receives is already in the log,
viewers cannot edit, and a busy room compacts its history into snapshots."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc

from hugmood.boards.auth import Admission
from hugmood.boards.model import items_of, sticker
from hugmood.boards.protocol import CloseCode, ProtocolError, SyncMessage, SyncType, parse
from hugmood.boards.rooms import BoardRooms
from hugmood.boards.store import encode
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import boards as bd
from hugmood.domain.boards import BoardRole
from hugmood.eventstore.store import EventStore

DEADLINE_S = 10.0


class LoggedPeer:
    """A socket's far end that checks every relayed update is already in the event log."""

    def __init__(self, store: EventStore, board_id: str) -> None:
        self.store = store
        self.board_id = board_id
        self.updates: list[bytes] = []
        self.unstored: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    async def send(self, data: bytes) -> None:
        message = parse(data, max_bytes=1 << 20)
        if isinstance(message, SyncMessage) and message.sync_type is SyncType.UPDATE:
            stored = {
                e.data["update"]
                for e in await self.store.read_stream(bd.board_doc_stream(self.board_id))
                if e.event_type == "BoardContentUpdated"
            }
            if encode(message.payload) not in stored:
                self.unstored.append(message.payload)
            self.updates.append(message.payload)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def until(check: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(DEADLINE_S):
        while not check():  # noqa: ASYNC110 (the room's worker task does the work)
            await asyncio.sleep(0.01)
    assert check(), what


def updates(count: int) -> list[bytes]:
    doc: Doc[Any] = Doc()
    out = []
    for i in range(count):
        before = doc.get_state()
        items_of(doc)[f"i{i}"] = sticker(
            "calm", x=i, y=0, color="#123456", added_by="a", added_at=1
        )
        out.append(doc.get_update(before))
    return out


async def compacted(store: EventStore, board_id: str) -> bool:
    stream = await store.read_stream(bd.board_doc_stream(board_id))
    return any(e.event_type == "BoardContentCompacted" for e in stream)


async def board(core: HugMood) -> str:
    board_id = str(uuid.uuid4())
    await core.bus.handle(bd.CreateBoard(board_id, "owner-id", "Room test"))
    return board_id


async def test_a_peer_only_ever_receives_stored_updates_and_history_is_compacted(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        board_id = await board(core)
        async with BoardRooms(core.deps, core.boards.content, compact_every=20) as rooms:
            writer = LoggedPeer(core.store, board_id)
            reader = LoggedPeer(core.store, board_id)
            viewer = LoggedPeer(core.store, board_id)
            room, mine = await rooms.join(Admission(board_id, "a", "s1", BoardRole.EDITOR), writer)
            _, theirs = await rooms.join(Admission(board_id, "b", "s2", BoardRole.EDITOR), reader)
            _, looking = await rooms.join(Admission(board_id, "c", "s3", BoardRole.VIEWER), viewer)
            writers = [asyncio.create_task(c.run_writer()) for c in (mine, theirs, looking)]
            sent = updates(45)
            for update in sent:
                await room.receive(mine, SyncMessage(SyncType.UPDATE, update))
            await until(lambda: len(reader.updates) == 45, "the reader got every update")
            assert reader.unstored == [] and viewer.unstored == []
            assert writer.updates == []  # its own updates are not echoed
            with pytest.raises(ProtocolError) as refused:
                await room.receive(looking, SyncMessage(SyncType.UPDATE, updates(1)[0]))
            assert refused.value.code is CloseCode.FORBIDDEN
            async with asyncio.timeout(DEADLINE_S):
                while not await compacted(core.store, board_id):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)  # a busy room compacts as it goes
        for task in writers:
            task.cancel()
        stream = await core.store.read_stream(bd.board_doc_stream(board_id))
        kinds = [e.event_type for e in stream]
        assert kinds.count("BoardContentUpdated") == 45
        assert kinds.count("BoardContentCompacted") >= 1
        await core.projections.wait_for(await core.store.last_position())
        assert (await core.boards.content.load(board_id)).since_snapshot == 0  # all covered
        snapshot = await core.boards.snapshot(board_id)
        assert len(snapshot["items"]) == 45
