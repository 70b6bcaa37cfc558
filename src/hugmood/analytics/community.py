"""The community-mood consumer: follows the log and keeps the column store's de-identified
check-ins (`columnstore`) in step, under weekly pseudonyms (`pseudonyms`); its checkpoint
moves with the rows in one DuckDB transaction, so nothing is applied twice or skipped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from hugmood.analytics import release
from hugmood.analytics.columnstore import CheckInRow, ColumnStore
from hugmood.analytics.pseudonyms import Salts, iso_week
from hugmood.domain.errors import HugMoodError
from hugmood.domain.identity import user_stream
from hugmood.domain.moods import mood_stream
from hugmood.domain.vocabulary import MOODS, REGIONS
from hugmood.eventstore.envelope import JSONValue, RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.eventstore.subscription import catch_up
from hugmood.services import Loop, Service
from hugmood.sql.database import SqlDatabase

log = logging.getLogger(__name__)

CHECK_IN_EVENTS = frozenset({"MoodRecorded", "MoodEdited", "MoodDeleted"})
CHOICE_EVENT = "CommunityContributionChosen"
Contributes = Callable[[str, int], Awaitable[bool]]
"""Whether a person's check-ins count as of a log position (their choice, else the rule)."""
CHECKPOINT_LAG = 1000
"""A batch without check-ins moves the checkpoint on disk only once it is this many positions
behind: every other event (a hug, a login) would otherwise cost a DuckDB transaction. After a
restart the events since are read again and, holding no check-in, skipped again."""


class AnalyticsUnavailable(HugMoodError):
    """This process keeps no analytics store (an edge: the store lives in a worker)."""

    code = "ANALYTICS_UNAVAILABLE"


class CommunityMoodConsumer(Service):
    """Check-ins into the column store, de-identified on the way in."""

    name = "community mood"

    def __init__(
        self,
        store: EventStore,
        db: SqlDatabase,
        path: Path | None,
        *,
        batch_size: int = 500,
        safety_poll_s: float = 1.0,
        release_every_s: float = 3600.0,
        contributes: Contributes | None = None,
    ) -> None:
        super().__init__()
        self._store = store
        self._contributes = contributes
        """None: every check-in counts (no regional rules)."""
        self._db = db
        self._path = path
        self._columns: ColumnStore | None = None
        self._salts = Salts(db)
        self._batch_size = batch_size
        self._safety_poll_s = safety_poll_s
        self._release_every_s = release_every_s
        self._regions: dict[str, str] = {}
        self._position = 0
        self._stored = 0
        """The checkpoint on disk: `_position` or behind it by batches without check-ins."""
        self._advanced = asyncio.Event()

    @property
    def keeps_store(self) -> bool:
        """Whether this process opened the column store (another may hold its file)."""
        return self._columns is not None

    @property
    def columns(self) -> ColumnStore:
        """The column store; ANALYTICS_UNAVAILABLE where another process holds it."""
        if self._columns is None:
            raise AnalyticsUnavailable(
                "community mood is not kept by this process; ask the one that runs"
                " the community mood consumer"
            )
        return self._columns

    @property
    def salts(self) -> Salts:
        return self._salts

    @property
    def position(self) -> int:
        return self._position

    async def starting(self) -> None:
        await self._salts.prepare()
        await release.prepare(self._db)
        try:
            self._columns = await asyncio.to_thread(ColumnStore, self._path)
        except duckdb.IOException as e:
            # DuckDB lets one process write a file: a second server on the same data dir
            # runs without it, and its community-mood queries say so.
            log.warning("community mood store not opened (%s): another process keeps it", e)
            return
        self._position = self._stored = await self._columns.position(self.name)

    async def stopped(self) -> None:
        if self._columns is not None:
            self._columns.close()

    def loops(self) -> Sequence[tuple[str, Loop]]:
        if self._columns is None:
            return []
        return [("follow the log", self._run), ("release weeks", self._release)]

    async def release_finished_weeks(self, now: datetime) -> int:
        """Release last week's cohort of every region that has k people and no release of
        its final numbers yet (into the shared ledger, where edges answer from); returns how
        many were released."""
        released = 0
        for region in sorted(REGIONS):
            if await release.release_finished_week(self._db, self.columns, region, now):
                released += 1
        return released

    async def release_current_weeks(self, now: datetime) -> int:
        """Release this week's cohort of every region that has k people, when a release of a
        week in progress is due (`release.IN_PROGRESS_REFRESH`, at most
        `release.IN_PROGRESS_RELEASES`), so edges can answer the current week too."""
        released = 0
        for region in sorted(REGIONS):
            if await release.release_week(self._db, self.columns, region, now.date(), now):
                released += 1
        return released

    async def _release(self) -> None:
        while True:
            # Only over a store that has caught up with the log: a release is final.
            if await self.wait_for(await self._store.last_position(), timeout_s=60.0):
                now = datetime.now(UTC)
                await self.release_finished_weeks(now)
                await self.release_current_weeks(now)
                # Finished weeks sorted by cohort: their queries read only their rows.
                await self.columns.compact(iso_week(now.date()))
            await asyncio.sleep(self._release_every_s)

    async def wait_for(self, position: int, timeout_s: float = 10.0) -> bool:
        """Until the store reflects `position`; False if it did not within `timeout_s`."""
        try:
            async with asyncio.timeout(timeout_s):
                while self._position < position:
                    advanced = self._advanced
                    await advanced.wait()
        except TimeoutError:
            return False
        return True

    async def catch_up_now(self) -> int:
        """Apply everything appended so far without the background loop."""
        applied = 0
        while batch := await self._store.read_all(self._position, self._batch_size):
            await self.apply(batch)
            applied += len(batch)
        return applied

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                async for batch in catch_up(
                    self._store,
                    self._position,
                    batch_size=self._batch_size,
                    safety_poll_s=self._safety_poll_s,
                ):
                    await self.apply(batch)
                    delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:
                # Never skip an event: log, back off, and try the same batch again.
                log.exception("community mood failed after position %s; retrying", self._position)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                self._position = self._stored = await self.columns.position(self.name)

    async def apply(self, batch: list[RecordedEvent]) -> None:
        rows: dict[str, CheckInRow | None] = {}
        changed: set[str] = set()
        """Keys of entries edited or deleted: only their rows may be there already (a
        check-in moves the checkpoint with its row, so it is never added twice)."""
        for event in batch:
            if event.position > self._position and event.event_type == "UserErased":
                # Every row under every pseudonym of the person still derivable goes.
                await self.forget(str(event.data["userId"]))
                continue
            if event.position > self._position and event.event_type == CHOICE_EVENT:
                # A person who stops counting: their rows go (those to come are not added).
                person = str(event.data["userId"])
                if self._contributes and not await self._contributes(person, event.position):
                    await self.forget(person)
                continue
            if event.position <= self._position or event.event_type not in CHECK_IN_EVENTS:
                continue
            key = await self._salts.row_key(str(event.data["entryId"]))
            rows[key] = await self._row(event, key)
            if event.event_type != "MoodRecorded":
                changed.add(key)
        added = [r for r in rows.values() if r is not None]
        if rows or batch[-1].position - self._stored >= CHECKPOINT_LAG:
            await self.columns.apply(self.name, batch[-1].position, sorted(changed), added)
            self._stored = batch[-1].position
        self._position = batch[-1].position
        self._advanced.set()
        self._advanced = asyncio.Event()

    async def _row(self, event: RecordedEvent, key: str) -> CheckInRow | None:
        """The row an entry has after `event` (None once deleted). Only the mood word, its
        coordinates, the intensity and the day are kept: no note, place, tag or id."""
        d = event.data
        if event.event_type == "MoodDeleted":
            return None
        owner = str(d["ownerId"]) if "ownerId" in d else await self._owner(str(d["entryId"]))
        if owner is None:
            return None
        word = MOODS.get(str(d["moodType"]))
        region = await self._region(owner)
        if word is None or region is None:
            return None
        if self._contributes is not None and not await self._contributes(owner, event.position):
            return None  # their choice, or their country's opt-in they have not given
        day = datetime.fromtimestamp(_number(d["recordedAtMs"]) / 1000, UTC).date()
        pseudonym, week = await self._salts.pseudonym(owner, day)
        return CheckInRow(
            key,
            pseudonym,
            region,
            week,
            day,
            word.word,
            word.quadrant.value,
            word.energy,
            word.pleasantness,
            _number(d["intensity"]),
        )

    async def _owner(self, entry_id: str) -> str | None:
        first = await self._store.read_stream(mood_stream(entry_id), 1)
        return str(first[0].data["ownerId"]) if first else None

    async def _region(self, user_id: str) -> str | None:
        """The person's home region (fixed at registration), from their own stream."""
        known = self._regions.get(user_id)
        if known is None:
            events = await self._store.read_stream(user_stream(user_id), 1)
            if not events or "homeRegion" not in events[0].data:
                return None
            known = self._regions[user_id] = str(events[0].data["homeRegion"])
        return known

    async def forget(self, user_id: str) -> int:
        """Delete every row of the person under every week's pseudonym still derivable: what
        an erasure calls. Returns the rows deleted."""
        return await self.columns.forget(await self._salts.pseudonyms_of(user_id))


def _number(value: JSONValue) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number in the event, got {value!r}")
    return float(value)
