"""GraphQL for erasing your account (GDPR art. 17)."""

from __future__ import annotations

import strawberry

from hugmood.domain import identity as identity_rules
from hugmood.entrypoints.graphql.context import Ctx


@strawberry.type
class ErasureMutations:
    @strawberry.mutation(
        description="Erase your account for good, with your password: every session ends "
        "and its sockets close, your data key is destroyed so nothing you wrote can be read "
        "again from any store or copy, and every part of HugMood forgets you (your friends no "
        "longer see you at all); your handle is not given to anyone else. VALIDATION for a "
        "wrong password (throttled like logIn)."
    )
    async def delete_account(self, info: Ctx, password: str) -> bool:
        me = await info.context.principal()
        command = identity_rules.DeleteAccount(me.user_id, password[:1000])
        await info.context.core.bus.handle(command, info.context.command)
        return True
