"""Mood-history query latency (a year in DAY buckets) over 1M seeded events against raw SQL,
plus event-store seeding and projection throughput. One JSON object a line.

Run: `.venv/bin/python bench/queries.py [--quick]` (quick: 50 users, not 1,000).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from _common import (
    HttpConnection,
    emit,
    emit_latencies,
    graphql,
    hugmood_server,
    log_in,
    machine_params,
    run,
)
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.queries.moods import MoodBucket, mood_history
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import moods as md
from hugmood.domain import social as sc
from hugmood.domain.common import DomainEvent
from hugmood.domain.history import Aggregation
from hugmood.domain.privacy import Privacy, Relationship, visible_privacies
from hugmood.domain.vocabulary import MOODS, SOCIAL_CONTEXTS, WEATHER
from hugmood.eventstore.envelope import to_epoch_ms
from hugmood.eventstore.store import NO_STREAM

APPENDS_PER_BATCH = 1000
"""Appends in flight at once while seeding: group commit writes them in one transaction."""
PROJECTION_BATCH = 500
"""Events per read-model transaction, as the projection runner's default batch."""
PASSWORD = "bench-password-1"  # noqa: S105  (throwaway accounts in a throwaway directory)
TARGET_P99_MS = 10.0
HISTORY_DAYS = 365
UTC_ZONE = ZoneInfo("UTC")
EVENTS_SCHEMA = (
    Path(__file__).parent.parent / "src/hugmood/eventstore/migrations/sqlite/0001_events.sql"
)
RAW_INSERT_EVENT = (
    "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, version,"
    " timestamp_ms, user_id, data, metadata) VALUES (?, ?, ?, 1, ?, 1, ?, ?, ?, ?)"
)
RAW_MOOD_TABLE = """
CREATE TABLE rm_mood_entries (
    entry_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    mood_type TEXT NOT NULL,
    intensity DOUBLE PRECISION NOT NULL,
    note TEXT,
    context_factors TEXT NOT NULL,
    privacy TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX rm_mood_entries_user_time ON rm_mood_entries (user_id, recorded_at_ms);
"""
RAW_INSERT_MOOD = (
    "INSERT INTO rm_mood_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (entry_id) DO NOTHING"
)
# Same job as the query layer, done by SQLite: bucket by UTC day, count, mean intensity, and
# the most frequent mood (SQLite's documented bare-column rule: `mood_type` comes from the row
# where max(n) is found; ties may break differently from ours, which costs the same).
RAW_HISTORY = """
SELECT day, sum(n), sum(total) / sum(n), mood_type, max(n) FROM (
    SELECT date(recorded_at_ms / 1000, 'unixepoch') AS day, mood_type, count(*) AS n,
           sum(intensity) AS total
    FROM rm_mood_entries
    WHERE user_id = ? AND recorded_at_ms >= ? AND recorded_at_ms < ? AND privacy IN (?, ?, ?)
    GROUP BY day, mood_type
) GROUP BY day ORDER BY day
"""
RAW_RELATIONSHIP = (
    "SELECT (SELECT count(*) FROM rm_blocks WHERE (blocker_id = ?1 AND blocked_id = ?2)"
    " OR (blocker_id = ?2 AND blocked_id = ?1)),"
    " (SELECT status FROM rm_friendships WHERE user_id = ?1 AND other_id = ?2)"
)
HISTORY_SELECTIONS = {
    # One object per day: graphql-core completes every field of every bucket (about 1,400).
    "buckets": "buckets { start count meanIntensity dominantMood }",
    # The same figures as parallel lists, as a chart wants them.
    "series": "series { starts counts meanIntensities dominantMoods }",
}


def history_query(selection: str) -> str:
    return (
        "query($from: DateTime!, $to: DateTime!, $handle: String) {"
        ' moodHistory(from: $from, to: $to, handle: $handle, aggregation: DAY, timeZone: "UTC")'
        f" {{ {selection} }} }}"
    )


LOCATIONS = ("home", "work", "park", "café", None)
TAGS = ("work", "exercise", "family", "sleep", "music", "outdoors", "reading", "cooking")
NOTES = ("Long walk by the river.", "Rough meeting.", "Good sleep, good day.", None, None)


@dataclass(frozen=True, slots=True)
class Population:
    users: int
    moods_per_user: int
    now: datetime
    seed: int = 42

    def user_id(self, i: int) -> str:
        return idm.user_id_for(self.handle(i))

    @staticmethod
    def handle(i: int) -> str:
        return f"bench_{i:05d}"

    def friend_of(self, i: int) -> int:
        """Everyone is friends with the next user (and the previous one)."""
        return (i + 1) % self.users

    @property
    def moods(self) -> int:
        return self.users * self.moods_per_user

    @property
    def window(self) -> tuple[datetime, datetime]:
        return self.now - timedelta(days=HISTORY_DAYS), self.now

    def mood_batches(self) -> Iterator[list[md.MoodRecorded]]:
        """Every user's moods spread over the last year, in batches, the same on every call."""
        rng = random.Random(self.seed)
        words = sorted(MOODS)
        weather, social = sorted(WEATHER), sorted(SOCIAL_CONTEXTS)
        start_ms = to_epoch_ms(self.window[0])
        span_ms = HISTORY_DAYS * 86_400_000
        batch: list[md.MoodRecorded] = []
        for n in range(self.moods):
            batch.append(
                md.MoodRecorded(
                    entry_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    owner_id=self.user_id(n % self.users),
                    mood_type=rng.choice(words),
                    intensity=round(rng.random(), 2),
                    note=rng.choice(NOTES),
                    context_factors=md.ContextFactors(
                        location=rng.choice(LOCATIONS),
                        weather=rng.choice(weather),
                        social_context=rng.choice(social),
                        tags=tuple(rng.sample(TAGS, rng.randint(0, 2))),
                    ).to_data(),
                    privacy=rng.choices(
                        (Privacy.PRIVATE, Privacy.FRIENDS_ONLY, Privacy.PUBLIC), (2, 5, 3)
                    )[0].value,
                    recorded_at_ms=start_ms + rng.randrange(span_ms),
                )
            )
            if len(batch) == APPENDS_PER_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


# --- seeding --------------------------------------------------------------------------------


def timed_seconds(started: float) -> float:
    return time.perf_counter() - started


async def seed_store(core: HugMood, people: Population) -> tuple[int, float]:
    """Users, friendships and moods through the event store's `append`; (events, seconds)."""
    context = CommandContext(device_id="bench-seeder", region="eu-west")
    password_hash = await core.deps.hasher.hash(PASSWORD)  # one real hash, shared by all
    store = core.store

    async def append_each(streams: Sequence[tuple[str, list[DomainEvent], str]]) -> None:
        """One append per stream, all at once: group commit writes them in one transaction."""
        now = datetime.now(UTC)
        await asyncio.gather(
            *(
                store.append(
                    stream,
                    [to_new_event(e, user_id=actor, context=context, now=now) for e in events],
                    expected_version=NO_STREAM,
                )
                for stream, events, actor in streams
            )
        )

    started = time.perf_counter()
    written = 0
    for first in range(0, people.users, APPENDS_PER_BATCH):
        chunk = range(first, min(first + APPENDS_PER_BATCH, people.users))
        registrations: list[tuple[str, list[DomainEvent], str]] = []
        for i in chunk:
            user_id = people.user_id(i)
            registered = idm.UserRegistered(
                user_id=user_id,
                handle=people.handle(i),
                display_name=f"Bench User {i}",
                home_region="eu-west",
                password_hash=password_hash,
            )
            registrations.append((idm.user_stream(user_id), [registered], user_id))
        await append_each(registrations)
        written += len(registrations)
    for first in range(0, people.users, APPENDS_PER_BATCH // 2):
        friendships: list[tuple[str, list[DomainEvent], str]] = []
        for i in range(first, min(first + APPENDS_PER_BATCH // 2, people.users)):
            a, b = people.user_id(i), people.user_id(people.friend_of(i))
            events: list[DomainEvent] = [
                sc.FriendRequested(requester_id=a, addressee_id=b),
                sc.FriendRequestAccepted(requester_id=a, addressee_id=b),
            ]
            friendships.append((sc.pair_stream(a, b), events, a))
        await append_each(friendships)
        written += 2 * len(friendships)
    for batch in people.mood_batches():
        await append_each([(md.mood_stream(m.entry_id), [m], m.owner_id) for m in batch])
        written += len(batch)
    return written, timed_seconds(started)


def seed_raw(path: Path, people: Population) -> tuple[int, float]:
    """Baseline: the same mood events as rows, `executemany` and COMMIT per batch."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.executescript(EVENTS_SCHEMA.read_text())
    metadata = orjson.dumps({"deviceId": "bench-seeder", "region": "eu-west"}).decode()
    started = time.perf_counter()
    position = 0
    for batch in people.mood_batches():
        now_ms = int(time.time() * 1000)
        rows = []
        for m in batch:
            position += 1
            data = {
                "entryId": m.entry_id,
                "ownerId": m.owner_id,
                "moodType": m.mood_type,
                "intensity": m.intensity,
                "note": m.note,
                "contextFactors": m.context_factors,
                "privacy": m.privacy,
                "recordedAtMs": m.recorded_at_ms,
            }
            rows.append(
                (
                    position,
                    uuid.UUID(m.entry_id).bytes,
                    md.mood_stream(m.entry_id),
                    "MoodRecorded",
                    now_ms,
                    m.owner_id,
                    orjson.dumps(data).decode(),
                    metadata,
                )
            )
        db.execute("BEGIN IMMEDIATE")
        db.executemany(RAW_INSERT_EVENT, rows)
        db.execute("COMMIT")
    seconds = timed_seconds(started)
    db.close()
    return position, seconds


def project_raw(events_path: Path, target: Path) -> tuple[int, float]:
    """Baseline: read the log in batches, decode each mood's JSON, INSERT, COMMIT per batch."""
    log = sqlite3.connect(f"file:{events_path}?mode=ro", uri=True)
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(RAW_MOOD_TABLE)
    started = time.perf_counter()
    position = applied = 0
    while batch := log.execute(
        "SELECT position, event_type, timestamp_ms, data FROM events WHERE position > ?"
        " ORDER BY position LIMIT ?",
        (position, PROJECTION_BATCH),
    ).fetchall():
        rows = []
        for _, event_type, at_ms, data in batch:
            if event_type != "MoodRecorded":
                continue
            d = orjson.loads(data)
            rows.append(
                (
                    d["entryId"],
                    d["ownerId"],
                    d["moodType"],
                    float(d["intensity"]),
                    d["note"],
                    orjson.dumps(d["contextFactors"]).decode(),
                    d["privacy"],
                    d["recordedAtMs"],
                    at_ms,
                    at_ms,
                )
            )
        db.execute("BEGIN IMMEDIATE")
        db.executemany(RAW_INSERT_MOOD, rows)
        db.execute("COMMIT")
        position = batch[-1][0]
        applied += len(batch)
    seconds = timed_seconds(started)
    log.close()
    db.close()
    return applied, seconds


# --- queries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variant:
    """Who looks at whose history."""

    name: str
    relationship: Relationship

    def viewer(self, people: Population, owner: int) -> int:
        if self.relationship is Relationship.SELF:
            return owner
        return (owner - 1) % people.users  # the owner is the next user of the viewer: a friend


VARIANTS = (Variant("self", Relationship.SELF), Variant("friend", Relationship.FRIEND))


async def time_calls(calls: Sequence[Callable[[], Awaitable[Any]]]) -> list[float]:
    """Each call's latency, one at a time (after a few untimed warm-up calls)."""
    for call in calls[:5]:
        await call()
    latencies = []
    for call in calls:
        began = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - began)
    return latencies


def raw_history(
    db: sqlite3.Connection, people: Population, variant: Variant, owner: int
) -> list[tuple[Any, ...]]:
    viewer_id, owner_id = people.user_id(variant.viewer(people, owner)), people.user_id(owner)
    relationship = Relationship.SELF
    if viewer_id != owner_id:
        blocks, status = db.execute(RAW_RELATIONSHIP, (viewer_id, owner_id)).fetchone()
        relationship = (
            Relationship.BLOCKED
            if blocks
            else Relationship.FRIEND
            if status == "friends"
            else Relationship.STRANGER
        )
    allowed = sorted(p.value for p in visible_privacies(relationship))
    start, end = people.window
    params = (owner_id, to_epoch_ms(start), to_epoch_ms(end), *[*allowed, "-", "-", "-"][:3])
    return db.execute(RAW_HISTORY, params).fetchall()


async def raw_history_async(
    db: sqlite3.Connection, people: Population, variant: Variant, owner: int
) -> list[tuple[Any, ...]]:
    """`raw_history` run directly on the event loop: no thread hop, the cheapest way."""
    return raw_history(db, people, variant, owner)


async def history(core: HugMood, people: Population, variant: Variant, owner: int) -> list[Any]:
    start, end = people.window
    answer = await mood_history(
        core.readmodels,
        viewer_id=people.user_id(variant.viewer(people, owner)),
        owner_id=people.user_id(owner),
        start=start,
        end=end,
        aggregation=Aggregation.DAY,
        zone=UTC_ZONE,
    )
    return list(answer)


async def measure_queries(
    core: HugMood, people: Population, samples: int
) -> dict[str, tuple[list[float], list[float], float]]:
    """Per variant: (our latencies, raw SQL latencies, mean buckets per answer)."""
    rng = random.Random(7)
    path = core.settings.data_dir / "readmodels.sqlite3"
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    results = {}
    try:
        for variant in VARIANTS:
            owners = [rng.randrange(people.users) for _ in range(samples)]
            check_same_answer(
                await history(core, people, variant, owners[0]),
                raw_history(raw, people, variant, owners[0]),
                variant,
            )
            buckets = [len(await history(core, people, variant, o)) for o in owners[:50]]
            ours_s = await time_calls(
                [functools.partial(history, core, people, variant, o) for o in owners]
            )
            base_s = await time_calls(
                [functools.partial(raw_history_async, raw, people, variant, o) for o in owners]
            )
            results[variant.name] = (ours_s, base_s, sum(buckets) / len(buckets))
    finally:
        raw.close()
    return results


def check_same_answer(ours: Sequence[Any], raw: list[tuple[Any, ...]], variant: Variant) -> None:
    """Both sides must count the same entries per day, or the comparison means nothing."""
    mine = [(b.start.isoformat(), b.count) for b in ours if isinstance(b, MoodBucket)]
    theirs = [(day, n) for day, n, *_ in raw]
    if mine != theirs or not mine:
        raise SystemExit(f"queries bench: {variant.name}: the raw SQL baseline disagrees with us")


async def measure_http(
    data_dir: Path, workdir: Path, people: Population, samples: int
) -> dict[str, list[float]]:
    """The same query through the real server's GraphQL endpoint, one request at a time."""
    server = hugmood_server(data_dir, workdir / "server.log")
    start, end = people.window
    rng = random.Random(11)
    viewers = rng.sample(range(people.users), min(4, people.users))
    results: dict[str, list[float]] = {}
    with server:
        await server.wait_ready()
        conn = await HttpConnection.open(server.port)
        try:
            tokens = {i: await log_in(conn, people.handle(i), PASSWORD) for i in viewers}
            for shape, selection in HISTORY_SELECTIONS.items():
                query = history_query(selection)
                for variant in VARIANTS:
                    picks = [rng.choice(viewers) for _ in range(samples)]

                    def call(
                        viewer: int, v: Variant = variant, q: str = query
                    ) -> Callable[[], Awaitable[Any]]:
                        owner = (
                            viewer
                            if v.relationship is Relationship.SELF
                            else people.friend_of(viewer)
                        )
                        variables = {
                            "from": start.isoformat(),
                            "to": end.isoformat(),
                            "handle": people.handle(owner),
                        }
                        return lambda: graphql(conn, q, variables, tokens[viewer])

                    results[f"{shape}.{variant.name}"] = await time_calls([call(v) for v in picks])
        finally:
            conn.close()
    return results


# --- main -----------------------------------------------------------------------------------


async def main(quick: bool) -> None:
    people = Population(
        users=50 if quick else 1000,
        moods_per_user=1000,
        now=datetime.now(UTC).replace(microsecond=0),
    )
    samples = 200 if quick else 1000
    http_samples = 100 if quick else 300
    base: dict[str, Any] = {
        "users": people.users,
        "events": people.moods,
        "history_days": HISTORY_DAYS,
        "read_models": "SQLite WAL synchronous=NORMAL",
        **machine_params(),
    }
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-queries-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "hugmood"
        settings = Settings(data_dir=data_dir, database_url="sqlite", log_level="WARNING")
        async with open_hugmood(settings, run_projections=False) as core:
            seeded, seed_s = await seed_store(core, people)
            raw_events, raw_seed_s = seed_raw(workdir / "raw-events.sqlite3", people)
            emit(
                "queries.seed",
                "events_per_s",
                seeded / seed_s,
                "1/s",
                f"raw sqlite3 executemany + COMMIT per {APPENDS_PER_BATCH} mood rows (WAL, FULL)",
                raw_events / raw_seed_s,
                {
                    **base,
                    "how": f"EventStore.append, one stream each, {APPENDS_PER_BATCH} in flight"
                    " (group commit), SQLite WAL synchronous=FULL",
                    "events_written": seeded,
                    "seconds": round(seed_s, 2),
                    "baseline_seconds": round(raw_seed_s, 2),
                },
            )
            started = time.perf_counter()
            projected = await core.projections.catch_up_now()
            project_s = timed_seconds(started)
            raw_projected, raw_project_s = project_raw(
                workdir / "raw-events.sqlite3", workdir / "raw-readmodels.sqlite3"
            )
            emit(
                "queries.project",
                "events_per_s",
                projected / project_s,
                "1/s",
                f"raw sqlite3: read {PROJECTION_BATCH} log rows, decode JSON, executemany"
                " + COMMIT into the same mood table",
                raw_projected / raw_project_s,
                {
                    **base,
                    "how": "ProjectionRunner.catch_up_now, every projection",
                    "events_projected": projected,
                    "seconds": round(project_s, 2),
                    "baseline_seconds": round(raw_project_s, 2),
                },
            )
            measured = await measure_queries(core, people, samples)
        raw_baseline = "raw SQL on the read-model file via sqlite3: GROUP BY day (and mood)"
        for name, (ours_s, base_s, buckets) in measured.items():
            emit_latencies(
                f"queries.mood_history.{name}",
                ours_s,
                raw_baseline + (" + relationship lookup" if name != "self" else ""),
                base_s,
                {
                    **base,
                    "layer": "application query (mood_history)",
                    "aggregation": "DAY",
                    "queries": len(ours_s),
                    "mean_buckets": round(buckets, 1),
                },
                target_p99_ms=TARGET_P99_MS,
            )
        over_http = await measure_http(data_dir, workdir, people, http_samples)
        for name, latencies in over_http.items():
            shape, variant_name = name.split(".", 1)
            emit_latencies(
                f"queries.mood_history.http.{name}",
                latencies,
                raw_baseline + " (random owners, as above)",
                measured[variant_name][1],
                {
                    **base,
                    "layer": "GraphQL over HTTP/1.1 keep-alive, one request at a time",
                    "aggregation": "DAY",
                    "selection": HISTORY_SELECTIONS[shape],
                    "queries": len(latencies),
                },
                target_p99_ms=TARGET_P99_MS,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="50 users × 1,000 moods instead of 1,000 × 1,000"
    )
    args = parser.parse_args()
    run(main(args.quick))
