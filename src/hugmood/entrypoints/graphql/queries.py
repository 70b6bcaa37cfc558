"""GraphQL queries. Each resolver asks the query layer, which applies the privacy rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

import strawberry

from hugmood.application.federation import abroad
from hugmood.application.federation_reads import names_abroad
from hugmood.application.queries import moods as mood_queries
from hugmood.application.queries import social as social_queries
from hugmood.application.queries.regional import my_regional_rules
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.domain.history import Aggregation
from hugmood.domain.vocabulary import MOODS
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.abroad import user_abroad, with_friends_abroad
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.readback import (
    account_for,
    entries_with_authors,
    status_towards,
    visible_account,
)
from hugmood.entrypoints.graphql.regional import MyRules

MAX_SUGGESTIONS = 50


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user's account.")
    async def me(self, info: Ctx) -> t.Account:
        return t.Account.of(await account_for(info, None))

    @strawberry.field(
        description="Where your data lives and the rules that apply to you there: your "
        "country and home region, how long check-ins are kept, the verified age each gated "
        "feature asks (with the rule's name), and whether analytics and learning are opt-in."
    )
    async def my_rules(self, info: Ctx) -> MyRules:
        me = await info.context.principal()
        return MyRules.of(await my_regional_rules(info.context.core.deps, me.user_id))

    @strawberry.field(description="Every mood word, with its energy and pleasantness.")
    def mood_vocabulary(self) -> list[t.MoodWord]:
        return [t.MoodWord.of(w) for w in MOODS.values()]

    @strawberry.field(
        description="The home regions this server keeps data in (its own region until "
        "servers of several regions work together): what sign-up should offer."
    )
    def regions(self, info: Ctx) -> list[str]:
        return [info.context.core.settings.region]

    @strawberry.field(
        description="The countries (ISO 3166-1 alpha-2) a sign-up here may give: those whose "
        "people keep their data in this server's regions; the first is the default country."
    )
    def sign_up_countries(self, info: Ctx) -> list[str]:
        rules = info.context.core.deps.rules
        if rules is None:
            return []
        countries, default = rules.sign_up_countries([info.context.core.settings.region])
        return [default, *(c for c in countries if c != default)]

    @strawberry.field(
        description="A page of helplines for someone having a very hard time, chosen by the "
        "server's operator per country (ISO 3166 alpha-2, e.g. from the browser's language); "
        "an international directory when none is set."
    )
    def crisis_resource(self, info: Ctx, country: str | None = None) -> str:
        if country is not None and len(country) > 10:
            country = None
        return info.context.core.settings.crisis_resource(country)

    @strawberry.field(
        description="A user's mood history in [from, to): raw entries or day/week/month "
        "buckets, counting only entries the viewer may see. Omit `handle` for your own."
    )
    async def mood_history(
        self,
        info: Ctx,
        start: Annotated[datetime, strawberry.argument(name="from")],
        end: Annotated[datetime, strawberry.argument(name="to")],
        handle: str | None = None,
        aggregation: t.Aggregation = t.Aggregation.NONE,
        time_zone: str = "UTC",
    ) -> t.MoodHistory:
        me = await info.context.principal()
        owner = await visible_account(info, handle)
        for name, value in (("from", start), ("to", end)):
            if value.tzinfo is None:
                raise ValidationFailed(f"{name} must include a time zone offset", field=name)
        edge = info.context.core.edge
        own = owner.user_id == me.user_id and aggregation is t.Aggregation.NONE
        if edge and edge.personal and own:
            # Your own raw history, warmed at the edge before the hour you usually come.
            warm = edge.personal.history(me.user_id, start, end)
            if warm is not None:
                return t.MoodHistory(
                    aggregation=aggregation,
                    entries=[t.MoodEntry.of(e, owner) for e in warm],
                    bucket_views=[],
                )
        result = await info.context.core.heavy_reads.mood_history(
            viewer_id=me.user_id,
            owner_id=owner.user_id,
            start=start,
            end=end,
            aggregation=Aggregation(aggregation.value),
            zone=mood_queries.time_zone(time_zone),
        )
        entries = [r for r in result if isinstance(r, mood_queries.MoodEntryView)]
        return t.MoodHistory(
            aggregation=aggregation,
            entries=[t.MoodEntry.of(e, owner) for e in entries],
            bucket_views=[r for r in result if isinstance(r, mood_queries.MoodBucket)],
        )

    @strawberry.field(description="One entry, if it exists and you may see it.")
    async def mood_entry(self, info: Ctx, id: strawberry.ID) -> t.MoodEntry:
        me = await info.context.principal()
        view = await mood_queries.mood_entry(
            info.context.core.readmodels, viewer_id=me.user_id, entry_id=id
        )
        if view is None:
            raise NotFound(f"no mood entry {id} that you may see", field="id")
        return (await entries_with_authors(info, [view]))[0]

    @strawberry.field(description="Your friends' entries that they share with friends or everyone.")
    async def friends_feed(
        self, info: Ctx, before: datetime | None = None, limit: int = 20
    ) -> list[t.MoodEntry]:
        me = await info.context.principal()
        edge = info.context.core.edge
        warm = edge.personal.feed(me.user_id, limit) if edge and edge.personal else None
        before_ms = int(before.timestamp() * 1000) if before else None
        if warm is not None and before is None:
            views = warm
        else:
            views = await mood_queries.friends_feed(
                info.context.core.readmodels, viewer_id=me.user_id, before_ms=before_ms, limit=limit
            )
        return await entries_with_authors(
            info, await with_friends_abroad(info, me.user_id, views, before_ms, limit)
        )

    @strawberry.field(description="A user's public profile and the entries you may see.")
    async def user(self, info: Ctx, handle: str, recent: int = 10) -> t.UserPage:
        if not 0 <= recent <= 50:
            raise ValidationFailed("recent must be between 0 and 50", field="recent")
        me = await info.context.principal()
        edge = info.context.core.edge
        seen = await edge.public.stranger_view(me.user_id, handle) if edge and edge.public else None
        if seen is not None:
            # A stranger's view, the same for every stranger: from the edge's cache.
            return t.UserPage(
                profile=t.Profile.of(seen.page.account),
                relationship=t.RelationshipStatus(seen.status or "none"),
                friend_count=seen.page.friend_count,
                recent_moods=[
                    t.MoodEntry.of(v, seen.page.account) for v in seen.page.recent[:recent]
                ],
            )
        db = info.context.core.readmodels
        account = await visible_account(info, handle)
        if await abroad(info.context.core.deps, account.user_id) is not None:
            return await user_abroad(info, me.user_id, account, recent)
        views = await mood_queries.recent_visible(
            db, viewer_id=me.user_id, owner_id=account.user_id, limit=recent
        )
        return t.UserPage(
            profile=t.Profile.of(account),
            relationship=await status_towards(info, account.user_id),
            friend_count=await social_queries.friend_count(db, account.user_id),
            recent_moods=[t.MoodEntry.of(v, account) for v in views],
        )

    @strawberry.field(
        description="People you may know: friends of your friends, most mutual friends first "
        "(never a friend, someone with a request pending either way, or a block either way). "
        "`limit` is 1 to 50."
    )
    async def people_you_may_know(self, info: Ctx, limit: int = 10) -> list[t.Suggestion]:
        if not 1 <= limit <= MAX_SUGGESTIONS:
            raise ValidationFailed(f"limit must be 1 to {MAX_SUGGESTIONS}", field="limit")
        me = await info.context.principal()
        found = await social_queries.people_you_may_know(
            info.context.core.readmodels, me.user_id, limit
        )
        return [t.Suggestion.of(s) for s in found]

    @strawberry.field(description="Your friends, your sent and received requests, or blocks.")
    async def connections(
        self, info: Ctx, status: t.RelationshipStatus = t.RelationshipStatus.FRIENDS
    ) -> list[t.Connection]:
        if status in (t.RelationshipStatus.SELF, t.RelationshipStatus.NONE):
            raise ValidationFailed(
                "status must be FRIENDS, REQUESTED, INCOMING or BLOCKED", field="status"
            )
        me = await info.context.principal()
        core = info.context.core
        found = await social_queries.connections(core.readmodels, me.user_id, status.value)
        # Friends abroad by the names they chose, as their regions show them to this viewer.
        people = await names_abroad(
            core.deps, me.user_id, {c.account.user_id: c.account for c in found}
        )
        return [t.Connection.of(replace(c, account=people[c.account.user_id])) for c in found]
