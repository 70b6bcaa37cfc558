"""Two server processes sharing one PostgreSQL schema and one Redis, and what survives Redis
going away.

Each process follows the event log in PostgreSQL itself and pushes hugs and check-ins to its
own sockets, so hugs cross processes through the log; presence and its announcements cross
through the Redis hub. The machine's Redis (HUGMOOD_TEST_REDIS_URL, default
redis://127.0.0.1:6379) serves the first tests under a key prefix of their own; the
degradation test starts a private `redis-server` on a free port, kills it mid-test and starts
it again on the same port. Without Redis or PostgreSQL these tests skip, or fail under CI=true.

Waits are bounded: socket reads time out (`tests.e2e.ws`), and the one thing that has no
event to wait for (the processes finding Redis again) is polled against a deadline.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from websockets.asyncio.client import ClientConnection

from hugmood.privacy.keys.master import new_master_key_text
from tests.conftest import IN_CI, POSTGRES_URL, unique
from tests.e2e.client import GraphQLClient, User, befriend, record_mood, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.ws import init, next_data, open_socket, subscribe
from tests.integration.test_redis_hub_degradation import RedisProcess

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

HUG_RECEIVED = "subscription { hugReceived { id status hugType sender { handle } } }"
HUG_STATUS = "subscription { hugStatusChanged { id status } }"
FRIEND_MOODS = "subscription { friendMoodRecorded { id moodType author { handle } } }"
FRIEND_PRESENCE = "subscription { friendPresence { profile { handle } status view } }"
FRIENDS_PRESENCE = "{ friendsPresence { profile { handle } status view } }"
SEND_HUG = "mutation($i: SendHugInput!) { sendHug(input: $i) { id status } }"
SENT_HUGS = "{ sentHugs(limit: 50) { id status recipient { handle } } }"

# Every process must accept the sessions the others issued: one key for all of them (in
# development each data dir would otherwise generate its own).
SECRET_KEY = "two-processes-one-secret-key-for-all-sessions"
RECONNECT_DEADLINE_S = 20.0
"""How long both processes may take to find a restarted Redis (their backoff caps at 2 s)."""
STREAM_DEADLINE_S = 20.0
POLL_S = 0.05

T = TypeVar("T")
Presence = tuple[str, str, str | None]
"""(handle, status, view) as a friend sees it."""
FriendsNow = dict[str, tuple[str, str | None]]
"""`friendsPresence`: handle → (status, view)."""


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def redis_executable() -> str:
    """`redis-server` for the private Redis; missing skips (fails under CI=true)."""
    executable = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(executable).exists():
        message = "redis-server is not installed (apt-get install redis-server)"
        if IN_CI:
            pytest.fail(message + " (CI=true: service-backed tests must run)")
        pytest.skip(message)
    return executable


@pytest.fixture
async def private_redis(redis_executable: str, tmp_path: Path) -> AsyncIterator[RedisProcess]:
    """A `redis-server --save "" --appendonly no` on a free port, owned by this test."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisProcess(redis_executable, directory)
    try:
        await server.start()
        yield server
    finally:
        await server.kill()


MASTER_KEY = new_master_key_text()
"""One master key for the deployment: the processes share the data keys it wraps."""


def shared(schema: str, redis_url: str, prefix: str) -> dict[str, str]:
    """Settings that make processes one deployment: one schema, one Redis prefix, one key."""
    return {
        "HUGMOOD_DATABASE_URL": POSTGRES_URL,
        "HUGMOOD_POSTGRES_SCHEMA": schema,
        "HUGMOOD_REDIS_URL": redis_url,
        "HUGMOOD_REDIS_PREFIX": prefix,
        "HUGMOOD_SECRET_KEY": SECRET_KEY,
        "HUGMOOD_MASTER_KEY": MASTER_KEY,
    }


def two_processes(
    start_server: StartServer, settings: dict[str, str]
) -> tuple[HugMoodServer, HugMoodServer]:
    # One after the other: the first creates the schema, the second finds it.
    a, b = start_server(settings), start_server(settings)
    assert a.port != b.port
    return a, b


# -- helpers -------------------------------------------------------------------------------


def on(server: HugMoodServer, user: User) -> GraphQLClient:
    """The user's session, used through the given process's HTTP API."""
    return GraphQLClient(server, user.api.token)


def send_hug(sender: GraphQLClient, to: User, hug_type: str) -> str:
    sent: dict[str, Any] = sender(SEND_HUG, i={"to": to.handle, "hugType": hug_type})["sendHug"]
    assert sent["status"] == "SENT", sent
    hug_id: str = sent["id"]
    return hug_id


async def connect(ws: ClientConnection, user: User, device: str) -> None:
    assert (await init(ws, user.api.token, device=device))["type"] == "connection_ack"


async def next_hug(ws: ClientConnection) -> tuple[str, str, str]:
    """(id, hug type, sender) of the next hug pushed to a `hugReceived` subscription "h"."""
    hug = (await next_data(ws, "h"))["hugReceived"]
    return hug["id"], hug["hugType"], hug["sender"]["handle"]


async def status_reaches(ws: ClientConnection, hug_id: str, status: str) -> None:
    """Read `hugStatusChanged` ("s") until this hug has this status (others are skipped:
    earlier hugs' changes may come first)."""
    async with asyncio.timeout(STREAM_DEADLINE_S):
        while (await next_data(ws, "s"))["hugStatusChanged"] != {"id": hug_id, "status": status}:
            pass


async def next_presence(ws: ClientConnection) -> Presence:
    p = (await next_data(ws, "p"))["friendPresence"]
    return p["profile"]["handle"], p["status"], p["view"]


async def presences(ws: ClientConnection, count: int) -> set[Presence]:
    """The next `count` presence messages, as a set (friends come in no particular order)."""
    return {await next_presence(ws) for _ in range(count)}


def friends_presence(api: GraphQLClient) -> FriendsNow:
    return {
        p["profile"]["handle"]: (p["status"], p["view"])
        for p in api(FRIENDS_PRESENCE)["friendsPresence"]
    }


def sent_hugs(api: GraphQLClient) -> dict[str, tuple[str, str]]:
    """`sentHugs` as id → (recipient, status)."""
    return {h["id"]: (h["recipient"]["handle"], h["status"]) for h in api(SENT_HUGS)["sentHugs"]}


async def eventually(probe: Callable[[], T], expected: T, timeout_s: float, what: str) -> None:
    """Poll `probe()` (a quick HTTP read) until it returns `expected`, failing at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (value := probe()) != expected:
        if loop.time() > deadline:
            pytest.fail(f"{what}: still {value!r} after {timeout_s} s, expected {expected!r}")
        await asyncio.sleep(POLL_S)  # a poll interval, not a synchronisation


# -- tests ---------------------------------------------------------------------------------


async def test_a_hug_sent_through_one_process_reaches_a_friend_connected_to_the_other(
    pg_schema: str, machine_redis: tuple[str, str], start_server: StartServer
) -> None:
    a, b = two_processes(start_server, shared(pg_schema, *machine_redis))
    ann, ben = sign_up(a, "ann"), sign_up(a, "ben")
    befriend(ann, ben)
    # Sent before ben connects: it waits in his inbox (store-and-forward, across processes).
    waiting = send_hug(on(a, ann), ben, "CALM")

    async with open_socket(a) as ann_ws, open_socket(b) as ben_ws:
        await connect(ann_ws, ann, "ann-phone")
        await subscribe(ann_ws, "s", HUG_STATUS)
        await connect(ben_ws, ben, "ben-phone")
        await subscribe(ben_ws, "m", FRIEND_MOODS)
        await subscribe(ben_ws, "h", HUG_RECEIVED)
        # hugReceived listens before it reads the inbox: once the waiting hug is here, the
        # live subscriptions on B are in place.
        assert await next_hug(ben_ws) == (waiting, "CALM", ann.handle)
        await status_reaches(ann_ws, waiting, "DELIVERED")

        live = send_hug(on(a, ann), ben, "CELEBRATION")
        assert await next_hug(ben_ws) == (live, "CELEBRATION", ann.handle)
        # B records the delivery in the log; A's relay follows the log and tells ann.
        await status_reaches(ann_ws, live, "DELIVERED")

        # A check-in through A reaches ben's socket on B; a private one does not.
        record_mood(ann, moodType="sad", intensity=0.3, privacy="PRIVATE")
        shared_entry = record_mood(ann, moodType="calm", intensity=0.6, privacy="FRIENDS_ONLY")
        assert (await next_data(ben_ws, "m"))["friendMoodRecorded"] == {
            "id": shared_entry["id"],
            "moodType": "calm",
            "author": {"handle": ann.handle},
        }

    expected = {waiting: (ben.handle, "DELIVERED"), live: (ben.handle, "DELIVERED")}
    assert sent_hugs(on(a, ann)) == sent_hugs(on(b, ann)) == expected


async def test_both_processes_report_the_same_presence(
    pg_schema: str, machine_redis: tuple[str, str], start_server: StartServer
) -> None:
    a, b = two_processes(start_server, shared(pg_schema, *machine_redis))
    ann, ben = sign_up(a, "ann"), sign_up(a, "ben")
    befriend(ann, ben)
    ann_on_a, ann_on_b = on(a, ann), on(b, ann)

    async with open_socket(a) as watcher:
        await connect(watcher, ann, "ann-laptop")
        await subscribe(watcher, "p", FRIEND_PRESENCE)
        assert await next_presence(watcher) == (ben.handle, "OFFLINE", None)

        async with open_socket(b) as ben_ws:
            await connect(ben_ws, ben, "ben-phone")
            # Announced by B, heard on A through Redis.
            assert await next_presence(watcher) == (ben.handle, "ONLINE", None)
            online = {ben.handle: ("ONLINE", None)}
            assert friends_presence(ann_on_a) == friends_presence(ann_on_b) == online

            await subscribe(ben_ws, "hb", 'mutation { heartbeat(status: AWAY, view: "/hugs") }')
            assert (await next_data(ben_ws, "hb"))["heartbeat"] == "AWAY"
            assert await next_presence(watcher) == (ben.handle, "AWAY", "/hugs")
            away = {ben.handle: ("AWAY", "/hugs")}
            assert friends_presence(ann_on_a) == friends_presence(ann_on_b) == away

        # ben's only socket, on B, closed: A's subscriber sees him go.
        assert await next_presence(watcher) == (ben.handle, "OFFLINE", None)
        offline = {ben.handle: ("OFFLINE", None)}
        assert friends_presence(ann_on_a) == friends_presence(ann_on_b) == offline


async def test_a_block_on_one_process_stops_presence_streaming_on_the_other(
    pg_schema: str, machine_redis: tuple[str, str], start_server: StartServer
) -> None:
    a, b = two_processes(start_server, shared(pg_schema, *machine_redis))
    ann, ben, cat = sign_up(a, "ann"), sign_up(a, "ben"), sign_up(a, "cat")
    befriend(ann, ben)
    befriend(ann, cat)

    async with open_socket(a) as watcher, open_socket(b) as ben_ws:
        await connect(watcher, ann, "ann-laptop")
        await subscribe(watcher, "p", FRIEND_PRESENCE)
        assert {p[0] for p in await presences(watcher, 2)} == {ben.handle, cat.handle}
        await connect(ben_ws, ben, "ben-phone")
        assert await next_presence(watcher) == (ben.handle, "ONLINE", None)

        # Ben blocks ann through B; his next moves, announced by B, must not reach her on A.
        on(b, ben)(f'mutation {{ blockUser(handle: "{ann.handle}") {{ status }} }}')
        await subscribe(ben_ws, "hb", 'mutation { heartbeat(status: AWAY, view: "/secret") }')
        assert (await next_data(ben_ws, "hb"))["heartbeat"] == "AWAY"
        await ben_ws.close()
        async with open_socket(b) as cat_ws:
            await connect(cat_ws, cat, "cat-phone")
            assert await next_presence(watcher) == (cat.handle, "ONLINE", None)
        assert await next_presence(watcher) == (cat.handle, "OFFLINE", None)
        assert (
            friends_presence(on(a, ann))
            == friends_presence(on(b, ann))
            == {cat.handle: ("OFFLINE", None)}
        )


async def test_without_redis_each_process_still_delivers_and_shares_again_when_it_returns(
    pg_schema: str, private_redis: RedisProcess, start_server: StartServer
) -> None:
    a, b = two_processes(start_server, shared(pg_schema, private_redis.url, unique("degrade")))
    ann, ben, cat, dan = (sign_up(a, name) for name in ("ann", "ben", "cat", "dan"))
    for friend in (ben, cat, dan):
        befriend(ann, friend)
    ann_on_a, ann_on_b = on(a, ann), on(b, ann)

    async with (
        open_socket(a) as watcher,  # ann, following her friends' presence on A
        open_socket(a) as ben_ws,  # ben's hugs, on A
        open_socket(b) as cat_ws,  # cat's hugs, on B
    ):
        await connect(watcher, ann, "ann-laptop")
        await subscribe(watcher, "p", FRIEND_PRESENCE)
        assert await presences(watcher, 3) == {
            (friend.handle, "OFFLINE", None) for friend in (ben, cat, dan)
        }
        await connect(ben_ws, ben, "ben-phone")
        assert await next_presence(watcher) == (ben.handle, "ONLINE", None)
        await connect(cat_ws, cat, "cat-phone")
        assert await next_presence(watcher) == (cat.handle, "ONLINE", None)  # through Redis
        await subscribe(ben_ws, "h", HUG_RECEIVED)
        await subscribe(cat_ws, "h", HUG_RECEIVED)
        # One hug each while Redis is up; once it arrives, that socket's live subscription
        # is in place (hugReceived listens before it reads the inbox).
        before = {
            send_hug(ann_on_a, ben, "WARM"): ben.handle,
            send_hug(ann_on_a, cat, "WARM"): cat.handle,
        }
        assert {(await next_hug(ben_ws))[0], (await next_hug(cat_ws))[0]} == set(before)

        await private_redis.kill()

        # Within each process, and across them through the log in PostgreSQL.
        a_to_a = send_hug(ann_on_a, ben, "STRENGTH")
        assert await next_hug(ben_ws) == (a_to_a, "STRENGTH", ann.handle)
        b_to_b = send_hug(ann_on_b, cat, "COMFORTING")
        assert await next_hug(cat_ws) == (b_to_b, "COMFORTING", ann.handle)
        a_to_b = send_hug(ann_on_a, cat, "CALM")
        assert await next_hug(cat_ws) == (a_to_b, "CALM", ann.handle)
        # Stored durably, and their deliveries recorded, whichever process is asked.
        during = {a_to_a: ben.handle, b_to_b: cat.handle, a_to_b: cat.handle}
        expected = {h: (to, "DELIVERED") for h, to in (before | during).items()}
        await eventually(lambda: sent_hugs(ann_on_a), expected, STREAM_DEADLINE_S, "sentHugs on A")
        assert sent_hugs(ann_on_b) == expected

        # Presence inside one process: dan comes and goes on A, ann's subscription on A sees it.
        async with open_socket(a) as dan_ws:
            await connect(dan_ws, dan, "dan-phone")
            assert await next_presence(watcher) == (dan.handle, "ONLINE", None)
            # (cat, connected to B, is not asserted here: without Redis, A knows only its own.)
            now_on_a = friends_presence(ann_on_a)
            assert (now_on_a[ben.handle], now_on_a[dan.handle]) == (
                ("ONLINE", None),
                ("ONLINE", None),
            )
        assert await next_presence(watcher) == (dan.handle, "OFFLINE", None)

        await private_redis.start()  # same port, empty

        # Each process writes its own devices back once it has reconnected: then each sees
        # the other's again.
        all_online: FriendsNow = {
            ben.handle: ("ONLINE", None),
            cat.handle: ("ONLINE", None),
            dan.handle: ("OFFLINE", None),
        }
        await eventually(
            lambda: friends_presence(ann_on_a), all_online, RECONNECT_DEADLINE_S, "presence on A"
        )
        await eventually(
            lambda: friends_presence(ann_on_b), all_online, RECONNECT_DEADLINE_S, "presence on B"
        )
        # Announcements cross again: cat leaves B, ann's subscription on A hears it.
        await cat_ws.close()
        assert await next_presence(watcher) == (cat.handle, "OFFLINE", None)
        assert friends_presence(ann_on_a)[cat.handle] == ("OFFLINE", None)
        assert friends_presence(ann_on_b)[cat.handle] == ("OFFLINE", None)
