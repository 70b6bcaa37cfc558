"""A board rebased while someone was offline: their edits are kept, their copy is replaced.

Ann edits a board a lot, goes offline (her copy stays in memory), and the board is rebased
when its room empties. Offline she moves a sticker and adds one. Back online, her old copy is
asked for what it has, her edits land on the new generation, and her socket is closed with
4410 so that she loads the board again; Ben, opening the board fresh, sees exactly her board.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from pycrdt import Doc, Provider

from tests.e2e.client import User, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_boards import board_with
from tests.e2e.yjs import (
    DEADLINE_S,
    WebsocketsChannel,
    content,
    items,
    raw_socket,
    sticker,
    synced_doc,
    until,
)

BOARD = "query($b: ID!) { board(id: $b) { snapshot } }"


def rebased(server: HugMoodServer, board_id: str) -> bool:
    """Whether the board's content has a second generation in the server's event log."""
    with sqlite3.connect(f"file:{server.data_dir / 'events.sqlite3'}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT count(*) FROM events WHERE stream_id = ?", (f"boardDoc-{board_id}~1",)
        ).fetchone()
    return bool(row[0])


async def reconnect_stale(server: HugMoodServer, board_id: str, user: User, doc: Doc[Any]) -> int:
    """Connect an old copy; the close code the server ends it with."""
    async with (
        raw_socket(server, board_id, user.api.token) as ws,
        Provider(doc, WebsocketsChannel(ws, board_id)),
    ):
        async with asyncio.timeout(DEADLINE_S):
            await ws.wait_closed()
    assert ws.close_code is not None, "closed without a close frame"
    return ws.close_code


async def test_edits_made_offline_through_a_rebase_are_kept_and_the_copy_reloads(
    start_server: StartServer,
) -> None:
    server = start_server({"HUGMOOD_DATABASE_URL": "sqlite", "HUGMOOD_BOARD_REBASE_MIN_BYTES": "0"})
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    board_id = board_with(ann, (ben, "EDITOR"))
    mine: Doc[Any] = Doc()
    async with synced_doc(server, board_id, ann, mine):
        for n in range(300):
            items(mine)[f"s{n % 10}"] = sticker("calm", "ann", x=n)

        def stored() -> bool:
            snapshot = ann.api(BOARD, b=board_id)["board"]["snapshot"]
            return sorted(i["x"] for i in snapshot["items"]) == list(range(290, 300))

        await until(stored, "every edit is stored")
    await until(lambda: rebased(server, board_id), "the board was rebased once its room emptied")

    # Offline, on the old copy.
    items(mine)["s3"] = sticker("joyful", "ann", x=3333)
    items(mine)["added-offline"] = sticker("hopeful", "ann", x=1)
    del items(mine)["s4"]

    assert await reconnect_stale(server, board_id, ann, mine) == 4410
    async with synced_doc(server, board_id, ben) as fresh:
        await until(lambda: content(fresh) == content(mine), "Ben sees Ann's board")
    assert len(content(fresh)) == 10
    assert content(fresh)["s3"]["x"] == 3333

    # The old copy again (a client that did not drop it): closed again, nothing duplicated.
    assert await reconnect_stale(server, board_id, ann, mine) == 4410
    snapshot = ann.api(BOARD, b=board_id)["board"]["snapshot"]
    assert snapshot["itemCount"] == 10
    assert {i["id"]: i["x"] for i in snapshot["items"]} == {
        k: v["x"] for k, v in content(mine).items()
    }
