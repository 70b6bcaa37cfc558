"""The `graphql-transport-ws` protocol as a client meets it: what is answered, and each
protocol violation closing the socket with its own code."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.client import befriend, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.test_bad_input import fragment_bomb
from tests.e2e.ws import DEADLINE_S, closed_with, init, open_socket, receive, subscribe, ws_url

pytestmark = pytest.mark.e2e

HUG_RECEIVED = "subscription { hugReceived { id } }"
SEND_HUG = "mutation($i: SendHugInput!) { sendHug(input: $i) { id } }"
Act = Callable[[ClientConnection], Awaitable[None]]


async def test_the_legacy_graphql_ws_protocol_is_refused(start_server: StartServer) -> None:
    server = start_server()
    async with connect(
        ws_url(server),
        subprotocols=["graphql-ws"],  # type: ignore[list-item]
        open_timeout=DEADLINE_S,
    ) as ws:
        assert await closed_with(ws) == 4406
        assert ws.close_reason is not None
        assert "graphql-transport-ws" in ws.close_reason


async def test_protocol_violations_close_the_socket_with_their_code(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")

    async def before_init(ws: ClientConnection) -> None:
        await subscribe(ws, "1", HUG_RECEIVED)

    def initialised(then: Act) -> Act:
        async def run(ws: ClientConnection) -> None:
            assert (await init(ws, ann.api.token))["type"] == "connection_ack"
            await then(ws)

        return run

    def send(text: str | bytes) -> Act:
        async def run(ws: ClientConnection) -> None:
            await ws.send(text)

        return run

    async def twice(ws: ClientConnection) -> None:
        await subscribe(ws, "same", HUG_RECEIVED)
        await subscribe(ws, "same", HUG_RECEIVED)

    cases: list[tuple[str, Act, int]] = [
        ("a subscribe before connection_init", before_init, 4401),
        ("text that is not JSON", initialised(send("{not json")), 4400),
        ("an unknown message type", initialised(send('{"type": "hello"}')), 4400),
        ("a binary frame", initialised(send(b'{"type": "ping"}')), 4400),
        (
            "a subscribe without a query",
            initialised(send('{"type": "subscribe", "id": "1", "payload": {}}')),
            4400,
        ),
        (
            "a second connection_init",
            initialised(send('{"type": "connection_init", "payload": {}}')),
            4429,
        ),
        ("two operations with one id", initialised(twice), 4409),
    ]
    for why, act, code in cases:
        async with open_socket(server) as ws:
            await act(ws)
            assert await closed_with(ws) == code, why


async def test_a_socket_that_never_initialises_is_closed(start_server: StartServer) -> None:
    server = start_server({"HUGMOOD_WS_INIT_TIMEOUT_S": "1"})
    async with open_socket(server) as ws:
        assert await closed_with(ws) == 4408


async def test_pings_queries_mutations_and_completing_a_subscription(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    async with open_socket(server) as ws:
        assert (await init(ws, ann.api.token))["type"] == "connection_ack"
        await ws.send(json.dumps({"type": "ping"}))
        assert (await receive(ws))["type"] == "pong"

        await subscribe(ws, "q", "{ me { handle } }")
        assert await receive(ws) == {
            "type": "next",
            "id": "q",
            "payload": {"data": {"me": {"handle": ann.handle}}},
        }
        assert await receive(ws) == {"type": "complete", "id": "q"}

        await subscribe(ws, "bad", "{ me { nope } }")
        refused = await receive(ws)
        assert (refused["type"], refused["id"]) == ("error", "bad")
        assert refused["payload"][0]["extensions"]["code"] == "VALIDATION"

        # Completed, a subscription pushes nothing more: after ben's hug the next message
        # is the pong, not the hug.
        await subscribe(ws, "h", HUG_RECEIVED)
        await ws.send(json.dumps({"type": "complete", "id": "h"}))
        ben.api(SEND_HUG, i={"to": ann.handle, "hugType": "WARM"})
        await ws.send(json.dumps({"type": "ping"}))
        assert (await receive(ws))["type"] == "pong"

        # The hug waits in the inbox, and a new subscription shows it.
        await subscribe(ws, "again", HUG_RECEIVED)
        arrived = await receive(ws)
        assert (arrived["type"], arrived["id"]) == ("next", "again")


async def test_a_socket_closes_soon_after_its_session_expires(start_server: StartServer) -> None:
    server = start_server(
        {"HUGMOOD_SESSION_TTL_HOURS": "0.002", "HUGMOOD_WS_SESSION_CHECK_S": "0.5"}
    )
    ann = sign_up(server, "ann")  # the session lives 7.2 s
    async with open_socket(server) as ws:
        assert (await init(ws, ann.api.token))["type"] == "connection_ack"
        await subscribe(ws, "h", HUG_RECEIVED)
        assert await closed_with(ws) == 4401
        assert ws.close_reason is not None
        assert "sign in again" in ws.close_reason


async def test_an_operation_over_the_cost_budget_is_refused_on_a_socket(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    async with open_socket(server) as ws:
        assert (await init(ws, ann.api.token))["type"] == "connection_ack"
        await subscribe(ws, "bomb", fragment_bomb(26))
        refused = await receive(ws)
        assert (refused["type"], refused["id"]) == ("error", "bomb")
        assert refused["payload"][0]["extensions"]["code"] == "VALIDATION"
        assert "cost budget" in refused["payload"][0]["message"]

        # The socket, and the server, go on answering.
        await subscribe(ws, "q", "{ me { handle } }")
        answered = await receive(ws)
        assert answered["payload"] == {"data": {"me": {"handle": ann.handle}}}
