"""Interop with real Yjs: two Node.js clients (the npm packages `yjs` and `y-websocket`, as a
browser would use them) and a pycrdt client edit one board at the same time, each going
offline and back; all three end with identical items and state vectors, and so does the
server's own copy. `make test` installs the Node packages (tests/interop, `npm ci`)."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc

from hugmood.boards.protocol import state_vector
from tests.conftest import IN_CI
from tests.e2e.client import User, befriend, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_boards import BOARD, CREATE, INVITE
from tests.e2e.yjs import content, items, sticker, synced_doc, until

pytestmark = pytest.mark.e2e

INTEROP = Path(__file__).parent.parent / "interop"
BURSTS = 4


def node_or_skip() -> str:
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "Node.js is not installed"
    elif not (INTEROP / "node_modules" / "y-websocket").is_dir():
        problem = "the Yjs packages are not installed: run `make test` (npm ci in tests/interop)"
    if problem is not None:
        if IN_CI:
            pytest.fail(problem + " (CI=true: the interop test must run)")
        pytest.skip(problem)
    assert node is not None
    return node


async def node_client(
    node: str, server: HugMoodServer, board_id: str, user: User, name: str, everyone: list[str]
) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        node,
        str(INTEROP / "board_client.mjs"),
        server.url.replace("http://", "ws://") + "/boards",
        board_id,
        str(user.api.token),
        name,
        str(BURSTS),
        ",".join(everyone),
        cwd=INTEROP,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(90):
        out, err = await process.communicate()
    assert process.returncode == 0, f"{name} failed ({process.returncode}): {err.decode()}"
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def python_client(
    server: HugMoodServer, board_id: str, user: User, everyone: list[str]
) -> Doc[Any]:
    """pycrdt, with offline edits between connections, like the Node clients."""
    doc: Doc[Any] = Doc()
    for burst in range(BURSTS):
        if burst % 2 == 1:
            for i in range(10):
                items(doc)[f"py-{burst}-{i}"] = sticker("calm", user.handle, x=i)
            continue
        async with synced_doc(server, board_id, user, doc):
            for i in range(10):
                items(doc)[f"py-{burst}-{i}"] = sticker("calm", user.handle, x=i)
                items(doc)["shared"] = sticker("calm", user.handle, x=i, y=burst)
                await asyncio.sleep(0.002)
    async with synced_doc(server, board_id, user, doc):
        items(doc)["done-py"] = sticker("calm", user.handle)
        await until(lambda: all(f"done-{p}" in content(doc) for p in everyone), "all done")
    return doc


async def test_node_yjs_clients_and_pycrdt_end_identical(start_server: StartServer) -> None:
    node = node_or_skip()
    server = start_server()
    ann, ben, cat = sign_up(server, "ann"), sign_up(server, "ben"), sign_up(server, "cat")
    board_id: str = ann.api(CREATE, t="Interop", d="")["createBoard"]["id"]
    for friend in (ben, cat):
        befriend(ann, friend)
        ann.api(INVITE, b=board_id, h=friend.handle, r="EDITOR")
    everyone = ["py", "node1", "node2"]

    py_doc, node1, node2 = await asyncio.gather(
        python_client(server, board_id, ann, everyone),
        node_client(node, server, board_id, ben, "node1", everyone),
        node_client(node, server, board_id, cat, "node2", everyone),
    )

    # Every client saw every participant's done marker, written after its edits, so each
    # holds every edit (Yjs integrates one client's changes in order).
    expected = {f"{p}-{b}-{i}" for p in everyone for b in range(BURSTS) for i in range(10)}
    assert expected | {f"done-{p}" for p in everyone} | {"shared"} == set(node1["items"])
    assert node1["items"] == node2["items"]
    async with synced_doc(server, board_id, ann) as fresh:
        await until(lambda: content(fresh) == node1["items"], "the server's copy is identical")
        server_state = state_vector(fresh.get_state())
    assert content(py_doc) == node1["items"]
    assert state_vector(py_doc.get_state()) == server_state
    for result in (node1, node2):
        assert state_vector(base64.b64decode(result["stateVector"])) == server_state
    snapshot = ann.api(BOARD, b=board_id)["board"]["snapshot"]
    assert {i["id"] for i in snapshot["items"]} == set(node1["items"])
