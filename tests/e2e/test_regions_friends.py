"""Friends across a border: Greta lives in the EU region, Sam in the US one. They befriend
each other, see what the other shares with friends, exchange hugs live, and mark them seen;
and the canary: nothing personal of Greta's (her note, her bio, her hug's message) lands in
the US region's stores, read through its own keys, nor Sam's in the EU's. Both with the two
regions hosted in one server, and with the US region a deployment of its own on PostgreSQL
reached over HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from hugmood.bootstrap import open_event_store, upcasters
from hugmood.config import Settings
from hugmood.domain.identity import user_id_for
from hugmood.eventstore.store import EventStore
from hugmood.regions.hosting import region_settings
from tests.conftest import POSTGRES_URL, unique
from tests.e2e.client import PASSWORD, GraphQLFailure, User, befriend, record_mood
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_boards import CREATE, INVITE, close_code, synced
from tests.e2e.test_erasure import files_holding
from tests.e2e.test_regions import HUG_RECEIVED, REGIONS, SEND_HUG, person, region_dir
from tests.e2e.ws import init, next_data, open_socket, subscribe
from tests.e2e.yjs import content, items, raw_socket, sticker, synced_doc, until

pytestmark = pytest.mark.e2e

UPDATE_PROFILE = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { handle } }"
FRIENDS = "{ friendsPresence { profile { handle } } }"
INBOX = "{ inbox { id message hugType status sender { handle displayName } } }"
SENT = "{ sentHugs { id status recipient { handle } } }"
SEEN = "mutation($id: ID!) { markHugSeen(id: $id) { status } }"
FEED = "{ friendsFeed { note moodType author { handle } } }"
BOARD_SNAPSHOT = "query($b: ID!) { board(id: $b) { snapshot members { profile { handle } } } }"
FRIEND_MOODS = (
    "subscription { friendMoodRecorded { id moodType note author { handle displayName } } }"
)
FRIEND_PRESENCE = "subscription { friendPresence { profile { handle displayName } status view } }"
FRIENDS_NOW = "{ friendsPresence { profile { handle } status view } }"
PAGE = "query($h: String!) { user(handle: $h) { profile { displayName bio } relationship } }"


@asynccontextmanager
async def store_of(server: HugMoodServer, region: str) -> AsyncIterator[EventStore]:
    """A region's event store as HugMood reads it: personal fields opened with its keys."""
    settings = Settings.from_env(server.env)
    if settings.regions:
        settings = region_settings(settings, region)
    async with AsyncExitStack() as stack:
        store, _ = await open_event_store(settings, upcasters(), stack)
        yield store


async def everything_in(server: HugMoodServer, region: str) -> str:
    """Every event the region keeps, its personal fields opened, as one text."""
    texts: list[bytes] = []
    async with store_of(server, region) as store:
        position = 0
        while batch := await store.read_all(position, 1000):
            texts += [orjson.dumps([e.event_type, e.data, e.metadata]) for e in batch]
            position = batch[-1].position
    return b"\n".join(texts).decode()


def seen(data: dict[str, Any]) -> tuple[str, str, str, str | None]:
    p = data["friendPresence"]
    return p["profile"]["handle"], p["profile"]["displayName"], p["status"], p["view"]


def canary(what: str) -> str:
    return f"zq{what}{uuid.uuid4().hex[:10]}"


async def friends_across_the_border(server: HugMoodServer, us_server: HugMoodServer) -> None:
    greta, sam = person(server, "greta", "DE"), person(server, "sam", "US")
    eu_note, eu_bio, eu_hug = canary("eunote"), canary("eubio"), canary("euhug")
    us_note, us_hug = canary("usnote"), canary("ushug")
    greta.api(UPDATE_PROFILE, i={"bio": eu_bio})
    record_mood(greta, moodType="calm", intensity=0.5, note=eu_note, privacy="FRIENDS_ONLY")
    record_mood(sam, moodType="hopeful", intensity=0.7, note=us_note, privacy="FRIENDS_ONLY")

    # Before they are friends, Sam sees Greta's handle and nothing she shares.
    assert sam.api(PAGE, h=greta.handle)["user"]["profile"]["bio"] == ""
    befriend(greta, sam)
    assert [f["profile"]["handle"] for f in greta.api(FRIENDS)["friendsPresence"]] == [sam.handle]
    assert [f["profile"]["handle"] for f in sam.api(FRIENDS)["friendsPresence"]] == [greta.handle]
    # Shown by the name each chose, read from their region (kept there alone).
    names = "{ friendsPresence { profile { displayName } } }"
    assert [f["profile"]["displayName"] for f in sam.api(names)["friendsPresence"]] == ["Greta"]
    listed = "{ connections { profile { displayName } } }"
    assert [c["profile"]["displayName"] for c in sam.api(listed)["connections"]] == ["Greta"]

    # What each shares with friends is read from the other's region when viewed; notes stay
    # home (both regions' rules: `note = "never"`), the check-in itself crosses.
    assert [
        (e["moodType"], e["note"], e["author"]["handle"]) for e in sam.api(FEED)["friendsFeed"]
    ] == [("calm", None, greta.handle)]
    assert [(e["moodType"], e["note"]) for e in greta.api(FEED)["friendsFeed"]] == [
        ("hopeful", None)
    ]
    page = sam.api(PAGE, h=greta.handle)["user"]
    assert (page["profile"]["displayName"], page["profile"]["bio"]) == ("Greta", eu_bio)
    assert page["relationship"] == "FRIENDS"

    # A hug across the border arrives live, its message read from the sender's region.
    async with open_socket(server) as ws:
        assert (await init(ws, sam.api.token))["type"] == "connection_ack"
        await subscribe(ws, "h", HUG_RECEIVED)
        hug_id = greta.api(SEND_HUG, i={"to": sam.handle, "hugType": "WARM", "message": eu_hug})[
            "sendHug"
        ]["id"]
        hug = (await next_data(ws, "h"))["hugReceived"]
        assert (hug["id"], hug["message"], hug["sender"]["handle"]) == (
            hug_id,
            eu_hug,
            greta.handle,
        )
    # A check-in across the border arrives live too: announced by its region (ids only) and
    # read from there, without its note; one kept private is not announced at all.
    async with open_socket(server) as ws:
        assert (await init(ws, sam.api.token))["type"] == "connection_ack"
        await subscribe(ws, "m", FRIEND_MOODS)
        record_mood(greta, moodType="tired", intensity=0.4, note=eu_note, privacy="PRIVATE")
        shared = record_mood(
            greta, moodType="hopeful", intensity=0.7, note=eu_note, privacy="FRIENDS_ONLY"
        )
        live = (await next_data(ws, "m"))["friendMoodRecorded"]
        assert live == {
            "id": shared["id"],
            "moodType": "hopeful",
            "note": None,
            "author": {"handle": greta.handle, "displayName": "Greta"},
        }
    # Whether a friend abroad is around: told live by their region, read from it when asked.
    async with open_socket(server) as ws:
        assert (await init(ws, sam.api.token))["type"] == "connection_ack"
        await subscribe(ws, "p", FRIEND_PRESENCE)
        assert seen(await next_data(ws, "p")) == (greta.handle, "Greta", "OFFLINE", None)
        async with open_socket(server) as greta_ws:
            assert (await init(greta_ws, greta.api.token))["type"] == "connection_ack"
            assert seen(await next_data(ws, "p")) == (greta.handle, "Greta", "ONLINE", None)
            await subscribe(greta_ws, "hb", 'mutation { heartbeat(status: AWAY, view: "/feed") }')
            assert seen(await next_data(ws, "p")) == (greta.handle, "Greta", "AWAY", "/feed")
            assert [
                (f["profile"]["handle"], f["status"], f["view"])
                for f in sam.api(FRIENDS_NOW)["friendsPresence"]
            ] == [(greta.handle, "AWAY", "/feed")]
        assert seen(await next_data(ws, "p")) == (greta.handle, "Greta", "OFFLINE", None)
    inbox = sam.api(INBOX)["inbox"]
    assert [(h["id"], h["message"], h["sender"]["displayName"]) for h in inbox] == [
        (hug_id, eu_hug, "Greta")
    ]
    assert sam.api(SEEN, id=hug_id)["markHugSeen"]["status"] == "SEEN"
    assert [(h["id"], h["status"]) for h in greta.api(SENT)["sentHugs"]] == [(hug_id, "SEEN")]
    sam.api(SEND_HUG, i={"to": greta.handle, "hugType": "STRENGTH", "message": us_hug})
    assert [h["message"] for h in greta.api(INBOX)["inbox"]] == [us_hug]

    # A board of Greta's (kept in the EU) that Sam edits from the US, live with Greta.
    eu_item = canary("euitem")
    board_id = greta.api(CREATE, t="Across the sea", d="")["createBoard"]["id"]
    greta.api(INVITE, b=board_id, h=sam.handle, r="EDITOR")
    listed = sam.api("{ boards { id title myRole owner { handle } } }")["boards"]
    assert listed == [
        {
            "id": board_id,
            "title": "Across the sea",
            "myRole": "EDITOR",
            "owner": {"handle": greta.handle},
        }
    ]
    async with synced_doc(server, board_id, greta) as greta_doc:
        items(greta_doc)["eu"] = sticker("calm", eu_item)
        async with synced_doc(server, board_id, sam) as sam_doc:
            await until(lambda: "eu" in content(sam_doc), "Greta's sticker reaches Sam")
            items(sam_doc)["us"] = sticker("hopeful", sam.handle)
            await until(lambda: "us" in content(greta_doc), "Sam's sticker reaches Greta")
    snapshot = sam.api(BOARD_SNAPSHOT, b=board_id)["board"]
    assert {i["id"] for i in snapshot["snapshot"]["items"]} == {"eu", "us"}
    assert {m["profile"]["handle"] for m in snapshot["members"]} == {greta.handle, sam.handle}

    # The canary: the US region keeps the friendship and the hugs, nothing personal of Greta's,
    # read as HugMood reads it (with the region's own keys) and in the raw files.
    in_us = await everything_in(us_server, "us-east")
    in_eu = await everything_in(server, "eu-west")
    assert "HugSent" in in_us and "FriendRequestAccepted" in in_us
    for personal in (eu_note, eu_bio, eu_hug, eu_item):
        assert personal not in in_us
    for personal in (eu_note, eu_bio, eu_hug):
        assert personal in in_eu
    for personal in (us_note, us_hug):
        assert personal not in in_eu
        assert personal in in_us
    for personal in (eu_note, eu_bio, eu_hug, eu_item):
        assert files_holding(us_dir(us_server), personal) == []

    # Unfriended from the US side: both regions see it, and hugs stop; what Sam's socket was
    # already following from Greta's region stops too.
    async with open_socket(server) as ws:
        assert (await init(ws, sam.api.token))["type"] == "connection_ack"
        await subscribe(ws, "p", FRIEND_PRESENCE)
        await subscribe(ws, "m", FRIEND_MOODS)
        assert seen(await next_data(ws, "p"))[2] == "OFFLINE"
        sam.api("mutation($h: String!) { removeFriend(handle: $h) { status } }", h=greta.handle)
        assert greta.api(FRIENDS)["friendsPresence"] == []
        refused = greta.api.attempt(SEND_HUG, i={"to": sam.handle, "hugType": "WARM"})
        assert isinstance(refused, GraphQLFailure)
        assert refused.errors[0]["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND")
        assert sam.api(FEED)["friendsFeed"] == []
        async with open_socket(server) as greta_ws:
            assert (await init(greta_ws, greta.api.token))["type"] == "connection_ack"
            record_mood(greta, moodType="calm", intensity=0.5, privacy="FRIENDS_ONLY")
            with pytest.raises(TimeoutError):  # neither her presence nor her check-in
                async with asyncio.timeout(3):
                    await next_data(ws, "p")


def us_dir(server: HugMoodServer) -> Path:
    hosted = region_dir(server, "us-east")
    return hosted if hosted.exists() else server.data_dir


async def test_friends_in_two_hosted_regions_share_what_they_choose_and_nothing_more(
    start_server: StartServer,
) -> None:
    server = start_server(REGIONS)
    await friends_across_the_border(server, server)


@pytest.mark.postgres
async def test_friends_across_deployments_of_their_own(
    start_server: StartServer, pg_schema: str
) -> None:
    edge, us = two_deployments(start_server, pg_schema)
    await friends_across_the_border(edge, us)


def two_deployments(
    start_server: StartServer, pg_schema: str
) -> tuple[HugMoodServer, HugMoodServer]:
    """The US region, a deployment of its own on PostgreSQL, and an EU edge hosting the EU
    region; each reaches the other over HTTP with the key they share."""
    key = {"HUGMOOD_FEDERATION_KEY": "k" * 40, "HUGMOOD_DIRECTORY_URL": POSTGRES_URL}
    us = start_server(
        {
            "HUGMOOD_REGION": "us-east",
            "HUGMOOD_DATABASE_URL": POSTGRES_URL,
            "HUGMOOD_POSTGRES_SCHEMA": pg_schema,
        }
        | key
    )
    edge = start_server(
        {
            "HUGMOOD_REGIONS": "eu-west",
            "HUGMOOD_REGION": "eu-west",
            "HUGMOOD_REGION_URLS": f"us-east={us.url}",
        }
        | key
    )
    # The US region calls the EU one back at the edge (started second, so its URL is known).
    us.stop()
    us.env["HUGMOOD_REGION_URLS"] = f"eu-west={edge.url}"
    us.start(port=us.port)
    return edge, us


def pair_decided_in_the_eu(edge: HugMoodServer) -> tuple[User, User]:
    """Greta (EU) and Sam (US), with handles whose ids make the EU region the pair's."""
    while True:
        eu, us = unique("greta"), unique("sam")
        if user_id_for(eu) < user_id_for(us):
            return person(edge, "greta", "DE", handle=eu), person(edge, "sam", "US", handle=us)


@pytest.mark.postgres
async def test_what_a_region_decides_while_the_other_is_away_reaches_it_when_it_returns(
    start_server: StartServer, pg_schema: str
) -> None:
    edge, us = two_deployments(start_server, pg_schema)
    greta, sam = pair_decided_in_the_eu(edge)
    befriend(greta, sam)
    assert [f["profile"]["handle"] for f in sam.api(FRIENDS)["friendsPresence"]] == [greta.handle]

    us.kill()
    # What needs the US region now says so clearly; what the EU decides alone goes ahead.
    away = greta.api.attempt(SEND_HUG, i={"to": sam.handle, "hugType": "WARM"})
    assert isinstance(away, GraphQLFailure)
    assert away.errors[0]["extensions"]["code"] == "UNAVAILABLE"
    assert "another region this needs cannot be reached" in away.errors[0]["message"]
    greta.api("mutation($h: String!) { removeFriend(handle: $h) { status } }", h=sam.handle)
    assert greta.api(FRIENDS)["friendsPresence"] == []

    us.start(port=us.port)
    deadline = time.monotonic() + 30
    while sam.api(FRIENDS)["friendsPresence"]:
        assert time.monotonic() < deadline, "the unfriending never reached the US region"
        await asyncio.sleep(0.2)


async def test_a_person_erased_at_home_is_forgotten_by_their_friends_region(
    start_server: StartServer,
) -> None:
    server = start_server(REGIONS)
    greta, sam = person(server, "greta", "DE"), person(server, "sam", "US")
    befriend(greta, sam)
    greta.api(SEND_HUG, i={"to": sam.handle, "hugType": "WARM", "message": canary("bye")})
    assert [h["sender"]["handle"] for h in sam.api(INBOX)["inbox"]] == [greta.handle]

    greta.api("mutation($p: String!) { deleteAccount(password: $p) }", p=PASSWORD)

    deadline = time.monotonic() + 20
    while sam.api(FRIENDS)["friendsPresence"]:
        assert time.monotonic() < deadline, "the US region still shows the erased friend"
        await asyncio.sleep(0.2)
    # The hug stays in Sam's inbox, from "a deleted account", with nothing of Greta's.
    (hug,) = sam.api(INBOX)["inbox"]
    assert (hug["sender"]["handle"], hug["sender"]["displayName"], hug["message"]) == (
        "",
        "A deleted account",
        None,
    )
    assert sam.api(FEED)["friendsFeed"] == []


async def test_a_block_from_abroad_closes_a_board_socket_already_open_across_the_border(
    start_server: StartServer,
) -> None:
    """Sam (US) is on Greta's board (EU) through his own region's socket; he blocks her, in a
    pair his region decides, so the EU hears of it only through the copy: his socket is closed
    and the board is gone from his list, and her feed and page show nothing of him."""
    server = start_server(REGIONS)
    while True:
        eu, us = unique("greta"), unique("sam")
        if user_id_for(us) < user_id_for(eu):
            break
    greta, sam = person(server, "greta", "DE", handle=eu), person(server, "sam", "US", handle=us)
    befriend(greta, sam)
    board_id = greta.api(CREATE, t="Ours", d="")["createBoard"]["id"]
    greta.api(INVITE, b=board_id, h=sam.handle, r="EDITOR")
    async with raw_socket(server, board_id, sam.api.token) as ws:
        await synced(ws)  # the link to the EU room is open
        sam.api("mutation($h: String!) { blockUser(handle: $h) { status } }", h=greta.handle)
        code, _ = await close_code(ws)
    assert code == 4403
    assert sam.api("{ boards { id } }")["boards"] == []
    assert greta.api(FEED)["friendsFeed"] == []
    assert greta.api(FRIENDS)["friendsPresence"] == []
