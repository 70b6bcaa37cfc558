"""`profileOverview(handle)`: one page about a person gathered from seven sources at once —
profile, mood series, connections, shared boards, recent activity, insights, similar minds —
each filtered by what the *viewer* may see and each with its own deadline. A source that
fails or is late leaves its field empty and is named in `unavailable`; the page still comes.

The profile is the gate: someone who does not exist, or who blocked the viewer (or was
blocked), is not found, whatever the other sources would say."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import strawberry

from hugmood.application.federation import abroad
from hugmood.application.queries import boards as board_queries
from hugmood.application.queries import insights as insight_queries
from hugmood.application.queries import moods as mood_queries
from hugmood.application.queries import social as social_queries
from hugmood.domain.history import Aggregation
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.abroad import user_abroad
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.insights import Insight
from hugmood.entrypoints.graphql.readback import status_towards, visible_account

log = logging.getLogger(__name__)

SOURCE_DEADLINE_S = 1.5
"""Each source's own deadline: a late one is left out, not waited for."""
SERIES_DAYS = 30

T = TypeVar("T")


@strawberry.type(description="How the viewer and the person are connected.")
class OverviewConnections:
    relationship: t.RelationshipStatus
    friend_count: int
    mutual_friends: int = strawberry.field(description="Friends you both have.")
    people_you_may_know: list[t.Suggestion] = strawberry.field(
        description="On your own overview only: friends of your friends."
    )


@strawberry.type(description="A board you and the person are both on.")
class SharedBoard:
    id: strawberry.ID
    title: str


@strawberry.type(description="What the person is doing now, as far as you may know.")
class OverviewActivity:
    presence: str | None = strawberry.field(
        description="online, away or offline: for friends only (someone who appears "
        "offline is offline)."
    )
    recent_moods: list[t.MoodEntry]


@strawberry.type(description="One page about a person, each part as far as you may see it.")
class ProfileOverview:
    profile: t.Profile
    mood_series: t.MoodHistory | None = strawberry.field(
        description=f"Day buckets of the last {SERIES_DAYS} days you may see."
    )
    connections: OverviewConnections | None
    shared_boards: list[SharedBoard] | None = strawberry.field(
        description="Boards you are both on (their images are yours to see there)."
    )
    activity: OverviewActivity | None
    insights: list[Insight] | None = strawberry.field(
        description="Your own overview only: what your check-ins say about you."
    )
    similar_minds: list[str] | None = strawberry.field(
        description="Your own overview only, while you are discoverable: handles of people "
        "whose mood patterns are like yours."
    )
    unavailable: list[str] = strawberry.field(
        description="The parts that failed or were late this time (their fields are null)."
    )


async def within_deadline(
    name: str, source: Callable[[], Awaitable[T]], unavailable: list[str]
) -> T | None:
    try:
        async with asyncio.timeout(SOURCE_DEADLINE_S):
            return await source()
    except TimeoutError:
        log.warning("profile overview: %s was late", name)
    except Exception:
        log.exception("profile overview: %s failed", name)
    unavailable.append(name)
    return None


@strawberry.type
class OverviewQueries:
    @strawberry.field(
        description="One page about a person: profile, mood series, connections, shared "
        "boards, recent activity, and on your own page insights and similar minds — "
        "gathered at once, each as far as you may see it; parts that failed or were late "
        "are listed in `unavailable`. Omit `handle` for your own."
    )
    async def profile_overview(self, info: Ctx, handle: str | None = None) -> ProfileOverview:
        me = await info.context.principal()
        core = info.context.core
        db = core.readmodels
        owner = await visible_account(info, handle)
        mine = owner.user_id == me.user_id
        unavailable: list[str] = []
        owner_abroad = await abroad(core.deps, owner.user_id) is not None
        if owner_abroad:
            # Someone of another region: their page as their region shows it to the viewer.
            page = await user_abroad(info, me.user_id, owner, 5)
            owner = replace(owner, display_name=page.profile.display_name, bio=page.profile.bio)

        async def series() -> t.MoodHistory:
            end = datetime.now(UTC) + timedelta(days=1)
            buckets = await mood_queries.mood_history(
                db,
                viewer_id=me.user_id,
                owner_id=owner.user_id,
                start=end - timedelta(days=SERIES_DAYS + 1),
                end=end,
                aggregation=Aggregation.DAY,
                zone=mood_queries.time_zone("UTC"),
            )
            views = [b for b in buckets if isinstance(b, mood_queries.MoodBucket)]
            return t.MoodHistory(aggregation=t.Aggregation.DAY, entries=[], bucket_views=views)

        async def connections() -> OverviewConnections:
            mine_friends = set(await social_queries.friend_ids(db, me.user_id))
            theirs = set(await social_queries.friend_ids(db, owner.user_id))
            suggestions = (
                await social_queries.people_you_may_know(db, me.user_id, 5) if mine else []
            )
            return OverviewConnections(
                relationship=await status_towards(info, owner.user_id),
                friend_count=len(theirs),
                mutual_friends=0 if mine else len(mine_friends & theirs),
                people_you_may_know=[t.Suggestion.of(s) for s in suggestions],
            )

        async def shared_boards() -> list[SharedBoard]:
            found = await board_queries.shared_boards(db, me.user_id, owner.user_id)
            return [SharedBoard(id=strawberry.ID(b), title=title) for b, title in found]

        async def activity() -> OverviewActivity:
            if owner_abroad:
                return OverviewActivity(presence=None, recent_moods=page.recent_moods)
            views = await mood_queries.recent_visible(
                db, viewer_id=me.user_id, owner_id=owner.user_id, limit=5
            )
            presence = None
            if mine or owner.user_id in await social_queries.friend_ids(db, me.user_id):
                now = await core.presence.visible([owner.user_id])
                presence = now[owner.user_id].status.value if owner.user_id in now else None
            return OverviewActivity(
                presence=presence, recent_moods=[t.MoodEntry.of(v, owner) for v in views]
            )

        async def insights() -> list[Insight] | None:
            if not mine:
                return None
            return [Insight.of(v) for v in await insight_queries.insights_of(db, me.user_id)]

        async def similar() -> list[str] | None:
            from hugmood.application.queries import minds as mind_queries

            if not mine or core.minds is None:
                return None
            try:
                found = await mind_queries.similar_minds(db, core.minds, me.user_id, 5)
            except mind_queries.NotDiscoverable:
                return None  # not an outage: you have not opted in
            return [p.handle for p in found.people]

        results = await asyncio.gather(
            within_deadline("moodSeries", series, unavailable),
            within_deadline("connections", connections, unavailable),
            within_deadline("sharedBoards", shared_boards, unavailable),
            within_deadline("activity", activity, unavailable),
            within_deadline("insights", insights, unavailable),
            within_deadline("similarMinds", similar, unavailable),
        )
        return ProfileOverview(
            profile=t.Profile.of(owner),
            mood_series=results[0],
            connections=results[1],
            shared_boards=results[2],
            activity=results[3],
            insights=results[4],
            similar_minds=results[5],
            unavailable=sorted(unavailable),
        )
