"""Shared boards end to end: GraphQL lifecycle, the Yjs socket with pycrdt clients, roles,
awareness, bad input, and durability across SIGKILL, against a server subprocess."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycrdt import Doc
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hugmood.boards.protocol import AwarenessEntry, SyncType, awareness_message, sync_message
from tests.e2e.client import GraphQLClient, User, befriend, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.yjs import content, items, raw_socket, sticker, synced_doc, until

pytestmark = pytest.mark.e2e

CREATE = (
    "mutation($t: String!, $d: String!) { createBoard(input: {title: $t, description: $d}) { id } }"
)
INVITE = """
mutation($b: ID!, $h: String!, $r: BoardRole!) {
  inviteToBoard(boardId: $b, handle: $h, role: $r) { id }
}"""
REMOVE = "mutation($b: ID!, $h: String!) { removeFromBoard(boardId: $b, handle: $h) }"
BOARD = """
query($b: ID!) {
  board(id: $b) {
    id title description archived myRole owner { handle } itemCount edits lastActivityAt
    socketPath members { profile { handle } role } snapshot
  }
}"""
BOARDS = "{ boards { id title itemCount myRole } }"


def board_with(owner: User, *others: tuple[User, str]) -> str:
    board_id: str = owner.api(CREATE, t="Our week", d="how it went")["createBoard"]["id"]
    for user, role in others:
        befriend(owner, user)
        owner.api(INVITE, b=board_id, h=user.handle, r=role)
    return board_id


async def synced(ws: ClientConnection) -> None:
    """Send a sync step 1 and wait for the server's answer (its sync step 2): in."""
    await ws.send(sync_message(SyncType.STEP1, b"\x00"))
    async with asyncio.timeout(15):
        while (await ws.recv())[:2] != b"\x00\x01":
            pass


async def close_code(ws: ClientConnection) -> tuple[int, str]:
    """Read until the server closes; the close code and reason it gave."""
    try:
        async with asyncio.timeout(15):
            while True:
                await ws.recv()
    except ConnectionClosed as e:
        closed = e.rcvd
    assert closed is not None, "the server dropped the socket without a close frame"
    return closed.code, closed.reason


def an_update(key: str, value: dict[str, Any]) -> bytes:
    doc: Doc[Any] = Doc()
    items(doc)[key] = value
    return doc.get_update()


def test_bad_board_requests_get_a_specific_error_and_write_nothing(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben, eve = sign_up(server, "ann"), sign_up(server, "ben"), sign_up(server, "eve")
    board_id = board_with(ann, (ben, "VIEWER"))
    position = server.event_log_position()
    for name, (user, query, variables, code) in {
        "empty title": (ann, CREATE, {"t": "  ", "d": ""}, "VALIDATION"),
        "long title": (ann, CREATE, {"t": "x" * 81, "d": ""}, "VALIDATION"),
        "long description": (ann, CREATE, {"t": "ok", "d": "x" * 501}, "VALIDATION"),
        "id not a uuid": (ann, BOARD, {"b": "board-1"}, "VALIDATION"),
        "unknown board": (ann, BOARD, {"b": "00000000-0000-0000-0000-000000000001"}, "NOT_FOUND"),
        "invite a stranger": (
            ann,
            INVITE,
            {"b": board_id, "h": eve.handle, "r": "EDITOR"},
            "FORBIDDEN",
        ),
        "invite nobody": (
            ann,
            INVITE,
            {"b": board_id, "h": "nobody_here", "r": "EDITOR"},
            "NOT_FOUND",
        ),
        "viewer invites": (
            ben,
            INVITE,
            {"b": board_id, "h": ann.handle, "r": "VIEWER"},
            "FORBIDDEN",
        ),
        "stranger removes": (eve, REMOVE, {"b": board_id, "h": ben.handle}, "NOT_FOUND"),
        "last owner leaves": (ann, REMOVE, {"b": board_id, "h": ann.handle}, "CONFLICT"),
        "not signed in": (None, BOARDS, {}, "UNAUTHENTICATED"),
    }.items():
        api = user.api if user is not None else GraphQLClient(server)
        failure = api.failure(query, **variables)
        assert failure.code == code, (name, failure.code, failure.message)
        assert failure.message
    assert server.event_log_position() == position, "bad input must not write anything"


async def test_friends_edit_a_board_together_and_graphql_shows_it(
    backend: dict[str, str],
    start_server: StartServer,  # servers stop before the schema goes
) -> None:
    server = start_server(backend)
    ann, ben, cat = sign_up(server, "ann"), sign_up(server, "ben"), sign_up(server, "cat")
    board_id = board_with(ann, (ben, "EDITOR"), (cat, "VIEWER"))

    async with (
        synced_doc(server, board_id, ann) as mine,
        synced_doc(server, board_id, ben) as bens,
        synced_doc(server, board_id, cat) as cats,
    ):
        items(mine)["s1"] = sticker("calm", "ann")
        items(bens)["s2"] = sticker("joyful", "ben", x=5)
        await until(lambda: set(content(cats)) == {"s1", "s2"}, "the viewer sees both edits")
        await until(lambda: content(mine) == content(bens) == content(cats), "all identical")

    board = ann.api(BOARD, b=board_id)["board"]
    assert (board["title"], board["description"], board["myRole"]) == (
        "Our week",
        "how it went",
        "OWNER",
    )
    assert board["itemCount"] == 2 and board["edits"] >= 2
    assert board["socketPath"] == f"/boards/{board_id}/ws"
    assert {(m["profile"]["handle"], m["role"]) for m in board["members"]} == {
        (ann.handle, "OWNER"),
        (ben.handle, "EDITOR"),
        (cat.handle, "VIEWER"),
    }
    snapshot = board["snapshot"]
    assert [(i["id"], i["kind"], i["mood"]) for i in snapshot["items"]] == [
        ("s1", "sticker", "calm"),
        ("s2", "sticker", "joyful"),
    ]
    assert cat.api(BOARD, b=board_id)["board"]["myRole"] == "VIEWER"
    assert [b["id"] for b in ben.api(BOARDS)["boards"]] == [board_id]
    stranger = sign_up(server, "eve")
    assert stranger.api.failure(BOARD, b=board_id).code == "NOT_FOUND"
    assert stranger.api(BOARDS)["boards"] == []


async def test_a_viewers_edit_is_refused_and_never_reaches_anyone(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, cat = sign_up(server, "ann"), sign_up(server, "cat")
    board_id = board_with(ann, (cat, "VIEWER"))
    async with synced_doc(server, board_id, ann) as mine:
        items(mine)["ok"] = sticker("calm", "ann")
        # A viewer's own pycrdt client syncs (it echoes what it has; that is not an edit).
        async with synced_doc(server, board_id, cat) as cats:
            await until(lambda: "ok" in content(cats), "the viewer reads the board")
        async with raw_socket(server, board_id, cat.api.token) as ws:
            await ws.send(
                sync_message(SyncType.UPDATE, an_update("sneaky", sticker("angry", "cat")))
            )
            code, reason = await close_code(ws)
        assert code == 4403 and "viewer" in reason
        items(mine)["after"] = sticker("calm", "ann")
        async with synced_doc(server, board_id, ann) as fresh:
            await until(lambda: "after" in content(fresh), "later edits still flow")
            assert "sneaky" not in content(fresh)
        assert "sneaky" not in content(mine)
    snapshot = ann.api(BOARD, b=board_id)["board"]["snapshot"]
    assert {i["id"] for i in snapshot["items"]} == {"ok", "after"}


async def test_reconnecting_with_nothing_new_stores_nothing(start_server: StartServer) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    board_id = board_with(ann)
    doc: Doc[Any] = Doc()
    async with synced_doc(server, board_id, ann, doc):
        items(doc)["s1"] = sticker("calm", "ann")
        items(doc)["s2"] = sticker("calm", "ann")
        del items(doc)["s1"]
    async with synced_doc(server, board_id, ann) as watcher:
        await until(lambda: set(content(watcher)) == {"s2"}, "three edits stored")
    edits = ann.api(BOARD, b=board_id)["board"]["edits"]
    # The reconnecting client sends its delete set again (sync step 2): nothing new.
    async with synced_doc(server, board_id, ann, doc), synced_doc(server, board_id, ann) as w:
        items(doc)["s3"] = sticker("calm", "ann")
        await until(lambda: "s3" in content(w), "a new edit arrives")
    assert ann.api(BOARD, b=board_id)["board"]["edits"] == edits + 1


async def test_awareness_is_forwarded_and_cleared_when_a_member_leaves(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    board_id = board_with(ann, (ben, "VIEWER"))
    cursor = AwarenessEntry(4242, 1, b'{"user":{"name":"ben"},"cursor":{"x":10,"y":20}}')
    async with raw_socket(server, board_id, ann.api.token) as watcher:
        async with raw_socket(server, board_id, ben.api.token) as ws:
            await ws.send(awareness_message([cursor]))
            seen: list[bytes] = []
            async with asyncio.timeout(15):
                while awareness_message([cursor]) not in seen:
                    seen.append(bytes(await watcher.recv()))  # type: ignore[arg-type]
        gone = awareness_message([AwarenessEntry(4242, 2, b"null")])
        async with asyncio.timeout(15):
            while bytes(await watcher.recv()) != gone:  # type: ignore[arg-type]
                pass


async def test_sockets_without_a_session_or_membership_are_refused(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, eve = sign_up(server, "ann"), sign_up(server, "eve")
    board_id = board_with(ann)
    for board, token, expected in [
        (board_id, None, 4401),
        (board_id, "hm_not-a-token", 4401),
        (board_id, eve.api.token, 4404),
        ("not-a-uuid", ann.api.token, 4404),
        ("00000000-0000-0000-0000-000000000000", ann.api.token, 4404),
    ]:
        async with raw_socket(server, board, token) as ws:
            code, reason = await close_code(ws)
        assert code == expected, (board, token, reason)
        assert reason
    assert "?token=" not in server.log_path.read_text()


async def test_a_page_from_another_site_cannot_open_a_board_socket(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    board_id = board_with(ann)
    with pytest.raises(InvalidStatus) as refused:
        async with raw_socket(server, board_id, ann.api.token, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    async with raw_socket(server, board_id, ann.api.token, origin=server.url) as ws:
        await synced(ws)  # in


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (sync_message(SyncType.UPDATE, b"\x01\x02\x03garbage"), 4400),
        (sync_message(SyncType.UPDATE, b"\x00\x00")[:-1] + b"\x09", 4400),
        (b"\x00\x02\x7f\x01", 4400),
        (b"\x09\x00", 4400),
        (b"\x00\x00\xff\xff\xff", 4400),
        (sync_message(SyncType.UPDATE, b"\x00" * 70_000), 1009),
        ("a text frame", 4400),
    ],
    ids=["bad-update", "trailing", "truncated", "unknown-type", "bad-length", "oversized", "text"],
)
async def test_bad_messages_close_the_socket_and_leave_the_board_intact(
    start_server: StartServer, message: bytes | str, expected: int
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    board_id = board_with(ann)
    async with synced_doc(server, board_id, ann) as mine:
        items(mine)["kept"] = sticker("calm", "ann")
        async with raw_socket(server, board_id, ann.api.token) as ws:
            await ws.send(message)
            code, _ = await close_code(ws)
        assert code == expected
        items(mine)["later"] = sticker("hopeful", "ann")
    async with synced_doc(server, board_id, ann) as fresh:
        await until(lambda: set(content(fresh)) == {"kept", "later"}, "the board is intact")
    assert server.health()["status"] == "ok"


# Found by fuzzing pycrdt: an update that decodes but makes yrs panic when applied on top of
# BASE (five updates of client 1234). The socket is closed, the board is untouched.
PANIC_BASE = bytes.fromhex(
    "0105d209002801056974656d73026b300176020174770001787c000000002801056974656d73026b3101"
    "760201787c3f8000000174770568656c6c6f2801056974656d73026b320176020174770a68656c6c6f68"
    "656c6c6f01787c400000002801056974656d73026b330176020174770f68656c6c6f68656c6c6f68656c"
    "6c6f01787c404000002801056974656d73026b340176020174771468656c6c6f68656c6c6f68656c6c6f"
    "68656c6c6f01787c4080000001d209010201"
)
PANIC = bytes.fromhex(
    "0101d2090b2801056974656d73476b3131017602017477375368656c6c6f68656c6c6f68656c6c6f6865"
    "6c6c6f68656c6c6f68656c6c6f68656c6c6f68656c6c6f68656c6c6f68656c6c6f68656c6c6f0178413000"
    "0001d20903020105010801"
)


async def test_an_update_that_makes_the_crdt_library_panic_is_refused(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    board_id = board_with(ann)
    async with raw_socket(server, board_id, ann.api.token) as ws:
        await ws.send(sync_message(SyncType.UPDATE, PANIC_BASE))
        await ws.send(sync_message(SyncType.UPDATE, PANIC))
        code, _ = await close_code(ws)
    assert code == 4400
    async with synced_doc(server, board_id, ann) as fresh:
        assert set(content(fresh)) == {f"k{i}" for i in range(5)} - {"k2"}
        items(fresh)["after"] = sticker("calm", "ann")
    async with synced_doc(server, board_id, ann) as again:
        await until(lambda: "after" in content(again), "the board still takes edits")
    assert server.health()["status"] == "ok"


async def test_a_removed_member_is_disconnected(start_server: StartServer) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    board_id = board_with(ann, (ben, "EDITOR"))
    async with raw_socket(server, board_id, ben.api.token) as ws:
        await synced(ws)  # ben is in
        ann.api(REMOVE, b=board_id, h=ben.handle)
        code, _ = await close_code(ws)
    assert code == 4403


async def test_logging_out_or_an_expiring_session_closes_board_sockets(
    start_server: StartServer,
) -> None:
    # Sessions of 7 s, checked every half second.
    server = start_server(
        {"HUGMOOD_SESSION_TTL_HOURS": "0.002", "HUGMOOD_WS_SESSION_CHECK_S": "0.5"}
    )
    ann = sign_up(server, "ann")
    board_id = board_with(ann)
    async with raw_socket(server, board_id, ann.api.token) as ws:
        await synced(ws)  # in
        ann.api("mutation { logOut }")
        code, _ = await close_code(ws)
    assert code == 4401
    ann = sign_up(server, "ann")
    board_id = board_with(ann)
    async with raw_socket(server, board_id, ann.api.token) as ws:
        # In (unless this machine is so slow the session ran out already); closed once it has.
        code, reason = await close_code(ws)
    assert code == 4401
    assert "your session has ended" in reason


async def test_sigkill_loses_no_edit_that_was_relayed(
    backend: dict[str, str],
    start_server: StartServer,  # servers stop before the schema goes
) -> None:
    server = start_server(backend)
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    board_id = board_with(ann, (ben, "EDITOR"))
    async with synced_doc(server, board_id, ann) as mine, synced_doc(server, board_id, ben) as bens:
        for i in range(40):
            items(mine)[f"a{i}"] = sticker("calm", "ann", x=i)
            items(bens)[f"b{i}"] = sticker("tired", "ben", x=i)
            await asyncio.sleep(0)
        # Whatever ben has received from ann was stored before it was relayed.
        await until(lambda: len(content(bens)) >= 60, "a good part was relayed")
        relayed = {k: v for k, v in content(bens).items() if k.startswith("a")}
        server.kill()
    server.start()
    async with synced_doc(server, board_id, ann) as fresh:
        await until(lambda: set(relayed) <= set(content(fresh)), "every relayed edit is back")
        assert {k: content(fresh)[k] for k in relayed} == relayed
