"""The edge while its region's store is away, on the distributed topology: an edge
(`serve --edge-only`) and a worker on PostgreSQL (reached through a TCP proxy of the test's
own, stopped to cut the region off: a real fault that leaves the shared server alone) and a
private NATS. People keep checking in and hugging at the edge; every acknowledged check-in
arrives exactly once after the store returns, the held hug is delivered, and what the edge
held was never on its disk in clear. Also: the edge's cache of public profiles never shows a
stranger a profile the log has changed."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from hugmood.entrypoints.distributed import Topology, topology_env
from tests.conftest import POSTGRES_URL, unique
from tests.e2e.client import GraphQLClient, GraphQLFailure, User, befriend, log_in, register
from tests.e2e.server import free_port
from tests.e2e.tcp_proxy import TcpProxy
from tests.e2e.test_distributed import Edge, PrivateNats, _drop, _postgres_or_skip, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

RECORD = "mutation($i: RecordMoodInput!) { recordMood(input: $i) { id } }"
SEND_HUG = "mutation($i: SendHugInput!) { sendHug(input: $i) { id status } }"
INBOX = "{ inbox { id sender { handle } message } }"
ENTRY = "query($id: ID!) { moodEntry(id: $id) { id note } }"
HISTORY = "query($f: DateTime!, $t: DateTime!) { moodHistory(from: $f, to: $t) { entries { id } } }"
USER = "query($h: String!) { user(handle: $h) { profile { bio } relationship recentMoods { id } } }"
NOTE = "held-note-"


@dataclass
class Region:
    """One region (its store behind `proxy`) with one edge and one worker."""

    topology: Topology
    proxy: TcpProxy
    schema: str
    data_dir: Path

    def person(self, prefix: str) -> User:
        edge = Edge(self.topology.edges[0].url, httpx.Client(timeout=30.0))
        handle = unique(prefix)
        register(edge, handle)  # type: ignore[arg-type]
        return User(handle, GraphQLClient(edge, log_in(edge, handle)))  # type: ignore[arg-type]

    def metrics(self) -> str:
        return httpx.get(f"{self.topology.edges[0].url}/metrics", timeout=10).text


@pytest.fixture
def region(tmp_path: Path, machine_redis: tuple[str, str]) -> Iterator[Region]:
    asyncio.run(_postgres_or_skip())
    target = urlsplit(POSTGRES_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    proxy.start()
    nats = PrivateNats(tmp_path / "nats")
    nats.start()
    schema = unique("edge")
    prefix = unique("hme")
    redis_url, redis_prefix = machine_redis
    through_proxy = POSTGRES_URL.replace(f":{target.port or 5432}/", f":{proxy.port}/")
    env = topology_env(
        {
            "HUGMOOD_DATABASE_URL": through_proxy,
            "HUGMOOD_POSTGRES_SCHEMA": schema,
            "HUGMOOD_REDIS_URL": redis_url,
            "HUGMOOD_REDIS_PREFIX": f"hm:{redis_prefix}",
            "HUGMOOD_NATS_URL": nats.url,
            "HUGMOOD_NATS_STREAM": prefix.upper(),
            "HUGMOOD_NATS_SUBJECT_PREFIX": prefix,
            "HUGMOOD_DATA_DIR": str(tmp_path / "data"),
            "HUGMOOD_LOG_JSON": "true",
        }
    )
    topology = Topology(
        env, tmp_path / "logs", edge_ports=[free_port()], worker_ports=[free_port()]
    )
    try:
        topology.start()
        yield Region(topology, proxy, schema, tmp_path / "data")
    finally:
        if not proxy.running:
            proxy.start()  # the processes stop cleanly with their store reachable
        topology.stop()
        proxy.stop()
        nats.kill()
        asyncio.run(_drop(schema))


def check_in(user: User, entry_id: str, note: str) -> dict[str, Any] | GraphQLFailure:
    entry = {"id": entry_id, "moodType": "calm", "intensity": 0.5, "note": note}
    return user.api.attempt(RECORD, i={**entry, "recordedAt": datetime.now(UTC).isoformat()})


def held(outcome: dict[str, Any] | GraphQLFailure) -> bool:
    """Held by the edge: acknowledged with `QUEUED` (and `queued: true`)."""
    return (
        isinstance(outcome, GraphQLFailure)
        and outcome.code == "QUEUED"
        and outcome.extensions["queued"] is True
    )


async def stored_check_ins(schema: str, ids: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        rows = await conn.fetch(
            f'SELECT event_id::text AS id, COUNT(*) AS n FROM "{schema}".events'
            " WHERE event_type = 'MoodRecorded' AND event_id::text = ANY($1::text[])"
            " GROUP BY event_id",
            ids,
        )
        return {r["id"]: r["n"] for r in rows}
    finally:
        await conn.close()


def held_files(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (data_dir / "edge").glob("held.sqlite3*"))


def test_check_ins_and_a_hug_taken_while_the_store_is_away_arrive_exactly_once(
    region: Region,
) -> None:
    ann, ben = region.person("ann"), region.person("ben")
    befriend(ann, ben)
    before = str(uuid.uuid4())
    assert not isinstance(check_in(ann, before, "before the outage"), GraphQLFailure)

    region.proxy.stop()  # the region's store is away for edge and worker alike
    now = datetime.now(UTC)

    acknowledged: list[str] = []
    for n in range(12):
        for person in (ann, ben):
            entry_id = str(uuid.uuid4())
            assert held(check_in(person, entry_id, f"{NOTE}{n}"))
            acknowledged.append(entry_id)
    retry = check_in(ann, acknowledged[0], f"{NOTE}0")  # a retry: the same id, held once
    assert held(retry) and isinstance(retry, GraphQLFailure)
    assert retry.extensions["id"] == acknowledged[0]
    hug_id = str(uuid.uuid4())
    hug = ann.api.failure(
        SEND_HUG, i={"id": hug_id, "to": ben.handle, "hugType": "WARM", "message": "held hug"}
    )
    assert hug.code == "QUEUED"
    # Bad input is refused now, never held.
    bad = ann.api.failure(RECORD, i={"id": str(uuid.uuid4()), "moodType": "calm", "intensity": 7})
    assert bad.code == "VALIDATION"
    # Reads and other changes say the region is away, never a 500.
    assert ann.api.failure(ENTRY, id=before).code == "READ_ONLY"
    assert (
        ann.api.failure(HISTORY, f=(now - timedelta(days=1)).isoformat(), t=now.isoformat()).code
        == "READ_ONLY"
    )
    assert ann.api.failure("{ friendsFeed { id } }").code == "READ_ONLY"
    assert ann.api.failure(USER, h=ben.handle).code == "READ_ONLY"
    update = ann.api.failure('mutation { updateProfile(input: {bio: "x"}) { handle } }')
    assert update.code == "READ_ONLY"
    # Without a session the edge verified, nothing is taken.
    stranger = GraphQLClient(ann.api.server, "not-a-session")
    assert stranger.failure(RECORD, i={"moodType": "calm", "intensity": 0.5}).code in (
        "UNAUTHENTICATED",
        "READ_ONLY",
    )
    held_now = re.search(r"^hugmood_edge_held_now (\S+)$", region.metrics(), re.M)
    assert held_now is not None and float(held_now[1]) == len(acknowledged) + 1
    # What the edge holds is sealed on its disk: no note is there in clear.
    assert NOTE.encode() not in held_files(region.data_dir)

    region.proxy.start()  # the region returns

    def all_arrived() -> bool:
        stored = asyncio.run(stored_check_ins(region.schema, acknowledged))
        return len(stored) == len(acknowledged)

    eventually(all_arrived, "every acknowledged check-in is stored", deadline_s=90)
    stored = asyncio.run(stored_check_ins(region.schema, acknowledged))
    assert set(stored.values()) == {1}, "each acknowledged check-in is stored exactly once"
    assert ann.api(ENTRY, id=acknowledged[0])["moodEntry"]["note"] == f"{NOTE}0"

    def hug_delivered() -> bool:
        inbox = ben.api(INBOX)["inbox"]
        return any(h["id"] == hug_id for h in inbox)

    eventually(hug_delivered, "the held hug is in ben's inbox")
    forwarded = re.search(r"held_commands_total\{outcome=\"forwarded\"\} (\d+)", region.metrics())
    assert forwarded is not None and float(forwarded[1]) == len(acknowledged) + 1


USER_PAGE_BIO = "mutation($b: String!) { updateProfile(input: {bio: $b}) { bio } }"


def test_a_stranger_never_sees_a_public_profile_the_log_has_changed(region: Region) -> None:
    owner, stranger = region.person("own"), region.person("str")
    owner.api(USER_PAGE_BIO, b="first bio")
    for _ in range(3):  # the first view fills the cache, the others hit it
        page = stranger.api(USER, h=owner.handle)["user"]
        assert page["profile"]["bio"] == "first bio"
        assert page["relationship"] == "NONE"
    assert re.search(
        r'hugmood_edge_cache_lookups_total\{cache="public profile",result="hit"\} [1-9]',
        region.metrics(),
    )

    owner.api(USER_PAGE_BIO, b="second bio")
    assert stranger.api(USER, h=owner.handle)["user"]["profile"]["bio"] == "second bio"

    public = str(uuid.uuid4())
    owner.api(RECORD, i={"id": public, "moodType": "calm", "intensity": 0.4, "privacy": "PUBLIC"})
    recent = stranger.api(USER, h=owner.handle)["user"]["recentMoods"]
    assert [m["id"] for m in recent] == [public]

    owner.api("mutation($h: String!) { blockUser(handle: $h) { status } }", h=stranger.handle)
    blocked = stranger.api.failure(USER, h=owner.handle)
    assert blocked.code == "NOT_FOUND"


def test_what_an_edge_held_is_forwarded_after_the_edge_is_sigkilled(region: Region) -> None:
    ann = region.person("ann")
    ann.api("{ me { handle } }")  # the edge has seen the region vouch for her session
    region.proxy.stop()
    acknowledged = [str(uuid.uuid4()) for _ in range(6)]
    for n, entry_id in enumerate(acknowledged):
        assert held(check_in(ann, entry_id, f"{NOTE}{n}"))
    edge = region.topology.edges[0]
    edge.kill()  # with everything still held: only the edge's file has it
    region.proxy.start()
    edge.start()
    edge.wait_until_healthy()

    def all_arrived() -> bool:
        return len(asyncio.run(stored_check_ins(region.schema, acknowledged))) == len(acknowledged)

    eventually(all_arrived, "every check-in held before the SIGKILL is stored", deadline_s=90)
    assert set(asyncio.run(stored_check_ins(region.schema, acknowledged)).values()) == {1}


def test_check_ins_sent_while_the_store_is_cut_mid_load_arrive_exactly_once(
    region: Region,
) -> None:
    people = [region.person("ann"), region.person("ben")]
    for person in people:
        person.api("{ me { handle } }")
    acknowledged: list[str] = []
    held_count = 0
    retry_later: list[tuple[User, str, int]] = []
    unexpected: list[str] = []
    stop = threading.Event()

    def keep_checking_in(person: User) -> None:
        nonlocal held_count
        n = 0
        while not stop.is_set():
            entry_id = str(uuid.uuid4())
            outcome = check_in(person, entry_id, f"{NOTE}{n}")
            n += 1
            if not isinstance(outcome, GraphQLFailure):
                acknowledged.append(entry_id)
            elif held(outcome):
                acknowledged.append(entry_id)
                held_count += 1
            elif outcome.code == "READ_ONLY":
                # Not acknowledged (stored or not, the read-back failed): the device tries
                # again with the same id.
                retry_later.append((person, entry_id, n - 1))
            else:
                unexpected.append(str(outcome))

    writers = [threading.Thread(target=keep_checking_in, args=(p,)) for p in people]
    for writer in writers:
        writer.start()
    try:
        eventually(lambda: len(acknowledged) >= 10, "check-ins stored before the cut")
        region.proxy.stop()  # mid-load: requests in flight lose their connections
        eventually(lambda: held_count >= 10, "check-ins held while the store is away")
        region.proxy.start()
        before = len(acknowledged)
        eventually(lambda: len(acknowledged) >= before + 10, "check-ins after the return")
    finally:
        stop.set()
        for writer in writers:
            writer.join(30)
    assert unexpected == []
    for person, entry_id, n in retry_later:
        retried = check_in(person, entry_id, f"{NOTE}{n}")
        assert not isinstance(retried, GraphQLFailure) or held(retried)
        acknowledged.append(entry_id)

    def all_arrived() -> bool:
        return len(asyncio.run(stored_check_ins(region.schema, acknowledged))) == len(acknowledged)

    eventually(all_arrived, "every acknowledged check-in is stored", deadline_s=90)
    assert set(asyncio.run(stored_check_ins(region.schema, acknowledged)).values()) == {1}
