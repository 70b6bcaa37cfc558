"""Friends who live in another region, as the viewer's region shows them: read from their
region when viewed, never kept here (`application.federation`)."""

from __future__ import annotations

from dataclasses import replace

from hugmood.application.federation_reads import moods_abroad, profile_abroad
from hugmood.application.queries import social as social_queries
from hugmood.application.queries.identity import AccountView
from hugmood.application.queries.moods import MoodEntryView
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.readback import status_towards


async def with_friends_abroad(
    info: Ctx, viewer_id: str, views: list[MoodEntryView], before_ms: int | None, limit: int
) -> list[MoodEntryView]:
    """`views` with what friends abroad share with the viewer, newest first, at most `limit`."""
    core = info.context.core
    if core.deps.federation is None:
        return views
    friends = await social_queries.friend_ids(core.readmodels, viewer_id)
    more = await moods_abroad(core.deps, viewer_id, friends, before_ms=before_ms, limit=limit)
    if not more:
        return views
    merged = sorted([*views, *more], key=lambda v: v.recorded_at_ms, reverse=True)
    return merged[:limit]


async def user_abroad(info: Ctx, viewer_id: str, account: AccountView, recent: int) -> t.UserPage:
    """The page of someone abroad: their name, bio and check-ins as their region shows them
    to the viewer (a friend sees what they share with friends; anyone else, their handle)."""
    core = info.context.core
    relationship = await status_towards(info, account.user_id)
    moods: list[MoodEntryView] = []
    if relationship is t.RelationshipStatus.FRIENDS:
        shown = await profile_abroad(core.deps, viewer_id, account.user_id)
        account = replace(
            account,
            display_name=shown.get("displayName", account.display_name),
            bio=shown.get("bio", ""),
        )
        if recent:
            moods = await moods_abroad(
                core.deps, viewer_id, [account.user_id], before_ms=None, limit=recent
            )
    return t.UserPage(
        profile=t.Profile.of(account),
        relationship=relationship,
        friend_count=0,
        recent_moods=[t.MoodEntry.of(v, account) for v in moods],
    )
