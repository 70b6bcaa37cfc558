"""Privacy by design (issue 16): what encrypting people's personal fields under their own
keys costs, and how long erasure takes. Baselines in the same run:

- `privacy.append`: durable single appends of check-ins with a note and context (SQLite,
  synchronous=FULL, concurrent writers sharing group commits) through the mapper that
  encrypts them, against the same backend with no cipher; the two alternate, best of three
  rounds each. Target: at most 15% slower.
- `privacy.append_one`: the same, one writer waiting for each append (a single check-in's
  durable append: the disk's flush dominates), median latency.
- `privacy.record`: the recordMood command in-process (handler, durable append, read models
  applied and their personal cells sealed before it returns), encrypted vs not, alternating.
- `privacy.erase`: a person with 10,000 check-ins erased: from `deleteAccount` until the
  read models hold nothing of them and their key is destroyed; baseline: the same number of
  rows deleted by one plain SQL statement on the same database.

Run: `.venv/bin/python bench/privacy.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from _common import emit, machine_params, run
from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import PERSONAL_DATA
from hugmood.application.messagebus import MessageBus
from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.bootstrap import SystemClock, open_data_keys, upcasters
from hugmood.config import Settings
from hugmood.domain import identity
from hugmood.domain.moods import ContextFactors, RecordMood
from hugmood.eventstore.envelope import NewEvent
from hugmood.eventstore.mapper import MappedEventStore, Mapper
from hugmood.eventstore.sqlite import SqliteEventStore
from hugmood.eventstore.store import EventStore
from hugmood.privacy.keys.cells import SealedCells
from hugmood.privacy.keys.cipher import PersonalDataCipher
from hugmood.privacy.keys.datakeys import DataKeyStore
from hugmood.projections.catalog import all_projections
from hugmood.projections.runner import ProjectionRunner
from hugmood.projections.schema import prepare_read_models
from hugmood.security.passwords import Argon2idPasswordHasher
from hugmood.security.ratelimit import SlidingWindowLimiter
from hugmood.security.throttle import InMemoryLoginThrottle
from hugmood.security.tokens import HmacSessionTokens
from hugmood.sql.sqlite import SqliteDatabase

WRITERS = 32
NOTE = "walked by the river with Sam, felt lighter than all week"
CONTEXT = {
    "location": "river path",
    "weather": "sunny",
    "socialContext": "friends",
    "tags": ["walk"],
}


def check_in(owner: str) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type="MoodRecorded",
        version=1,
        timestamp=datetime.now(UTC),
        user_id=owner,
        data={
            "entryId": str(uuid.uuid4()),
            "ownerId": owner,
            "moodType": "calm",
            "intensity": 0.6,
            "note": NOTE,
            "contextFactors": CONTEXT,
            "privacy": "friends_only",
            "recordedAtMs": 1,
        },
    )


@dataclass
class Setup:
    store: EventStore
    readmodels: SqliteDatabase
    keys: DataKeyStore


async def open_setup(root: Path, stack: AsyncExitStack, *, encrypted: bool) -> Setup:
    keys = await open_data_keys(Settings(data_dir=root, database_url="sqlite"), stack)
    backend = await SqliteEventStore.open(root / "events.sqlite3", synchronous="FULL")
    stack.push_async_callback(backend.close)
    cipher = PersonalDataCipher(keys, PERSONAL_DATA) if encrypted else None
    store = MappedEventStore(backend, Mapper(upcasters(), cipher))
    readmodels = SqliteDatabase(root / "readmodels.sqlite3", synchronous="NORMAL")
    stack.push_async_callback(readmodels.close)
    await prepare_read_models(readmodels, all_projections())
    if encrypted:
        readmodels.cells = SealedCells(keys)
    return Setup(store, readmodels, keys)


async def appends_per_s(store: EventStore, count: int, owners: list[str]) -> float:
    queue = list(range(count))

    async def writer() -> None:
        while queue:
            n = queue.pop()
            await store.append(f"mood-{uuid.uuid4()}", [check_in(owners[n % len(owners)])])

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return count / (time.perf_counter() - started)


def deps_for(setup: Setup) -> Dependencies:
    secret = b"b" * 48
    return Dependencies(
        store=setup.store,
        readmodels=setup.readmodels,
        clock=SystemClock(),
        hasher=Argon2idPasswordHasher(),
        throttle=InMemoryLoginThrottle(max_failures=5, lockout_s=60, secret=secret),
        tokens=HmacSessionTokens(secret),
        hug_limiter=SlidingWindowLimiter(limit=30, window_s=60, what="hugs"),
        blobs=InMemoryBlobStore(),
        data_keys=setup.keys,
    )


async def records_per_s(bus: MessageBus, user_id: str, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await bus.handle(
            RecordMood(
                entry_id=str(uuid.uuid4()),
                user_id=user_id,
                mood_type="calm",
                intensity=0.6,
                note=NOTE,
                context=ContextFactors.from_data(CONTEXT),
            )
        )
    return count / (time.perf_counter() - started)


async def main(quick: bool) -> None:
    appends, records, entries = (600, 150, 2_000) if quick else (3_000, 600, 10_000)
    params = machine_params() | {"quick": quick}
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncExitStack() as stack:
            plain = await open_setup(Path(tmp, "plain"), stack, encrypted=False)
            sealed = await open_setup(Path(tmp, "sealed"), stack, encrypted=True)
            owners = [f"owner-{i}" for i in range(200)]
            best = {"plain": 0.0, "sealed": 0.0}
            for _ in range(3):
                best["plain"] = max(
                    best["plain"], await appends_per_s(plain.store, appends, owners)
                )
                best["sealed"] = max(
                    best["sealed"], await appends_per_s(sealed.store, appends, owners)
                )
            # One writer, each append waited for: what a single check-in's durable append
            # costs (the disk's flush dominates), alternating as above.
            one: dict[str, list[float]] = {"plain": [], "sealed": []}
            for round_ in range(2 if quick else 4):
                order = ("plain", "sealed") if round_ % 2 == 0 else ("sealed", "plain")
                for name in order:
                    setup = plain if name == "plain" else sealed
                    for n in range(50 if quick else 150):
                        started = time.perf_counter()
                        await setup.store.append(
                            f"mood-{uuid.uuid4()}", [check_in(owners[n % len(owners)])]
                        )
                        one[name].append(time.perf_counter() - started)
            emit(
                "privacy.append_one",
                "p50_ms",
                statistics.median(one["sealed"]) * 1000,
                "ms",
                "the same durable single appends without encryption",
                statistics.median(one["plain"]) * 1000,
                params | {"appends": len(one["sealed"])},
                lower_is_better=True,
                digits=3,
            )
            emit(
                "privacy.append",
                "appends_per_s",
                best["sealed"],
                "1/s",
                "the same durable appends without encryption",
                best["plain"],
                params | {"writers": WRITERS, "appends": appends},
            )

            results = {}
            buses = {}
            for name, setup in (("plain", plain), ("sealed", sealed)):
                runner = ProjectionRunner(setup.store, setup.readmodels, all_projections())
                await stack.enter_async_context(runner)
                buses[name] = MessageBus(deps_for(setup), runner)
                await buses[name].handle(
                    identity.RegisterUser(
                        "bench_person", "Bench Person", "a long passphrase 1", "eu-west"
                    )
                )
                results[name] = 0.0
            user_id = identity.user_id_for("bench_person")
            for _ in range(3):
                for name in ("plain", "sealed"):
                    rate = await records_per_s(buses[name], user_id, records)
                    results[name] = max(results[name], rate)
            emit(
                "privacy.record",
                "records_per_s",
                results["sealed"],
                "1/s",
                "recordMood in-process without encryption",
                results["plain"],
                params | {"records": records},
            )

            # Erasure of a person with many check-ins (the sealed setup's person).
            await sealed.store.append(
                f"mood-bulk-{uuid.uuid4()}", [check_in(user_id) for _ in range(entries)]
            )
            await buses["sealed"].handle(
                RecordMood(str(uuid.uuid4()), user_id, "calm", 0.5)
            )  # waits until the read models hold every entry
            started = time.perf_counter()
            await buses["sealed"].handle(identity.DeleteAccount(user_id, "a long passphrase 1"))
            left = await sealed.readmodels.fetchrow(
                "SELECT COUNT(*) FROM rm_mood_entries WHERE user_id = $1", user_id
            )
            erased_s = time.perf_counter() - started
            assert left is not None, "the count query answers"
            assert left[0] == 0, f"{left[0]} entries not forgotten"
            await plain.store.append(
                f"mood-bulk-{uuid.uuid4()}", [check_in("someone") for _ in range(entries)]
            )
            await buses["plain"].handle(RecordMood(str(uuid.uuid4()), user_id, "calm", 0.5))
            started = time.perf_counter()
            await plain.readmodels.apply(
                [("DELETE FROM rm_mood_entries WHERE user_id = $1", ("someone",))]
            )
            baseline_s = time.perf_counter() - started
            emit(
                "privacy.erase",
                "ms_until_forgotten",
                erased_s * 1000,
                "ms",
                "one plain DELETE of the same rows",
                baseline_s * 1000,
                params | {"entries": entries},
                lower_is_better=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    run(main(parser.parse_args().quick))
