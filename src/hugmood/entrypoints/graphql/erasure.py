"""GraphQL for erasing your account (GDPR art. 17), at once or after a grace period."""

from __future__ import annotations

from datetime import datetime

import strawberry

from hugmood.application.queries.erasure import deletion_due_at
from hugmood.domain import erasure as erasure_rules
from hugmood.domain import identity as identity_rules
from hugmood.domain.errors import ValidationFailed
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx


@strawberry.type
class ErasureQueries:
    @strawberry.field(
        description="When your account will be erased, if you asked for its deletion with a "
        "grace period (null: no deletion is waiting)."
    )
    async def account_deletion_due(self, info: Ctx) -> datetime | None:
        me = await info.context.principal()
        due = await deletion_due_at(info.context.core.readmodels, me.user_id)
        return None if due is None else t.ms_to_datetime(due)


@strawberry.type
class ErasureMutations:
    @strawberry.mutation(
        description="Erase your account for good, with your password: every session ends "
        "and its sockets close, your data key is destroyed so nothing you wrote can be read "
        "again from any store or copy, and every part of HugMood forgets you (your friends "
        "no longer see you; hugs you sent them show a deleted account); your handle is not "
        "given to anyone else. VALIDATION for a wrong password (throttled like logIn)."
    )
    async def delete_account(self, info: Ctx, password: str) -> bool:
        me = await info.context.principal()
        command = identity_rules.DeleteAccount(me.user_id, password[:1000])
        await info.context.core.bus.handle(command, info.context.command)
        return True

    @strawberry.mutation(
        description="Erase your account as `deleteAccount` does, but only after `graceDays` "
        "days (1 to 30): your sessions end now, and signing in again before then lets you "
        "keep the account (`cancelAccountDeletion`). Returns when the erasure is due. "
        "VALIDATION for a wrong password (throttled like logIn) or grace period; CONFLICT "
        "if a deletion is already waiting."
    )
    async def schedule_account_deletion(
        self, info: Ctx, password: str, grace_days: int
    ) -> datetime:
        me = await info.context.principal()
        if grace_days == 0:
            raise ValidationFailed(
                "a deletion that waits needs 1 to 30 days; deleteAccount erases at once",
                field="graceDays",
            )
        command = identity_rules.DeleteAccount(me.user_id, password[:1000], grace_days)
        result = await info.context.core.bus.handle(command, info.context.command)
        return t.ms_to_datetime(int(result.value))

    @strawberry.mutation(
        description="Keep your account: the deletion you asked for with a grace period is "
        "cancelled. CONFLICT if none is waiting."
    )
    async def cancel_account_deletion(self, info: Ctx) -> bool:
        me = await info.context.principal()
        command = erasure_rules.CancelAccountDeletion(me.user_id)
        await info.context.core.bus.handle(command, info.context.command)
        return True
