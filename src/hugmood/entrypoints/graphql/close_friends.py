"""GraphQL for your close-friends list: the friends who see check-ins you share with close
friends only (privacy CLOSE_FRIENDS). Nobody is told they are on it, or taken off it."""

from __future__ import annotations

import strawberry

from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries import social as social_queries
from hugmood.domain import close_friends as close_rules
from hugmood.domain import identity as identity_rules
from hugmood.domain.errors import ValidationFailed
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx


async def _list(info: Ctx, user_id: str) -> list[t.Profile]:
    db = info.context.core.readmodels
    ids = await social_queries.close_friend_ids(db, user_id)
    accounts = await identity_queries.accounts_by_ids(db, ids)
    return [t.Profile.of(accounts[i]) for i in ids if i in accounts]


def _friend_id(handle: str) -> str:
    try:
        return identity_rules.user_id_for(identity_rules.normalise_handle(handle[:100]))
    except ValidationFailed as e:
        raise ValidationFailed(e.message, field="handle") from None


@strawberry.type
class CloseFriendQueries:
    @strawberry.field(description="Your close friends, longest on the list first.")
    async def close_friends(self, info: Ctx) -> list[t.Profile]:
        me = await info.context.principal()
        return await _list(info, me.user_id)


@strawberry.type
class CloseFriendMutations:
    @strawberry.mutation(
        description="Put a friend on your close-friends list: they see your check-ins shared "
        "with CLOSE_FRIENDS. FORBIDDEN if they are not your friend. Returns the list."
    )
    async def add_close_friend(self, info: Ctx, handle: str) -> list[t.Profile]:
        me = await info.context.principal()
        command = close_rules.AddCloseFriend(me.user_id, _friend_id(handle))
        await info.context.core.bus.handle(command, info.context.command)
        return await _list(info, me.user_id)

    @strawberry.mutation(description="Take someone off your close-friends list; the list.")
    async def remove_close_friend(self, info: Ctx, handle: str) -> list[t.Profile]:
        me = await info.context.principal()
        command = close_rules.RemoveCloseFriend(me.user_id, _friend_id(handle))
        await info.context.core.bus.handle(command, info.context.command)
        return await _list(info, me.user_id)
