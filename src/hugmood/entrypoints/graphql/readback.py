"""Reading back what resolvers show, for queries and mutations alike: accounts by handle (as
the caller may see them), how the caller stands to someone, entries with their authors."""

from __future__ import annotations

from hugmood.application.federation_reads import names_abroad
from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries import moods as mood_queries
from hugmood.application.queries import social as social_queries
from hugmood.application.queries.identity import AccountView
from hugmood.domain.errors import NotFound
from hugmood.domain.privacy import Privacy, Relationship
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx


async def entries_with_authors(
    ctx: Ctx, views: list[mood_queries.MoodEntryView]
) -> list[t.MoodEntry]:
    me = await ctx.context.principal()
    authors = await names_abroad(
        ctx.context.core.deps,
        me.user_id,
        await identity_queries.accounts_by_ids(
            ctx.context.core.readmodels, sorted({v.user_id for v in views})
        ),
    )
    return [t.MoodEntry.of(v, authors[v.user_id]) for v in views if v.user_id in authors]


async def account_for(ctx: Ctx, handle: str | None) -> AccountView:
    """The account named by `handle`, or the caller's own when it is omitted."""
    db = ctx.context.core.readmodels
    if handle is None:
        me = await ctx.context.principal()
        account = await identity_queries.account_by_id(db, me.user_id)
    else:
        account = await identity_queries.account_by_handle(db, handle)
        if account is None:
            account = await _abroad(ctx, handle)
    if account is None:
        raise NotFound(f"there is no user @{(handle or '').lstrip('@')}", field="handle")
    return account


async def _abroad(ctx: Ctx, handle: str) -> AccountView | None:
    """Someone of another region not yet known here: their handle, as the directory lists it."""
    federation = ctx.context.core.deps.federation
    named = None if federation is None else await federation.named(normal_handle(handle))
    if named is None:
        return None
    user_id, region = named
    return AccountView(
        user_id=user_id,
        handle=normal_handle(handle),
        display_name=normal_handle(handle),
        bio="",
        home_region=region,
        default_visibility=Privacy.FRIENDS_ONLY,
        registered_at_ms=0,
        appear_offline=False,
    )


def normal_handle(handle: str) -> str:
    return handle.strip().removeprefix("@").lower()[:100]


async def visible_account(ctx: Ctx, handle: str | None) -> AccountView:
    """Like `account_for`, but a user who blocked the caller (or was blocked) is not found."""
    account = await account_for(ctx, handle)
    me = await ctx.context.principal()
    blocked = await social_queries.relationship(
        ctx.context.core.readmodels, me.user_id, account.user_id
    )
    if blocked is Relationship.BLOCKED:
        raise NotFound(f"there is no user @{(handle or '').lstrip('@')}", field="handle")
    return account


async def status_towards(ctx: Ctx, other_id: str) -> t.RelationshipStatus:
    db = ctx.context.core.readmodels
    me = await ctx.context.principal()
    if me.user_id == other_id:
        return t.RelationshipStatus.SELF
    if await social_queries.relationship(db, me.user_id, other_id) is Relationship.BLOCKED:
        return t.RelationshipStatus.BLOCKED
    status = await social_queries.friendship_status(db, me.user_id, other_id)
    return t.RelationshipStatus(status) if status else t.RelationshipStatus.NONE
