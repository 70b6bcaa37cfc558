"""The federation outbox: what this region decided about a stream kept in two regions (a
friendship or a hug across a border, `application.federation`) reaches the other region, even
when that region was away when it happened.

It follows this region's log from a checkpoint. Each event this region appended (not a copy
taken from another) to a stream shared with a person abroad is copied to that person's
region; a region that cannot be reached is tried again, after a growing pause, without
moving on, so copies arrive in order and none is skipped. A copy is idempotent (by event id),
so sending one that `share` already delivered changes nothing.

It also tells friends abroad, live, that someone here checked in: the entry's id goes to each
region where friends who may see it live (who then read it from here, as they read the feed).
That is a courtesy, tried once and only while it is news: the feed shows the check-in anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from hugmood.application.consumers import FEDERATION_OUTBOX
from hugmood.application.dependencies import Dependencies
from hugmood.application.federation import abroad, crosses, leaves, parties, share
from hugmood.application.ports import ReadModelsProgress
from hugmood.application.queries.social import close_friend_ids, friend_ids
from hugmood.domain.errors import HugMoodError
from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.subscription import catch_up
from hugmood.services import Loop, Service
from hugmood.sql.migrations import Migration, apply_migrations
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)

CHECKPOINT = (
    Migration(
        1,
        "checkpoint",
        """
CREATE TABLE IF NOT EXISTS federation_checkpoints (
    consumer TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);
""",
    ),
)
RETRY_MIN_S = 0.2
RETRY_MAX_S = 10.0
NEWS_S = 60.0
"""A check-in older than this is not announced abroad (after an outage it is no longer news)."""


class FederationOutbox(Service):
    name = FEDERATION_OUTBOX

    def __init__(self, deps: Dependencies, progress: ReadModelsProgress | None = None) -> None:
        super().__init__()
        self._deps = deps
        self._progress = progress
        self._db = deps.readmodels
        self._position = 0

    async def starting(self) -> None:
        if self._deps.federation is None:
            return
        await apply_migrations(self._db, "federation:checkpoint", CHECKPOINT)
        row = await self._db.fetchrow(
            "SELECT position FROM federation_checkpoints WHERE consumer = $1", self.name
        )
        self._position = int(row[0]) if row else 0

    def loops(self) -> Sequence[tuple[str, Loop]]:
        # One region alone has nobody to copy anything to.
        return [] if self._deps.federation is None else [("copy abroad", self._follow)]

    async def _follow(self) -> None:
        async for batch in catch_up(self._deps.store, self._position):
            copied = False
            for event in batch:
                if crosses(event.stream_id) and "copiedFrom" not in event.metadata:
                    copied = await self._copy(event) or copied
                elif event.event_type == "MoodRecorded" and "copiedFrom" not in event.metadata:
                    await self._announce_abroad(event)
                elif event.event_type == "UserErased" and not event.data.get("movedTo"):
                    # (One who moved is not forgotten abroad: they live there now, or are
                    # friends of people there.)
                    copied = await self._forget(str(event.data["userId"])) or copied
            if copied or batch[-1].position - self._position >= 500:
                await self._advance(batch[-1].position)

    async def _copy(self, event: RecordedEvent) -> bool:
        regions = set()
        for person in parties(event.stream_id, [event]):
            region = await abroad(self._deps, person)
            if region is not None:
                regions.add(region)
        for region in sorted(regions):
            await self._until_done(
                region,
                event.stream_id,
                partial(share, self._deps, event.stream_id, region, strict=True),
            )
        return bool(regions)

    async def _announce_abroad(self, event: RecordedEvent) -> None:
        """Tell the regions of the owner's friends abroad who may see it that they checked in."""
        d = event.data
        privacy = d.get("privacy")
        age_s = (self._deps.clock.now() - event.timestamp).total_seconds()
        if privacy == "private" or age_s > NEWS_S or not leaves(self._deps, "mood_entry"):
            return
        db = self._deps.readmodels
        owner = str(d["ownerId"])
        audience = close_friend_ids if privacy == "close-friends" else friend_ids
        by_region: dict[str, list[str]] = {}
        for friend in await audience(db, owner):
            region = await abroad(self._deps, friend)
            if region is not None:
                by_region.setdefault(region, []).append(friend)
        if not by_region:
            return
        if self._progress is not None:
            await self._progress.wait_for(event.position)  # readable here when they ask
        federation = self._deps.federation
        assert federation is not None
        for region, friends in sorted(by_region.items()):
            payload = {"ownerId": owner, "entryId": str(d["entryId"]), "friendIds": friends}
            try:
                await federation.call(region, "friendMoodRecorded", payload)
            except (BackendUnavailable, HugMoodError) as e:
                log.info("friends in %s were not told of a check-in live: %s", region, e)

    async def _until_done(
        self, region: str, what: str, attempt: Callable[[], Awaitable[object]]
    ) -> None:
        """Try until the region has it: again after a growing pause while it is away, not at
        all once it refused (its copy differs, or the person left): nothing to retry then."""
        pause = RETRY_MIN_S
        while True:
            try:
                await attempt()
                return
            except BackendUnavailable:
                await asyncio.sleep(pause)
                pause = min(RETRY_MAX_S, pause * 2)
            except HugMoodError as e:
                log.error("region %s refused %s: %s", region, what, e.message)
                return

    async def _forget(self, user_id: str) -> bool:
        """Every other region forgets this region's erased person (those that knew them)."""
        federation = self._deps.federation
        assert federation is not None
        for region in federation.regions():
            forget = partial(federation.call, region, "forget", {"userId": user_id})
            await self._until_done(region, "forget", forget)
        return True

    async def _advance(self, position: int) -> None:
        await self._db.apply(
            [
                (
                    "INSERT INTO federation_checkpoints (consumer, position) VALUES ($1, $2)"
                    " ON CONFLICT (consumer) DO UPDATE SET position = excluded.position",
                    (self.name, position),
                )
            ]
        )
        self._position = position
