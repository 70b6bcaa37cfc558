"""Two server processes on one board, sharing PostgreSQL: edits made through one reach the
sockets of the other through the log (decision 0006), and both end with the same document."""

from __future__ import annotations

import asyncio

import pytest

from hugmood.boards.room import state_vector
from tests.conftest import POSTGRES_URL
from tests.e2e.client import GraphQLClient, User, befriend, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_boards import BOARD, CREATE, INVITE
from tests.e2e.yjs import content, items, sticker, synced_doc, until

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SECRET_KEY = "two-processes-one-secret-key-for-all-board-sessions"


def on(server: HugMoodServer, user: User) -> User:
    """The same signed-in user, talking to another process."""
    return User(user.handle, GraphQLClient(server, user.api.token))


async def test_editors_on_two_processes_converge(start_server: StartServer, pg_schema: str) -> None:
    settings = {
        "HUGMOOD_DATABASE_URL": POSTGRES_URL,
        "HUGMOOD_POSTGRES_SCHEMA": pg_schema,
        "HUGMOOD_SECRET_KEY": SECRET_KEY,
    }
    a, b = start_server(settings), start_server(settings)
    ann, ben = sign_up(a, "ann"), sign_up(a, "ben")
    befriend(ann, ben)
    board_id: str = ann.api(CREATE, t="Across", d="")["createBoard"]["id"]
    ann.api(INVITE, b=board_id, h=ben.handle, r="EDITOR")
    ben_on_b = on(b, ben)

    async def edit(server: HugMoodServer, user: User, prefix: str, rounds: int) -> None:
        """Edits in bursts, reconnecting between them (a flaky phone)."""
        for burst in range(rounds):
            async with synced_doc(server, board_id, user) as doc:
                for i in range(10):
                    items(doc)[f"{prefix}{burst}-{i}"] = sticker("calm", user.handle, x=i)
                    items(doc)["shared"] = sticker("joyful", user.handle, x=burst * 100 + i)
                    await asyncio.sleep(0)

    async with (
        synced_doc(a, board_id, ann) as watch_a,
        synced_doc(b, board_id, ben_on_b) as watch_b,
    ):
        await asyncio.gather(edit(a, ann, "a", 4), edit(b, ben_on_b, "b", 4))
        expected = {f"{p}{r}-{i}" for p in "ab" for r in range(4) for i in range(10)} | {"shared"}
        await until(lambda: set(content(watch_a)) == expected, "A's socket has every edit")
        await until(lambda: set(content(watch_b)) == expected, "B's socket has every edit")
        await until(lambda: content(watch_a) == content(watch_b), "identical on both")
        await until(
            lambda: state_vector(watch_a.get_state()) == state_vector(watch_b.get_state()),
            "the same state vector on both",
        )

    for server, user in ((a, ann), (b, ben_on_b)):
        async with synced_doc(server, board_id, user) as fresh:
            await until(lambda: content(fresh) == content(watch_a), "a fresh load is identical")
    snapshot = ann.api(BOARD, b=board_id)["board"]["snapshot"]
    assert {i["id"] for i in snapshot["items"]} == expected
