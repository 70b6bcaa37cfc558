"""Two server processes on one board, sharing PostgreSQL and Redis: edits made through one
reach the sockets of the other through the log (decision 0006) and both end with the same
document; awareness (cursors) crosses through the Redis hub."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from pycrdt import Doc, Provider

from hugmood.boards.protocol import AwarenessEntry, awareness_message, state_vector
from tests.e2e.client import GraphQLClient, User, befriend, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_boards import BOARD, CREATE, INVITE, synced
from tests.e2e.test_two_processes import shared, two_processes
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

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def cursor(clock: int) -> AwarenessEntry:
    return AwarenessEntry(777, clock, b'{"user":{"name":"ben"},"cursor":{"x":3,"y":4}}')


def on(server: HugMoodServer, user: User) -> User:
    """The same signed-in user, talking to another process."""
    return User(user.handle, GraphQLClient(server, user.api.token))


async def test_editors_on_two_processes_converge(
    pg_schema: str, machine_redis: tuple[str, str], start_server: StartServer
) -> None:
    # The servers are asked for last so that they stop before the schema is dropped.
    a, b = two_processes(start_server, shared(pg_schema, *machine_redis))
    ann, ben = sign_up(a, "ann"), sign_up(a, "ben")
    befriend(ann, ben)
    board_id: str = ann.api(CREATE, t="Across", d="")["createBoard"]["id"]
    ann.api(INVITE, b=board_id, h=ben.handle, r="EDITOR")
    ben_on_b = on(b, ben)

    async def edit(server: HugMoodServer, user: User, prefix: str, rounds: int) -> None:
        """Edits in bursts, dropping the connection after each (a flaky phone); like a Yjs
        client it keeps its document, so what a dropped socket did not send goes on the next
        connection, and it ends connected until the server has everything it wrote."""
        doc: Doc[Any] = Doc()
        for burst in range(rounds):
            async with synced_doc(server, board_id, user, doc):
                for i in range(10):
                    items(doc)[f"{prefix}{burst}-{i}"] = sticker("calm", user.handle, x=i)
                    items(doc)["shared"] = sticker("joyful", user.handle, x=burst * 100 + i)
                    await asyncio.sleep(0)
        mine = {k for k in content(doc) if k.startswith(prefix)}
        async with (
            synced_doc(server, board_id, user, doc),
            synced_doc(server, board_id, user) as seen,
        ):
            await until(lambda: mine <= set(content(seen)), "the server has all of them")

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

    # A cursor moved on B is seen by a socket on A. Like Yjs clients, B says it again now
    # and then (a subscription just made may not be listening yet).
    async with raw_socket(a, board_id, ann.api.token) as on_a:
        await synced(on_a)  # in
        async with raw_socket(b, board_id, ben_on_b.api.token) as on_b:
            seen: set[bytes] = set()
            sent: list[bytes] = []

            async def watch() -> None:
                while not seen & set(sent):
                    seen.add(bytes(await on_a.recv()))  # type: ignore[arg-type]

            watching = asyncio.create_task(watch())
            async with asyncio.timeout(20):
                for clock in range(1, 1000):
                    sent.append(awareness_message([cursor(clock)]))
                    await on_b.send(sent[-1])
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.5):
                            await asyncio.shield(watching)
                    if watching.done():
                        break
            await watching

    for server, user in ((a, ann), (b, ben_on_b)):
        async with synced_doc(server, board_id, user) as fresh:
            await until(lambda: content(fresh) == content(watch_a), "a fresh load is identical")
    snapshot = ann.api(BOARD, b=board_id)["board"]["snapshot"]
    assert {i["id"] for i in snapshot["items"]} == expected


async def test_a_rebase_by_one_process_moves_the_other_processes_sockets_along(
    pg_schema: str, machine_redis: tuple[str, str], start_server: StartServer
) -> None:
    settings = shared(pg_schema, *machine_redis) | {"HUGMOOD_BOARD_REBASE_MIN_BYTES": "0"}
    a, b = two_processes(start_server, settings)
    ann, ben = sign_up(a, "ann"), sign_up(a, "ben")
    befriend(ann, ben)
    board_id: str = ann.api(CREATE, t="Rebased", d="")["createBoard"]["id"]
    ann.api(INVITE, b=board_id, h=ben.handle, r="EDITOR")
    ben_on_b = on(b, ben)
    bens: Doc[Any] = Doc()
    async with (
        raw_socket(b, board_id, ben_on_b.api.token) as on_b,
        Provider(bens, WebsocketsChannel(on_b, board_id)) as provider,
    ):
        async with asyncio.timeout(DEADLINE_S):
            await provider.synced.wait()
        items(bens)["from-ben"] = sticker("hopeful", ben.handle)
        # Ann moves ten stickers 200 times through A, then leaves: A's room empties and
        # rebases the board while Ben is still on it through B.
        async with synced_doc(a, board_id, ann) as anns:
            for n in range(200):
                items(anns)[f"s{n % 10}"] = sticker("calm", ann.handle, x=n)
            await until(lambda: content(bens) == content(anns), "Ben has Ann's edits, and she his")
        async with asyncio.timeout(DEADLINE_S):
            await on_b.wait_closed()  # B moved to the new generation and told Ben to reload
    assert on_b.close_code == 4410

    async with (
        synced_doc(a, board_id, ann) as fresh_a,
        synced_doc(b, board_id, ben_on_b) as fresh_b,
    ):
        await until(
            lambda: content(fresh_a) == content(fresh_b) == content(bens),
            "a fresh copy from either process is the whole board",
        )
    assert len(content(fresh_a)) == 11
    # Ben's old copy is stale on either process: A closes it too, adding nothing.
    async with (
        raw_socket(a, board_id, ben.api.token) as on_a,
        Provider(bens, WebsocketsChannel(on_a, board_id)),
    ):
        async with asyncio.timeout(DEADLINE_S):
            await on_a.wait_closed()
    assert on_a.close_code == 4410
    assert ann.api(BOARD, b=board_id)["board"]["snapshot"]["itemCount"] == 11
