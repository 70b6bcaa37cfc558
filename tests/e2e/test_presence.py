"""Presence over WebSockets: friends only, per user over devices, away and views, expiry,
and "appear offline"."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

import pytest

from tests.e2e.client import befriend, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.ws import init, next_data, open_socket, subscribe

pytestmark = pytest.mark.e2e

FRIEND_PRESENCE = "subscription { friendPresence { profile { handle } status view } }"
FRIENDS_PRESENCE = "{ friendsPresence { profile { handle } status view } }"


def seen(data: dict[str, Any]) -> tuple[str, str, str | None]:
    p = data["friendPresence"]
    return p["profile"]["handle"], p["status"], p["view"]


async def test_friends_follow_presence_over_every_device(start_server: StartServer) -> None:
    server = start_server()
    ann, ben, cat = sign_up(server, "ann"), sign_up(server, "ben"), sign_up(server, "cat")
    befriend(ann, ben)
    async with open_socket(server) as watcher:
        await init(watcher, ben.api.token)
        await subscribe(watcher, "p", FRIEND_PRESENCE)
        assert seen(await next_data(watcher, "p")) == (ann.handle, "OFFLINE", None)

        async with open_socket(server) as phone, open_socket(server) as laptop:
            await init(phone, ann.api.token, device="phone")
            assert seen(await next_data(watcher, "p")) == (ann.handle, "ONLINE", None)
            await init(laptop, ann.api.token, device="laptop")
            await subscribe(laptop, "hb", 'mutation { heartbeat(status: AWAY, view: "/boards") }')
            # Online beats away: the phone is still online.
            assert (await next_data(laptop, "hb"))["heartbeat"] == "ONLINE"
            await subscribe(phone, "hb", 'mutation { heartbeat(status: AWAY, view: "/feed") }')
            assert seen(await next_data(watcher, "p")) == (ann.handle, "AWAY", "/feed")
            friends_now = ben.api(FRIENDS_PRESENCE)["friendsPresence"]
            assert friends_now == [
                {"profile": {"handle": ann.handle}, "status": "AWAY", "view": "/feed"}
            ]
            assert cat.api(FRIENDS_PRESENCE)["friendsPresence"] == []
            await phone.close()
            # The laptop is left, away on the page it last reported.
            assert seen(await next_data(watcher, "p")) == (ann.handle, "AWAY", "/boards")
        assert seen(await next_data(watcher, "p")) == (ann.handle, "OFFLINE", None)


async def test_a_device_that_stops_sending_heartbeats_goes_offline(
    start_server: StartServer,
) -> None:
    server = start_server({"HUGMOOD_PRESENCE_HEARTBEAT_S": "1"})
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    async with open_socket(server) as watcher:
        await init(watcher, ben.api.token)
        await subscribe(watcher, "p", FRIEND_PRESENCE)
        assert seen(await next_data(watcher, "p"))[1] == "OFFLINE"
        ann.api('mutation { heartbeat(deviceId: "watch", view: "/home") }')
        assert seen(await next_data(watcher, "p")) == (ann.handle, "ONLINE", "/home")
        # No more heartbeats: gone within two intervals (2 s here).
        assert seen(await next_data(watcher, "p")) == (ann.handle, "OFFLINE", None)


async def test_appearing_offline_hides_a_connected_user(start_server: StartServer) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    async with open_socket(server) as watcher, open_socket(server) as phone:
        await init(watcher, ben.api.token)
        await subscribe(watcher, "p", FRIEND_PRESENCE)
        assert seen(await next_data(watcher, "p"))[1] == "OFFLINE"
        await init(phone, ann.api.token)
        assert seen(await next_data(watcher, "p"))[1] == "ONLINE"
        ann.api("mutation { updateProfile(input: {appearOffline: true}) { appearOffline } }")
        assert seen(await next_data(watcher, "p"))[1] == "OFFLINE"
        assert ben.api(FRIENDS_PRESENCE)["friendsPresence"][0]["status"] == "OFFLINE"
        ann.api("mutation { updateProfile(input: {appearOffline: false}) { appearOffline } }")
        assert seen(await next_data(watcher, "p"))[1] == "ONLINE"


async def test_a_socket_whose_client_vanishes_goes_offline(start_server: StartServer) -> None:
    """The client completes the handshake and `connection_init`, then never reads again (as a
    phone that lost its network would): it no longer answers the server's pings."""
    server = start_server({"HUGMOOD_PRESENCE_HEARTBEAT_S": "1"})
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    async with open_socket(server) as watcher:
        await init(watcher, ben.api.token)
        await subscribe(watcher, "p", FRIEND_PRESENCE)
        assert seen(await next_data(watcher, "p"))[1] == "OFFLINE"
        _, writer = await silent_client(server, ann.api.token)
        try:
            assert seen(await next_data(watcher, "p"))[1] == "ONLINE"
            assert seen(await next_data(watcher, "p"))[1] == "OFFLINE"
        finally:
            writer.close()


async def test_an_open_socket_stays_present_between_heartbeats(
    start_server: StartServer,
) -> None:
    server = start_server({"HUGMOOD_PRESENCE_HEARTBEAT_S": "1"})
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    async with open_socket(server) as watcher, open_socket(server) as phone:
        await init(watcher, ben.api.token)
        await subscribe(watcher, "p", FRIEND_PRESENCE)
        assert seen(await next_data(watcher, "p"))[1] == "OFFLINE"
        await init(phone, ann.api.token)
        assert seen(await next_data(watcher, "p"))[1] == "ONLINE"
        # Three heartbeat intervals with no heartbeat sent: the open socket keeps ann online.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(3):
                await next_data(watcher, "p")


async def silent_client(
    server: HugMoodServer, token: str | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw WebSocket client: handshake and one `connection_init` frame, then silence."""
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    async with asyncio.timeout(10):
        response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101"), response
    payload = json.dumps(
        {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    ).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    await writer.drain()
    return reader, writer


@pytest.mark.parametrize("ending", ["blockUser", "removeFriend"])
async def test_a_friendship_that_ends_stops_live_presence_at_once(
    start_server: StartServer, ending: str
) -> None:
    server = start_server()
    ann, ben, cat = sign_up(server, "ann"), sign_up(server, "ben"), sign_up(server, "cat")
    befriend(ann, ben)
    befriend(cat, ben)
    async with open_socket(server) as watcher, open_socket(server) as phone:
        await init(watcher, ben.api.token)
        await subscribe(watcher, "p", FRIEND_PRESENCE)
        assert {seen(await next_data(watcher, "p"))[0] for _ in range(2)} == {
            ann.handle,
            cat.handle,
        }
        await init(phone, ann.api.token, device="phone")
        assert seen(await next_data(watcher, "p")) == (ann.handle, "ONLINE", None)

        ann.api(f'mutation {{ {ending}(handle: "{ben.handle}") {{ status }} }}')
        await subscribe(phone, "hb", 'mutation { heartbeat(status: AWAY, view: "/secret") }')
        assert (await next_data(phone, "hb"))["heartbeat"] == "AWAY"
        await phone.close()
        # Cat coming online is the next thing ben hears: nothing of ann's away, her page
        # or her going offline came before it.
        async with open_socket(server) as cats_phone:
            await init(cats_phone, cat.api.token)
            assert seen(await next_data(watcher, "p")) == (cat.handle, "ONLINE", None)
