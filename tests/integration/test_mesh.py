"""The service mesh on the machine's NATS (HUGMOOD_TEST_NATS_URL): instances discovered and
sharing requests, an instance SIGKILLed while requests flow (answered or clearly failed, none
executed twice), each service authorising its caller as GraphQL would, signatures that cannot
be forged, replayed or moved, bad input answered with specific errors, and `hugmood services`.

Each test uses a subject prefix of its own, so runs sharing the server do not see each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from nats.aio.client import Client
from nats.micro.request import ERROR_CODE_HEADER, ERROR_HEADER
from prometheus_client import generate_latest

from hugmood.application.heavy_reads import LocalReads
from hugmood.application.queries import moods as mq
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import boards as bd
from hugmood.domain import identity as idm
from hugmood.domain import moods as md
from hugmood.domain import social as sc
from hugmood.domain.errors import NotFound
from hugmood.domain.history import Aggregation
from hugmood.mesh.client import MeshClient
from hugmood.mesh.errors import NoInstance, OutcomeUnknown, Refused
from hugmood.mesh.identity import USER_HEADER, RequestSigner, mesh_key
from hugmood.mesh.readside import NO_SUCH_BOARD, NO_SUCH_USER
from hugmood.mesh.service import MeshServices, endpoint_subject
from hugmood.mesh.start import edge_reads, start_mesh_services
from hugmood.observability.metrics import Metrics
from tests.conftest import unique
from tests.integration.mesh_process import REGION, ledger_service, serve

SECRET = "a test secret of more than thirty-two characters"
DEADLINE_S = 15.0
USER = str(uuid.uuid4())


async def eventually(probe: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while not await probe():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting: {what}"
        await asyncio.sleep(0.05)


def signer(secret: str = SECRET, region: str = REGION, **kwargs: Any) -> RequestSigner:
    return RequestSigner(mesh_key(secret, region), "test:caller", **kwargs)


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[Client]:
    nc = await nats.connect(url, max_reconnect_attempts=0)
    try:
        yield nc
    finally:
        await nc.close()


@contextlib.asynccontextmanager
async def ledger_instance(
    url: str, prefix: str, name: str, ledger: Path | None = None
) -> AsyncIterator[MeshServices]:
    async with (
        connected(url) as nc,
        serve(nc, prefix, SECRET, ledger_service(name, ledger), name) as services,
    ):
        yield services


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


async def raw_request(nc: Client, subject: str, body: bytes, headers: dict[str, str]) -> Any:
    """A request as any NATS client could send it: the answer, or (code, description)."""
    reply = await nc.request(subject, body, timeout=5, headers=headers)
    if reply.headers and reply.headers.get(ERROR_CODE_HEADER):
        return reply.headers[ERROR_CODE_HEADER], reply.headers[ERROR_HEADER]
    return orjson.loads(reply.data)


# --- discovery and load balancing -------------------------------------------------------


async def test_two_instances_are_discovered_and_both_serve(nats_url: str) -> None:
    prefix = unique("mesh")
    async with (
        ledger_instance(nats_url, prefix, "one"),
        ledger_instance(nats_url, prefix, "two"),
        ledger_instance(nats_url, unique("elsewhere"), "other-mesh"),
        connected(nats_url) as nc,
    ):
        client = MeshClient(nc, signer(), region=REGION, subject_prefix=prefix)

        found = await client.discover("ledger")
        answers = await asyncio.gather(
            *(
                client.request("ledger", "read", {}, user_id=USER, idempotent=True)
                for _ in range(40)
            )
        )

    assert sorted(i.metadata["process"] for i in found) == ["one", "two"]
    assert {i.version for i in found} == {"1.0.0"}
    served = Counter(a["instance"] for a in answers)
    assert set(served) == {"one", "two"}, f"the queue group sent every request to one: {served}"
    assert {a["user"] for a in answers} == {USER}


# --- an instance killed while requests flow ---------------------------------------------


async def start_instance(
    url: str, prefix: str, ledger: Path, name: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.mesh_process",
        *(url, prefix, SECRET, str(ledger), name),
        cwd=Path(__file__).parents[2],
    )


async def test_an_instance_killed_mid_stream_answers_or_fails_each_request_and_runs_none_twice(
    nats_url: str, tmp_path: Path
) -> None:
    prefix = unique("mesh")
    victim_ledger, survivor_ledger = tmp_path / "victim", tmp_path / "survivor"
    victim = await start_instance(nats_url, prefix, victim_ledger, "victim")
    survivor = await start_instance(nats_url, prefix, survivor_ledger, "survivor")
    try:
        async with connected(nats_url) as nc:
            client = MeshClient(
                nc,
                signer(),
                region=REGION,
                subject_prefix=prefix,
                deadline_s=4.0,
                attempt_timeout_s=0.5,
            )

            async def both_up() -> bool:
                return len(await client.discover("ledger")) == 2

            await eventually(both_up, "both instances answer a ping")

            tickets = [f"t{i:03d}" for i in range(24)]
            outcomes: dict[str, str] = {}
            reads: list[str] = []
            records_slots, reads_done = asyncio.Semaphore(4), asyncio.Event()

            async def record(ticket: str) -> None:
                async with records_slots:
                    try:
                        answer = await client.request(
                            "ledger", "record", {"ticket": ticket}, user_id=USER
                        )
                        outcomes[ticket] = answer["instance"]
                    except OutcomeUnknown:
                        outcomes[ticket] = "unknown"
                    except NoInstance:
                        outcomes[ticket] = "unavailable"

            async def keep_reading() -> None:
                while not reads_done.is_set():
                    answer = await client.request(
                        "ledger", "read", {}, user_id=USER, idempotent=True
                    )
                    reads.append(answer["instance"])

            async def kill_with_one_executed_but_unanswered() -> str:
                while True:
                    done_by_victim = [t for t, o in outcomes.items() if o == "victim"]
                    unanswered = [t for t in lines(victim_ledger) if t not in outcomes]
                    if len(done_by_victim) >= 2 and unanswered and reads.count("victim"):
                        victim.send_signal(signal.SIGKILL)
                        return unanswered[-1]
                    await asyncio.sleep(0.005)

            readers = [asyncio.create_task(keep_reading()) for _ in range(3)]
            killer = asyncio.create_task(kill_with_one_executed_but_unanswered())
            await asyncio.gather(*(record(t) for t in tickets))
            in_flight = await killer
            reads_before_end = len(reads)
            await asyncio.sleep(0.3)
            reads_done.set()
            await asyncio.gather(*readers)
    finally:
        for process in (victim, survivor):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    executions = Counter(lines(victim_ledger) + lines(survivor_ledger))
    assert set(outcomes) == set(tickets), "a request neither answered nor failed"
    assert max(executions.values()) == 1, f"executed twice: {executions.most_common(3)}"
    assert set(outcomes.values()) <= {"victim", "survivor", "unknown"}, "the survivor was idle"
    assert all(executions[t] == 1 for t, o in outcomes.items() if o != "unknown")
    assert outcomes[in_flight] == "unknown", "an executed, unanswered request was not reported"
    assert executions[in_flight] == 1
    assert any(o == "survivor" for o in outcomes.values())
    # Reads are idempotent: the ones the victim took with it were asked again, all answered.
    assert reads_before_end > 0 and {"victim", "survivor"} <= set(reads)


async def test_an_instance_stopped_mid_request_finishes_it_and_sends_the_rest_elsewhere(
    nats_url: str, tmp_path: Path
) -> None:
    prefix = unique("mesh")
    ledgers = {name: tmp_path / name for name in ("one", "two")}
    async with contextlib.AsyncExitStack() as stack, connected(nats_url) as nc:
        instances = {name: contextlib.AsyncExitStack() for name in ledgers}
        for name, instance in instances.items():
            await instance.enter_async_context(
                ledger_instance(nats_url, prefix, name, ledgers[name])
            )
            stack.push_async_callback(instance.aclose)
        client = MeshClient(nc, signer(), region=REGION, subject_prefix=prefix, deadline_s=4.0)
        first = asyncio.create_task(
            client.request("ledger", "record", {"ticket": "first"}, user_id=USER)
        )

        async def running_somewhere() -> bool:
            return any("first" in lines(ledger) for ledger in ledgers.values())

        await eventually(running_somewhere, "the first request to start")
        [busy] = [name for name, ledger in ledgers.items() if "first" in lines(ledger)]
        stopped = asyncio.create_task(instances[busy].aclose())
        later = [
            await client.request("ledger", "record", {"ticket": f"later-{i}"}, user_id=USER)
            for i in range(4)
        ]
        answered = await first
        await stopped

    [other] = set(ledgers) - {busy}
    assert answered == {"ticket": "first", "instance": busy}, "the in-flight request was dropped"
    assert {a["instance"] for a in later} == {other}
    executions = Counter(lines(ledgers["one"]) + lines(ledgers["two"]))
    assert executions == Counter(["first", "later-0", "later-1", "later-2", "later-3"])


# --- authorisation by the service itself -------------------------------------------------


async def people(core: HugMood, *names: str) -> list[str]:
    ids = []
    for name in names:
        handle = unique(name)
        await core.bus.handle(idm.RegisterUser(handle, name, "a good password", "eu-west"))
        ids.append(idm.user_id_for(handle))
    return ids


async def test_history_and_snapshots_are_answered_only_as_graphql_would(
    nats_url: str, tmp_path: Path
) -> None:
    prefix = unique("mesh")
    settings = Settings(
        database_url="memory", data_dir=tmp_path, secret_key=SECRET, nats_subject_prefix=prefix
    )
    app_metrics = Metrics()
    async with open_hugmood(settings) as core, connected(nats_url) as nc:
        ann, ben, cat, dan = await people(core, "ann", "ben", "cat", "dan")
        await core.bus.handle(sc.RequestFriendship(ann, ben))
        await core.bus.handle(sc.AcceptFriendship(ben, ann))
        await core.bus.handle(sc.BlockUser(ann, dan))
        entries = {}
        for privacy in ("private", "friends-only", "public"):
            entries[privacy] = str(uuid.uuid4())
            await core.bus.handle(
                md.RecordMood(entries[privacy], ann, "calm", 0.5, privacy=privacy)
            )
        board_id = (await core.bus.handle(bd.CreateBoard(str(uuid.uuid4()), ann, "Week 12"))).value
        await core.bus.handle(bd.InviteMember(board_id, ann, ben, "viewer"))

        async with start_mesh_services(core, nc, kind="worker") as mesh:
            app_metrics.watch_services([mesh])
            client = MeshClient(nc, signer(), region=REGION, subject_prefix=prefix)
            now = datetime.now(UTC)
            span = {
                "from": (now - timedelta(days=1)).isoformat(),
                "to": (now + timedelta(days=1)).isoformat(),
            }

            async def history(viewer: str | None, owner: str) -> set[str]:
                answer = await client.request(
                    "moods", "history", {**span, "ownerId": owner}, user_id=viewer, idempotent=True
                )
                return {e["entryId"] for e in answer["entries"]}

            async def refusal(call: Awaitable[Any]) -> tuple[str, str]:
                with pytest.raises(Refused) as refused:
                    await call
                return refused.value.code, refused.value.description

            seen = {viewer: await history(viewer, ann) for viewer in (ann, ben, cat)}
            local = {
                viewer: {
                    e.entry_id
                    for e in await mq.mood_history(
                        core.readmodels,
                        viewer_id=viewer,
                        owner_id=ann,
                        start=now - timedelta(days=1),
                        end=now + timedelta(days=1),
                        aggregation=Aggregation.NONE,
                        zone=mq.time_zone("UTC"),
                    )
                    if isinstance(e, mq.MoodEntryView)
                }
                for viewer in (ann, ben, cat)
            }
            blocked = await refusal(history(dan, ann))
            unknown_owner = await refusal(history(cat, str(uuid.uuid4())))
            nobody = await refusal(history(None, ann))

            def snapshot(viewer: str, board: str) -> Awaitable[Any]:
                return client.request(
                    "boards", "snapshot", {"boardId": board}, user_id=viewer, idempotent=True
                )

            member = await snapshot(ben, board_id)
            outsider = await refusal(snapshot(cat, board_id))
            no_board = await refusal(snapshot(ben, str(uuid.uuid4())))
            not_an_id = await refusal(snapshot(ben, "not-a-board"))
            status = await client.request("worker", "status", {}, user_id=None, idempotent=True)
        metrics = generate_latest(app_metrics.registry).decode()

    assert seen[ann] == set(entries.values())
    assert seen[ben] == {entries["friends-only"], entries["public"]}
    assert seen[cat] == {entries["public"]}
    assert seen == local, "the mesh answers differently from the query GraphQL uses"
    assert blocked == ("404", NO_SUCH_USER) == unknown_owner
    assert nobody[0] == "401"
    assert member["role"] == "viewer" and member["snapshot"]["items"] == []
    assert outsider == ("404", NO_SUCH_BOARD) == no_board
    assert not_an_id[0] == "400" and "boardId" in not_an_id[1]
    assert status["kind"] == "worker" and "read models" in {s["name"] for s in status["services"]}
    assert (
        'hugmood_mesh_requests_total{code="200",endpoint="history",service="moods"} 3.0' in metrics
    )
    assert (
        'hugmood_mesh_requests_total{code="404",endpoint="snapshot",service="boards"} 2.0'
        in metrics
    )
    assert 'hugmood_mesh_request_seconds_count{endpoint="history",service="moods"} 6.0' in metrics


class CountingReads(LocalReads):
    """The edge's own answers, counted: how often the mesh could not answer."""

    calls = 0

    async def mood_history(self, **kwargs: Any) -> Any:
        self.calls += 1
        return await super().mood_history(**kwargs)

    async def board_snapshot(self, **kwargs: Any) -> Any:
        self.calls += 1
        return await super().board_snapshot(**kwargs)


async def test_an_edge_reads_through_the_workers_as_it_would_locally_and_alone_when_none_are_up(
    nats_url: str, tmp_path: Path
) -> None:
    prefix = unique("mesh")
    settings = Settings(
        database_url="memory", data_dir=tmp_path, secret_key=SECRET, nats_subject_prefix=prefix
    )
    async with open_hugmood(settings) as core, connected(nats_url) as nc:
        ann, ben, cat = await people(core, "ann", "ben", "cat")
        await core.bus.handle(sc.RequestFriendship(ann, ben))
        await core.bus.handle(sc.AcceptFriendship(ben, ann))
        for n, privacy in enumerate(("private", "friends-only", "public", "friends-only")):
            entry = md.RecordMood(
                str(uuid.uuid4()), ann, ("calm", "happy")[n % 2], 0.5, privacy=privacy
            )
            await core.bus.handle(entry)
        board_id = (await core.bus.handle(bd.CreateBoard(str(uuid.uuid4()), ann, "Week 12"))).value
        await core.bus.handle(bd.InviteMember(board_id, ann, ben, "editor"))
        local = LocalReads(core.readmodels, core.boards)
        edge_local = CountingReads(core.readmodels, core.boards)
        now = datetime.now(UTC)
        asks: list[dict[str, Any]] = [
            {
                "viewer_id": viewer,
                "owner_id": ann,
                "start": now - timedelta(days=2),
                "end": now + timedelta(days=1),
                "aggregation": aggregation,
                "zone": mq.time_zone("Europe/Paris"),
            }
            for viewer in (ann, ben, cat)
            for aggregation in (Aggregation.NONE, Aggregation.DAY)
        ]

        async with start_mesh_services(core, nc, kind="worker") as worker:
            reads = edge_reads(settings, worker, edge_local)
            remote = [await reads.mood_history(**ask) for ask in asks]
            remote_board = await reads.board_snapshot(viewer_id=ben, board_id=board_id)
            with pytest.raises(NotFound, match="not a member"):
                await reads.board_snapshot(viewer_id=cat, board_id=board_id)
            answered_here_while_up = edge_local.calls
        alone = await reads.mood_history(**asks[2])

        expected = [await local.mood_history(**ask) for ask in asks]
        expected_board = await local.board_snapshot(viewer_id=ben, board_id=board_id)

    assert answered_here_while_up == 0, "the edge answered itself though a worker was up"
    assert remote == expected, "the workers' answers differ from the query's"
    assert [len(r) for r in remote[::2]] == [4, 3, 1]
    assert remote_board == expected_board
    assert alone == expected[2] and edge_local.calls == 1


async def delete_streams(url: str, prefix: str) -> None:
    """The streams (and KV buckets) a server configured with `prefix` created."""
    async with connected(url) as nc:
        js = nc.jetstream()
        for info in await js.streams_info():
            name = info.config.name or ""
            if name.startswith((prefix.upper(), f"KV_{prefix.upper()}")):
                await js.delete_stream(name)


async def test_a_server_configured_with_nats_serves_the_mesh_and_exports_its_metrics(
    nats_url: str, tmp_path: Path
) -> None:
    prefix = unique("mesh").replace("_", "")
    settings = Settings(
        database_url="memory",
        data_dir=tmp_path,
        secret_key=SECRET,
        nats_url=nats_url,
        nats_stream=prefix.upper(),
        nats_subject_prefix=prefix,
        nats_storage="memory",
    )
    app_metrics = Metrics()
    try:
        async with open_hugmood(settings) as core, connected(nats_url) as nc:
            app_metrics.watch_services(core.services)
            client = MeshClient(nc, signer(), region=REGION, subject_prefix=prefix)
            found = await client.discover()
            status = await client.request("server", "status", {}, user_id=None, idempotent=True)
    finally:
        await delete_streams(nats_url, prefix)
    metrics = generate_latest(app_metrics.registry).decode()

    assert sorted({i.name for i in found}) == ["boards", "moods", "server"]
    assert status["kind"] == "server"
    assert {"read models", "event relay", "service mesh"} <= {s["name"] for s in status["services"]}
    assert (
        'hugmood_mesh_requests_total{code="200",endpoint="status",service="server"} 1.0' in metrics
    )


async def test_the_embedded_default_serves_no_mesh(tmp_path: Path) -> None:
    async with open_hugmood(Settings(database_url="memory", data_dir=tmp_path)) as core:
        assert not [s for s in core.services if isinstance(s, MeshServices)]


# --- identity that cannot be forged, replayed or moved ------------------------------------


async def test_unsigned_forged_replayed_and_moved_requests_are_refused(
    nats_url: str, tmp_path: Path
) -> None:
    prefix = unique("mesh")
    ledger = tmp_path / "ledger"
    record = endpoint_subject(prefix, REGION, "ledger", "record")
    read = endpoint_subject(prefix, REGION, "ledger", "read")
    body = orjson.dumps({"ticket": "legit"})
    async with ledger_instance(nats_url, prefix, "one", ledger), connected(nats_url) as nc:
        good = signer().headers(record, body, user_id=USER)
        first = await raw_request(nc, record, body, good)
        replayed = await raw_request(nc, record, body, good)
        unsigned = await raw_request(nc, record, orjson.dumps({"ticket": "unsigned"}), {})
        wrong_key = signer(secret="another secret of thirty-two characters or more")
        forged = await raw_request(
            nc,
            record,
            evil := orjson.dumps({"ticket": "forged"}),
            wrong_key.headers(record, evil, user_id=USER),
        )
        other_region = await raw_request(
            nc, record, evil, signer(region="us-east").headers(record, evil, user_id=USER)
        )
        fresh = signer().headers(record, body, user_id=USER)
        tampered = await raw_request(nc, record, orjson.dumps({"ticket": "tampered"}), fresh)
        as_someone_else = await raw_request(
            nc, record, body, {**signer().headers(record, body, user_id=USER), USER_HEADER: "x"}
        )
        moved = signer().headers(read, body, user_id=USER)
        other_endpoint = await raw_request(nc, record, body, moved)
        stale = signer(clock=lambda: time.time() - 120).headers(record, body, user_id=USER)
        expired = await raw_request(nc, record, body, stale)

    assert first == {"ticket": "legit", "instance": "one"}
    assert replayed[0] == "401" and "replay" in replayed[1]
    assert unsigned[0] == "401" and "unsigned" in unsigned[1]
    for refused in (forged, other_region, tampered, as_someone_else, other_endpoint):
        assert refused == ("401", "the signature does not verify")
    assert expired[0] == "401" and "signed more than" in expired[1]
    assert lines(ledger) == ["legit"], "a refused request had an effect"


# --- bad input -------------------------------------------------------------------------


async def test_bad_input_gets_a_specific_error_and_the_service_keeps_serving(
    nats_url: str, tmp_path: Path
) -> None:
    prefix = unique("mesh")
    record = endpoint_subject(prefix, REGION, "ledger", "record")
    ledger = tmp_path / "ledger"
    sign = signer()

    async with ledger_instance(nats_url, prefix, "one", ledger), connected(nats_url) as nc:

        async def send(body: bytes) -> Any:
            return await raw_request(nc, record, body, sign.headers(record, body, user_id=USER))

        answers = {
            "garbage": await send(b"\x00\xffnot json{"),
            "array": await send(b"[1, 2]"),
            "missing": await send(b"{}"),
            "wrong type": await send(b'{"ticket": 5}'),
            "too long": await send(orjson.dumps({"ticket": "x" * 1000})),
            "huge": await send(orjson.dumps({"ticket": "x" * 100_000})),
        }
        # Published, not requested: there is no one to answer, so it is not run either.
        one_way = orjson.dumps({"ticket": "one-way"})
        await nc.publish(record, one_way, headers=sign.headers(record, one_way, user_id=USER))
        await nc.publish(record, b"\x00 garbage with no reply subject")
        client = MeshClient(nc, sign, region=REGION, subject_prefix=prefix)
        after = await client.request("ledger", "record", {"ticket": "after"}, user_id=USER)
        no_user = client.request("ledger", "record", {"ticket": "anonymous"}, user_id=None)
        with pytest.raises(Refused, match="on behalf of a user"):
            await no_user

    assert answers == {
        "garbage": ("400", "the body is not JSON"),
        "array": ("400", "the body must be a JSON object"),
        "missing": ("400", "the field 'ticket' is missing"),
        "wrong type": ("400", "the field 'ticket' must be a string"),
        "too long": ("400", "the field 'ticket' must be 1 to 200 characters"),
        "huge": ("413", "the request is 100013 bytes; at most 65536 are accepted"),
    }
    assert after == {"ticket": "after", "instance": "one"}
    assert lines(ledger) == ["after"]


async def test_a_request_with_no_instance_fails_clearly_within_its_deadline(nats_url: str) -> None:
    async with connected(nats_url) as nc:
        client = MeshClient(nc, signer(), region=REGION, subject_prefix=unique("mesh"))
        with pytest.raises(NoInstance, match="no instance of ledger answered read"):
            await client.request(
                "ledger", "read", {}, user_id=USER, idempotent=True, deadline_s=0.5
            )
        # Nothing received it, so even a request that is not idempotent fails as "no instance"
        # (safe to try again later), not as "outcome unknown".
        with pytest.raises(NoInstance):
            await client.request("ledger", "record", {"ticket": "t"}, user_id=USER, deadline_s=0.5)
        # A caller that can do without is told at once.
        with pytest.raises(NoInstance, match="no instance of ledger is running"):
            await client.request("ledger", "read", {}, user_id=USER, wait_for_instance=False)


# --- the operator's view ----------------------------------------------------------------


async def test_hugmood_services_lists_each_instance_with_its_endpoints_and_counts(
    nats_url: str,
) -> None:
    prefix = unique("mesh")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUGMOOD_")}
    env |= {
        "HUGMOOD_NATS_URL": nats_url,
        "HUGMOOD_NATS_SUBJECT_PREFIX": prefix,
        "HUGMOOD_REGION": REGION,
        "HUGMOOD_DATABASE_URL": "memory",
    }
    async with (
        ledger_instance(nats_url, prefix, "one"),
        ledger_instance(nats_url, prefix, "two"),
        connected(nats_url) as nc,
    ):
        client = MeshClient(nc, signer(), region=REGION, subject_prefix=prefix)
        for _ in range(6):
            await client.request("ledger", "read", {}, user_id=USER, idempotent=True)
        with pytest.raises(Refused):
            await client.request("ledger", "record", {}, user_id=USER)
        command = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hugmood",
            "services",
            "--json",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await command.communicate()

    assert command.returncode == 0, err.decode()
    instances = [orjson.loads(line) for line in out.splitlines()]
    assert [(i["name"], i["version"]) for i in instances] == [("ledger", "1.0.0")] * 2
    assert {i["process"] for i in instances} == {"one", "two"}
    endpoints = [e for i in instances for e in i["endpoints"]]
    assert {e["name"] for e in endpoints} == {"record", "read"}
    assert sum(e["requests"] for e in endpoints if e["name"] == "read") == 6
    assert sum(e["errors"] for e in endpoints if e["name"] == "record") == 1
    assert any("ticket" in e["last_error"] for e in endpoints)


async def test_hugmood_services_says_when_nats_cannot_be_reached() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUGMOOD_")}
    env["HUGMOOD_NATS_URL"] = f"nats://127.0.0.1:{port}"
    command = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "hugmood", "services"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await command.communicate()

    assert command.returncode == 1
    assert f"NATS at nats://127.0.0.1:{port} could not be reached" in " ".join(err.decode().split())
    assert "Traceback" not in err.decode() and out == b""
