"""Rebasing boards on every backend: a long-edited board whose room empties starts a new
generation without its history and loads the same items; edits stored on the old generation
after the rebase (a process that had not seen it yet) are carried over when the board opens;
a replica of the old generation is asked for its edits and told to load again (4410)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pycrdt import Doc

from hugmood.boards.auth import Admission
from hugmood.boards.model import items_of, sticker
from hugmood.boards.protocol import CloseCode, SyncMessage, SyncType, parse
from hugmood.boards.rooms import BoardRooms
from hugmood.boards.store import AcceptedUpdate
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import boards as bd
from hugmood.domain.boards import BoardRole
from tests.integration.test_board_rooms import until


class Peer:
    """A socket's far end: what the room sent it, and how it was closed."""

    def __init__(self) -> None:
        self.messages: list[SyncMessage] = []
        self.closed: tuple[int, str] | None = None

    async def send(self, data: bytes) -> None:
        message = parse(data, max_bytes=1 << 22)
        if isinstance(message, SyncMessage):
            self.messages.append(message)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def of(self, sync_type: SyncType) -> list[bytes]:
        return [m.payload for m in self.messages if m.sync_type is sync_type]


def edit(doc: Doc[Any], key: str, mood: str, x: float) -> bytes:
    before = doc.get_state()
    items_of(doc)[key] = sticker(mood, x=x, y=0, color="#123456", added_by="a", added_at=1)
    return doc.get_update(before)


def content(doc: Doc[Any]) -> dict[str, Any]:
    value: dict[str, Any] = items_of(doc).to_py() or {}
    return value


async def edited_board(core: HugMood, rooms: BoardRooms) -> tuple[str, Doc[Any]]:
    """A board edited 400 times by two editors (20 items, each moved again and again),
    through a room that then empties; returns the board and a replica of what was edited."""
    board_id = str(uuid.uuid4())
    await core.bus.handle(bd.CreateBoard(board_id, "owner-id", "Rebase test"))
    replica: Doc[Any] = Doc()
    editors: list[Doc[Any]] = [Doc(), Doc()]
    peer = Peer()
    room, connection = await rooms.join(Admission(board_id, "a", "s1", BoardRole.EDITOR), peer)
    writer = asyncio.create_task(connection.run_writer())
    for n in range(400):
        editor = editors[n % 2]
        update = edit(editor, f"item-{n % 20}", "calm", x=n)
        editors[1 - n % 2].apply_update(update)
        replica.apply_update(update)
        await room.receive(connection, SyncMessage(SyncType.UPDATE, update))
    await rooms.leave(room, connection)
    writer.cancel()
    return board_id, replica


async def test_a_long_edited_board_is_rebased_when_its_room_empties(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        async with BoardRooms(core.deps, core.boards.content, rebase_min_bytes=0) as rooms:
            board_id, replica = await edited_board(core, rooms)
            loaded = await core.boards.content.load(board_id)
            assert loaded.lineage.generation == 1
            assert loaded.snapshot is not None
            assert len(loaded.snapshot) < 0.5 * len(replica.get_update())
            fresh: Doc[Any] = Doc()
            fresh.apply_update(loaded.snapshot)
            assert content(fresh) == content(replica)

            # A new replica opening the board gets the new generation, whole.
            peer = Peer()
            room, connection = await rooms.join(
                Admission(board_id, "b", "s2", BoardRole.EDITOR), peer
            )
            writer = asyncio.create_task(connection.run_writer())
            await room.receive(connection, SyncMessage(SyncType.STEP1, b"\x00"))
            await until(lambda: bool(peer.of(SyncType.STEP2)), "the board arrived")
            joined: Doc[Any] = Doc()
            joined.apply_update(peer.of(SyncType.STEP2)[0])
            assert content(joined) == content(replica)
            assert peer.closed is None
            writer.cancel()
        await core.projections.wait_for(await core.store.last_position())
        assert (await core.boards.snapshot(board_id))["itemCount"] == 20
        row = await core.readmodels.fetchrow(
            "SELECT generation FROM rm_boards WHERE board_id = $1", board_id
        )
        assert row is not None and row[0] == 1


async def test_edits_stored_on_the_old_generation_after_a_rebase_are_carried_over(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        async with BoardRooms(core.deps, core.boards.content, rebase_min_bytes=0) as rooms:
            board_id, replica = await edited_board(core, rooms)
            # A process that had not seen the rebase stores one more edit on generation 0.
            late = edit(replica, "item-3", "joyful", x=-1)
            await core.boards.content.append(
                board_id, [AcceptedUpdate("a", late)], items=20, generation=0
            )
            assert len((await core.boards.content.load(board_id)).stragglers) == 1

            peer = Peer()
            room, connection = await rooms.join(
                Admission(board_id, "b", "s2", BoardRole.EDITOR), peer
            )
            assert items_of(room.doc)["item-3"]["mood"] == "joyful"  # carried on opening
            await rooms.leave(room, connection)
            loaded = await core.boards.content.load(board_id)
            assert loaded.stragglers == []
            assert loaded.lineage.generation >= 1
        snapshot = await core.boards.snapshot(board_id)
        assert {i["id"]: i["mood"] for i in snapshot["items"]}["item-3"] == "joyful"
        assert snapshot["itemCount"] == 20


async def test_an_old_replica_is_asked_for_its_edits_then_told_to_load_again(
    settings: Settings,
) -> None:
    async with (
        open_hugmood(settings) as core,
        BoardRooms(core.deps, core.boards.content, rebase_min_bytes=0) as rooms,
    ):
        board_id, replica = await edited_board(core, rooms)
        watcher = Peer()
        room, watching = await rooms.join(Admission(board_id, "b", "s2", BoardRole.EDITOR), watcher)
        tasks = [asyncio.create_task(watching.run_writer())]
        await room.receive(watching, SyncMessage(SyncType.STEP1, b"\x00"))
        await until(lambda: bool(watcher.of(SyncType.STEP2)), "the watcher synced")

        # The old replica was offline through the rebase and moved an item meanwhile.
        edit(replica, "item-7", "hopeful", x=7777)
        stale = Peer()
        _, old = await rooms.join(Admission(board_id, "a", "s1", BoardRole.EDITOR), stale)
        tasks.append(asyncio.create_task(old.run_writer()))
        await room.receive(old, SyncMessage(SyncType.STEP1, replica.get_state()))
        await until(lambda: bool(stale.of(SyncType.STEP1)), "the server asked what it has")
        assert stale.of(SyncType.STEP2) == []  # it is sent nothing of the new generation
        asked = stale.of(SyncType.STEP1)[0]
        await room.receive(old, SyncMessage(SyncType.STEP2, replica.get_update(asked)))
        await until(lambda: stale.closed is not None, "the old replica was closed")
        assert stale.closed is not None and stale.closed[0] == CloseCode.REBASED

        await until(lambda: bool(watcher.of(SyncType.UPDATE)), "the edit was relayed")
        watched: Doc[Any] = Doc()
        watched.apply_update(watcher.of(SyncType.STEP2)[0])
        for update in watcher.of(SyncType.UPDATE):
            watched.apply_update(update)
        assert items_of(watched)["item-7"]["x"] == 7777
        assert content(watched) == content(replica)
        assert len(content(watched)) == 20  # nothing duplicated, nothing lost
        for task in tasks:
            task.cancel()


async def test_a_board_that_never_empties_is_rebased_live_and_its_sockets_reload(
    settings: Settings,
) -> None:
    async with (
        open_hugmood(settings) as core,
        BoardRooms(core.deps, core.boards.content, compact_every=100, rebase_min_bytes=0) as rooms,
    ):
        board_id = str(uuid.uuid4())
        await core.bus.handle(bd.CreateBoard(board_id, "owner-id", "Always open"))
        peer = Peer()
        room, connection = await rooms.join(Admission(board_id, "a", "s1", BoardRole.EDITOR), peer)
        writer = asyncio.create_task(connection.run_writer())
        await room.receive(connection, SyncMessage(SyncType.STEP1, b"\x00"))
        editors: list[Doc[Any]] = [Doc(), Doc()]
        mine: Doc[Any] = Doc()
        n = answered = 0
        while not connection.closed and n < 2000:  # nothing is sent on a closed socket
            update = edit(editors[n % 2], f"item-{n % 10}", "calm", x=n)
            editors[1 - n % 2].apply_update(update)
            mine.apply_update(update)
            await room.receive(connection, SyncMessage(SyncType.UPDATE, update))
            while len(peer.of(SyncType.STEP1)) > answered:
                # Like a Yjs client, it answers every sync step 1 (the first comes with the
                # initial sync; another once the room turned it stale).
                asked = peer.of(SyncType.STEP1)[answered]
                await room.receive(connection, SyncMessage(SyncType.STEP2, mine.get_update(asked)))
                answered += 1
            n += 1
            await asyncio.sleep(0.001)
        await until(lambda: peer.closed is not None, "the socket was closed")
        assert peer.closed is not None and peer.closed[0] == CloseCode.REBASED
        writer.cancel()

        loaded = await core.boards.content.load(board_id)
        assert loaded.lineage.generation >= 1
        fresh = Peer()
        room, again = await rooms.join(Admission(board_id, "a", "s2", BoardRole.EDITOR), fresh)
        reader = asyncio.create_task(again.run_writer())
        await room.receive(again, SyncMessage(SyncType.STEP1, b"\x00"))
        await until(lambda: bool(fresh.of(SyncType.STEP2)), "the board arrived")
        joined: Doc[Any] = Doc()
        joined.apply_update(fresh.of(SyncType.STEP2)[0])
        assert content(joined) == content(mine)  # every edit the socket sent is there
        reader.cancel()
