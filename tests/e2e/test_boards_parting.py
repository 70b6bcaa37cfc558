"""A block or an unfriend parts two people on boards: neither stays on a board the other
owns (sockets closed, images and details gone), while a third person's board keeps both."""

from __future__ import annotations

import pytest

from tests.e2e.client import User, befriend, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.test_board_images import download, png, upload
from tests.e2e.test_boards import BOARD, BOARDS, CREATE, INVITE, close_code, synced
from tests.e2e.yjs import raw_socket

pytestmark = pytest.mark.e2e

ARCHIVE = "mutation($b: ID!) { archiveBoard(boardId: $b) { archived } }"


def board_of(owner: User, title: str, *others: tuple[User, str]) -> str:
    board_id: str = owner.api(CREATE, t=title, d="")["createBoard"]["id"]
    for user, role in others:
        owner.api(INVITE, b=board_id, h=user.handle, r=role)
    return board_id


def titles(user: User) -> set[str]:
    return {b["title"] for b in user.api(BOARDS)["boards"]}


@pytest.mark.parametrize("ending", ["blockUser", "removeFriend"])
async def test_ending_a_friendship_parts_two_people_on_each_others_boards(
    start_server: StartServer, ending: str
) -> None:
    server = start_server()
    ann, dan, cat = sign_up(server, "ann"), sign_up(server, "dan"), sign_up(server, "cat")
    befriend(ann, dan)
    befriend(cat, ann)
    befriend(cat, dan)
    anns = board_of(ann, "Ann's", (dan, "EDITOR"))
    anns_archived = board_of(ann, "Ann's old", (dan, "VIEWER"))
    ann.api(ARCHIVE, b=anns_archived)
    dans = board_of(dan, "Dan's", (ann, "VIEWER"))
    cats = board_of(cat, "Cat's", (ann, "EDITOR"), (dan, "EDITOR"))
    uploaded = upload(server, anns, ann, png())
    assert uploaded.status_code == 201, uploaded.text
    blob_id = uploaded.json()["blobId"]
    assert download(server, anns, dan, blob_id).status_code == 200

    async with (
        raw_socket(server, anns, dan.api.token) as dan_on_anns,
        raw_socket(server, dans, ann.api.token) as ann_on_dans,
    ):
        await synced(dan_on_anns)
        await synced(ann_on_dans)
        ann.api(f'mutation {{ {ending}(handle: "{dan.handle}") {{ status }} }}')
        # Both sockets are closed as a removed member's is, the moment the command returns.
        assert (await close_code(dan_on_anns))[0] == 4403
        assert (await close_code(ann_on_dans))[0] == 4403

    assert titles(dan) == {"Dan's", "Cat's"}
    assert titles(ann) == {"Ann's", "Cat's"}
    for board_id in (anns, anns_archived):
        refusal = dan.api.failure(BOARD, b=board_id)
        assert refusal.code == "NOT_FOUND"
    assert ann.api.failure(BOARD, b=dans).code == "NOT_FOUND"
    assert download(server, anns, dan, blob_id).status_code == 404
    async with raw_socket(server, anns, dan.api.token) as again:
        assert (await close_code(again))[0] == 4404
    # A board neither of them owns keeps both: its owner decides.
    members = {m["profile"]["handle"] for m in cat.api(BOARD, b=cats)["board"]["members"]}
    assert members == {cat.handle, ann.handle, dan.handle}
