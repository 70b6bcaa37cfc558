"""Warming at the edge, on every backend: a person seen in the same hour on three days has
their history and friends' feed loaded before that hour, served to them alone, and dropped
the moment the log says either changed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import social
from hugmood.domain.moods import RecordMood
from hugmood.edge.warming import UsagePattern, Warmer
from hugmood.sql.postgres import PostgresDatabase
from tests.conftest import POSTGRES_URL

PASSWORD = "a good password"
EDGES_STARTING_AT_ONCE = 4


async def until(check: Callable[[], bool], what: str, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.02)


async def person(core: HugMood, prefix: str) -> str:
    handle = f"{prefix}{uuid.uuid4().hex[:8]}"
    await core.bus.handle(idm.RegisterUser(handle, prefix, PASSWORD, "eu-west"))
    return idm.user_id_for(handle)


async def check_in(core: HugMood, user_id: str, privacy: str = "friends-only") -> str:
    entry_id = str(uuid.uuid4())
    await core.bus.handle(RecordMood(entry_id, user_id, "calm", 0.5, privacy=privacy))
    return entry_id


async def test_views_are_warmed_before_the_usual_hour_and_dropped_by_events(
    settings: Settings,
) -> None:
    async with open_hugmood(replace(settings, edge_cache=True)) as core:
        edge = core.edge
        assert edge is not None and edge.usage is not None and edge.personal is not None
        personal = edge.personal
        ann, ben = await person(core, "ann"), await person(core, "ben")
        await core.bus.handle(social.RequestFriendship(ann, ben))
        await core.bus.handle(social.AcceptFriendship(ben, ann))
        mine = await check_in(core, ann)
        theirs = await check_in(core, ben)

        # Ann opens HugMood around 08:xx UTC on three days; Ben once.
        for day in (1, 2, 3):
            edge.usage.seen(ann, datetime(2026, 11, day, 8, 5, tzinfo=UTC))
        edge.usage.seen(ann, datetime(2026, 11, 3, 8, 40, tzinfo=UTC))  # same day: counted once
        edge.usage.seen(ben, datetime(2026, 11, 3, 8, 5, tzinfo=UTC))
        warmer = next(s for s in edge.services if isinstance(s, Warmer))
        await edge.usage.prepare()
        await edge.usage.flush()
        assert await edge.usage.usual_at(8) == [ann]

        now = datetime.now(UTC)
        assert await warmer.tick(now.replace(hour=7, minute=30)) == 0  # too early
        assert await warmer.tick(now.replace(hour=7, minute=52)) == 1
        start, end = now - timedelta(days=7), now + timedelta(days=1)
        history = edge.personal.history(ann, start, end)
        assert history is not None and [e.entry_id for e in history] == [mine]
        feed = edge.personal.feed(ann, 20)
        assert feed is not None and [e.entry_id for e in feed] == [theirs]
        assert edge.personal.history(ben, start, end) is None  # never warmed for anyone else

        await check_in(core, ann)  # Ann's history changed
        await until(lambda: personal.history(ann, start, end) is None, "history dropped")
        await check_in(core, ben)  # a friend's check-in changes Ann's feed
        await until(lambda: personal.feed(ann, 20) is None, "feed dropped")

        await edge.usage.forget(ann)
        assert await edge.usage.usual_at(8) == []

        # Someone erased while no edge followed the log: the next sweep forgets them.
        for day in (1, 2, 3):
            edge.usage.seen("erased-id", datetime(2026, 11, day, 8, 5, tzinfo=UTC))
            edge.usage.seen(ben, datetime(2026, 11, day, 8, 5, tzinfo=UTC))
        await edge.usage.flush()
        assert await edge.usage.usual_at(8) == sorted(["erased-id", ben])
        await edge.usage.forget_the_erased()
        assert await edge.usage.usual_at(8) == [ben]


@pytest.mark.postgres
async def test_edges_starting_at_once_on_a_fresh_region_each_find_the_usage_table(
    pg_schema: str,
) -> None:
    # Each edge has its own pool, as separate processes would; before the table was created
    # under the migrations' lock, one of two concurrent `CREATE TABLE IF NOT EXISTS` failed on
    # PostgreSQL's catalog (UniqueViolation) and took its edge's start-up down with it.
    pools = [
        await PostgresDatabase.connect(POSTGRES_URL, schema=pg_schema, min_size=1, max_size=1)
        for _ in range(EDGES_STARTING_AT_ONCE)
    ]
    try:
        patterns = [UsagePattern(pool) for pool in pools]
        await asyncio.gather(*(pattern.prepare() for pattern in patterns))

        patterns[0].seen("ann", datetime(2026, 11, 1, 8, 5, tzinfo=UTC))
        await patterns[0].flush()
        assert await patterns[-1].usual_at(8, limit=10) == []  # one day is not a habit yet
        rows = await pools[-1].fetch("SELECT user_id, hour, days FROM edge_usage")
        assert [tuple(r) for r in rows] == [("ann", 8, 1)]
    finally:
        for pool in pools:
            await pool.close()
