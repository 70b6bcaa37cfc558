"""Warming: a person's own history and first page of friends' check-ins are loaded into the
edge shortly before the hour they usually open HugMood. The usual hour is learned from their
own use — which hours of the day (UTC) they were seen, counted in days — kept in a table of
their region's store (`edge_usage`, deleted when they are erased), never logged or measured."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hugmood.application.heavy_reads import HeavyReads
from hugmood.application.queries import moods as mood_queries
from hugmood.application.queries import social as social_queries
from hugmood.application.queries.moods import MoodEntryView
from hugmood.domain.history import Aggregation
from hugmood.edge.tagged import TaggedCache
from hugmood.services import Loop, Service
from hugmood.sql.database import SqlDatabase
from hugmood.sql.migrations import Migration, apply_migrations
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)

HISTORY_DAYS = 30
FEED_PAGE = 20
MIN_DAYS = 3
"""An hour is someone's usual one once they were seen in it on this many days (and in no
hour on more days)."""
LEAD = timedelta(minutes=10)
"""How long before the usual hour the views are loaded."""
MAX_WARMED_PER_HOUR = 2000
TICK_S = 60.0

COMPONENT = "edge:usage"
MIGRATIONS = (
    Migration(
        1,
        "usage pattern",
        "CREATE TABLE IF NOT EXISTS edge_usage (user_id TEXT NOT NULL, hour INTEGER NOT NULL,"
        " days INTEGER NOT NULL, PRIMARY KEY (user_id, hour))",
    ),
)
"""Every edge of a region creates the table in the region's store as it starts, often at the
same moment as another: on PostgreSQL two concurrent `CREATE TABLE IF NOT EXISTS` can both
find it absent and one then fails on the catalog's unique index (`pg_type_typname_nsp_index`),
so it is a migration, applied under `apply_migrations`' advisory lock."""


@dataclass(frozen=True, slots=True)
class WarmHistory:
    """A person's own entries from `since_ms` on, as their history shows them (raw)."""

    since_ms: int
    entries: tuple[MoodEntryView, ...]


class UsagePattern:
    """Which hours each person uses HugMood in, counted once per day and hour."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._seen: set[tuple[str, str, int]] = set()
        self._pending: Counter[tuple[str, int]] = Counter()
        self._prepared = False

    async def prepare(self) -> None:
        """Create the table if no edge did yet (safe while other edges start at once)."""
        if not self._prepared:
            await apply_migrations(self._db, COMPONENT, MIGRATIONS)
            self._prepared = True

    def seen(self, user_id: str, at: datetime) -> None:
        key = (user_id, at.date().isoformat(), at.hour)
        if key not in self._seen:
            if len(self._seen) > 1_000_000:
                self._seen.clear()
            self._seen.add(key)
            self._pending[(user_id, at.hour)] += 1

    async def flush(self) -> None:
        pending, self._pending = self._pending, Counter()
        if not pending:
            return
        await self._db.apply(
            [
                (
                    "INSERT INTO edge_usage (user_id, hour, days) VALUES ($1, $2, $3)"
                    " ON CONFLICT (user_id, hour) DO UPDATE SET days = edge_usage.days + $3",
                    [user_id, hour, days],
                )
                for (user_id, hour), days in sorted(pending.items())
            ]
        )

    async def usual_at(self, hour: int, limit: int = MAX_WARMED_PER_HOUR) -> list[str]:
        """The people whose usual hour (UTC) is `hour`."""
        rows = await self._db.fetch(
            "SELECT user_id FROM (SELECT user_id, hour, days,"
            " MAX(days) OVER (PARTITION BY user_id) AS top FROM edge_usage) u"
            " WHERE hour = $1 AND days = top AND days >= $2 ORDER BY user_id LIMIT $3",
            hour,
            MIN_DAYS,
            limit,
        )
        return [str(r[0]) for r in rows]

    async def forget_the_erased(self) -> None:
        """Rows of people no longer in the region's accounts (erased while no edge followed
        the log, for example) go: each edge sweeps once a minute."""
        await self._db.apply(
            [
                (
                    "DELETE FROM edge_usage WHERE NOT EXISTS"
                    " (SELECT 1 FROM rm_accounts a WHERE a.user_id = edge_usage.user_id)",
                    [],
                )
            ]
        )

    async def forget(self, user_id: str) -> None:
        """An erased person's pattern goes with them."""
        for key in [k for k in self._pending if k[0] == user_id]:
            del self._pending[key]
        await self._db.apply([("DELETE FROM edge_usage WHERE user_id = $1", [user_id])])


class PersonalViews:
    """Warmed views, each served to its own person only and dropped by the edge's log
    follower when anything about them (or, for the feed, a friend) changes."""

    def __init__(self, *, max_entries: int, ttl_s: float) -> None:
        self.histories: TaggedCache[str, WarmHistory] = TaggedCache(
            "history", max_entries=max_entries, ttl_s=ttl_s
        )
        self.feeds: TaggedCache[str, tuple[MoodEntryView, ...]] = TaggedCache(
            "friends feed", max_entries=max_entries, ttl_s=ttl_s
        )

    def history(self, user_id: str, start: datetime, end: datetime) -> list[MoodEntryView] | None:
        """The person's own raw history in [start, end), if warmed and covering `start`."""
        found = self.histories.get(user_id)
        start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        if found is None or start_ms < found.since_ms:
            return None
        return [e for e in found.entries if start_ms <= e.recorded_at_ms < end_ms]

    def feed(self, user_id: str, limit: int) -> list[MoodEntryView] | None:
        """The first page of the person's friends' feed, if warmed and long enough."""
        if limit > FEED_PAGE:
            return None
        found = self.feeds.get(user_id)
        return None if found is None else list(found[:limit])


class Warmer(Service):
    """Every minute: records who was seen, and in the last `LEAD` before each hour loads the
    views of the people whose usual hour it is."""

    name = "edge warmer"

    def __init__(
        self,
        pattern: UsagePattern,
        views: PersonalViews,
        db: SqlDatabase,
        reads: Callable[[], HeavyReads],
        read_models_at: Callable[[], Awaitable[int]],
    ) -> None:
        super().__init__()
        self._pattern = pattern
        self._views = views
        self._db = db
        self._reads = reads
        self._read_models_at = read_models_at
        self._warmed_hour: datetime | None = None
        self.warmed = 0

    async def starting(self) -> None:
        try:
            await self._pattern.prepare()
        except BackendUnavailable as e:
            log.warning("edge warmer: usage table not ready (%s); retried each minute", e)

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("warm before the usual hour", self._run)]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self._pattern.prepare()
                await self._pattern.flush()
                await self._pattern.forget_the_erased()
                await self.tick(datetime.now(UTC))
            except BackendUnavailable as e:
                log.warning("edge warmer: the region is away (%s)", e)

    async def tick(self, now: datetime) -> int:
        """Warm for the coming hour if it is within `LEAD` and not done yet; how many."""
        coming = (now + LEAD).replace(minute=0, second=0, microsecond=0)
        if coming <= now or coming == self._warmed_hour:
            return 0
        self._warmed_hour = coming
        people = await self._pattern.usual_at(coming.hour)
        for user_id in people:
            await self.warm(user_id, now)
        return len(people)

    async def warm(self, user_id: str, now: datetime) -> None:
        loaded_at = await self._read_models_at()
        since = now - timedelta(days=HISTORY_DAYS)
        history = await self._reads().mood_history(
            viewer_id=user_id,
            owner_id=user_id,
            start=since,
            end=now + timedelta(days=1),
            aggregation=Aggregation.NONE,
            zone=mood_queries.time_zone("UTC"),
        )
        entries = tuple(e for e in history if isinstance(e, MoodEntryView))
        self._views.histories.put(
            user_id, WarmHistory(int(since.timestamp() * 1000), entries), (user_id,), loaded_at
        )
        friends = await social_queries.friend_ids(self._db, user_id)
        feed = await mood_queries.friends_feed(
            self._db, viewer_id=user_id, before_ms=None, limit=FEED_PAGE
        )
        self._views.feeds.put(user_id, tuple(feed), (user_id, *friends), loaded_at)
        self.warmed += 1
