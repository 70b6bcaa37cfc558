"""The board-propagation histogram behind its SLO (docs/operations/slos.md): an edit another
process stored is counted when it reaches this process's open room; this process's own edits,
which never travel through the log to it, are not."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from pycrdt import Doc

from hugmood.boards.auth import Admission
from hugmood.boards.protocol import SyncMessage, SyncType
from hugmood.boards.rooms import BoardRooms
from hugmood.boards.store import AcceptedUpdate, BoardContentStore
from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.domain import boards as bd
from hugmood.domain.boards import BoardRole
from hugmood.observability.delivery import BOARD_PROPAGATION
from tests.integration.test_board_rebase import Peer, edit
from tests.integration.test_board_rooms import until


def propagated() -> float:
    """How many edits from other processes this process has applied to its rooms so far."""
    for family in BOARD_PROPAGATION.collect():
        for sample in family.samples:
            if sample.name.endswith("_count"):
                return sample.value
    raise AssertionError("the histogram has no count")


async def test_an_edit_from_another_process_is_timed_into_the_histogram(tmp_path: Path) -> None:
    async with (
        open_hugmood(Settings(database_url="sqlite", data_dir=tmp_path)) as core,
        BoardRooms(core.deps, core.boards.content) as rooms,
    ):
        board_id = str(uuid.uuid4())
        await core.bus.handle(bd.CreateBoard(board_id, "owner-id", "Timed"))
        peer = Peer()
        room, connection = await rooms.join(Admission(board_id, "a", "s1", BoardRole.EDITOR), peer)
        writer = asyncio.create_task(connection.run_writer())
        await room.receive(connection, SyncMessage(SyncType.STEP1, b"\x00"))
        await until(lambda: bool(peer.of(SyncType.STEP2)), "the peer synced")
        doc: Doc[Any] = Doc()
        before = propagated()

        # An edit through this process's room: relayed directly, not counted.
        await room.receive(connection, SyncMessage(SyncType.UPDATE, edit(doc, "i1", "calm", 1)))
        # The same board edited on another process (another origin, the same log).
        elsewhere = BoardContentStore(
            core.store, core.readmodels, core.deps.clock, origin="another-process"
        )
        remote = edit(doc, "i2", "joyful", 2)
        await elsewhere.append(board_id, [AcceptedUpdate("b", remote)], items=2)

        await until(lambda: remote in peer.of(SyncType.UPDATE), "the remote edit arrived")
        await until(lambda: propagated() == before + 1, "the remote edit was timed")
        await asyncio.sleep(0.1)
        assert propagated() == before + 1
        await rooms.leave(room, connection)
        writer.cancel()
