"""Live hugs and friends' check-ins over WebSockets (graphql-transport-ws), and socket security."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.client import befriend, record_mood, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.ws import closed_with, init, next_data, open_socket, receive, subscribe

pytestmark = pytest.mark.e2e

HUG_RECEIVED = "subscription { hugReceived { id status hugType message sender { handle } } }"
HUG_STATUS = "subscription { hugStatusChanged { id status } }"
FRIEND_MOODS = "subscription { friendMoodRecorded { moodType privacy author { handle } } }"
SEND_HUG = "mutation($i: SendHugInput!) { sendHug(input: $i) { id status } }"
SENT_HUGS = "{ sentHugs { id status } }"


async def test_a_socket_without_a_valid_session_is_refused_before_any_data(
    start_server: StartServer,
) -> None:
    server = start_server()
    for token in (None, "hm_not-a-real-token"):
        async with open_socket(server) as ws:
            with pytest.raises(ConnectionClosed) as refused:
                await init(ws, token)
            assert refused.value.rcvd is not None
            assert refused.value.rcvd.code == 4403


async def test_sockets_from_other_sites_are_refused(start_server: StartServer) -> None:
    server = start_server()
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(server, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    async with open_socket(server, origin=server.url) as ws:
        ann = sign_up(server, "ann")
        assert (await init(ws, ann.api.token))["type"] == "connection_ack"


async def test_hugs_wait_for_the_recipient_then_arrive_live_and_the_sender_follows_them(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    waiting = ann.api(SEND_HUG, i={"to": ben.handle, "hugType": "CALM", "message": "hi"})
    async with open_socket(server) as ben_ws, open_socket(server) as ann_ws:
        assert (await init(ann_ws, ann.api.token))["type"] == "connection_ack"
        await subscribe(ann_ws, "s", HUG_STATUS)
        assert (await init(ben_ws, ben.api.token))["type"] == "connection_ack"
        await subscribe(ben_ws, "h", HUG_RECEIVED)

        first = (await next_data(ben_ws, "h"))["hugReceived"]
        assert (first["id"], first["message"], first["sender"]["handle"]) == (
            waiting["sendHug"]["id"],
            "hi",
            ann.handle,
        )
        assert (await next_data(ann_ws, "s"))["hugStatusChanged"]["status"] == "DELIVERED"

        live = ann.api(SEND_HUG, i={"to": ben.handle, "hugType": "CELEBRATION"})["sendHug"]
        pushed = (await next_data(ben_ws, "h"))["hugReceived"]
        assert (pushed["id"], pushed["hugType"]) == (live["id"], "CELEBRATION")
        assert (await next_data(ann_ws, "s"))["hugStatusChanged"] == {
            "id": live["id"],
            "status": "DELIVERED",
        }
        ben.api("mutation($id: ID!) { markHugSeen(id: $id) { status } }", id=live["id"])
        assert (await next_data(ann_ws, "s"))["hugStatusChanged"]["status"] == "SEEN"
    statuses = {h["id"]: h["status"] for h in ann.api(SENT_HUGS)["sentHugs"]}
    assert statuses == {waiting["sendHug"]["id"]: "DELIVERED", live["id"]: "SEEN"}


async def test_friends_see_live_only_the_check_ins_shared_with_them(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    async with open_socket(server) as ws:
        await init(ws, ben.api.token)
        await subscribe(ws, "m", FRIEND_MOODS)
        record_mood(ann, moodType="sad", intensity=0.4, privacy="PRIVATE")
        record_mood(ann, moodType="calm", intensity=0.4, privacy="FRIENDS_ONLY")
        entry = (await next_data(ws, "m"))["friendMoodRecorded"]
        assert entry == {
            "moodType": "calm",
            "privacy": "FRIENDS_ONLY",
            "author": {"handle": ann.handle},
        }


async def test_oversized_frames_close_the_socket_with_1009(start_server: StartServer) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    async with open_socket(server) as ws:
        await init(ws, ann.api.token)
        await ws.send(
            json.dumps({"id": "x", "type": "subscribe", "payload": {"query": "#" * 70_000}})
        )
        assert await closed_with(ws) == 1009


async def test_logging_out_closes_the_sessions_sockets(start_server: StartServer) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    async with open_socket(server) as ws:
        await init(ws, ann.api.token)
        await subscribe(ws, "h", HUG_RECEIVED)
        await asyncio.to_thread(ann.api, "mutation { logOut }")
        assert await closed_with(ws) == 4401


async def test_a_user_sending_too_many_socket_messages_is_cut_off(
    start_server: StartServer,
) -> None:
    server = start_server({"HUGMOOD_WS_MESSAGES_PER_MINUTE": "5"})
    ann = sign_up(server, "ann")
    async with open_socket(server) as ws:
        await init(ws, ann.api.token)
        for n in range(6):
            await subscribe(ws, f"hb{n}", "mutation { heartbeat }")
        assert await closed_with(ws) == 1008


async def test_subscriptions_per_socket_are_capped(start_server: StartServer) -> None:
    server = start_server({"HUGMOOD_WS_MAX_SUBSCRIPTIONS": "2"})
    ann = sign_up(server, "ann")
    async with open_socket(server) as ws:
        await init(ws, ann.api.token)
        await subscribe(ws, "a", HUG_RECEIVED)
        await subscribe(ws, "b", HUG_STATUS)
        await subscribe(ws, "c", FRIEND_MOODS)
        refused = await receive(ws)
        assert (refused["type"], refused["id"]) == ("error", "c")
        assert "limit" in refused["payload"][0]["message"]
