"""GraphQL for your sessions: the devices signed in to your account, and signing one out."""

from __future__ import annotations

import time
from datetime import datetime

import strawberry

from hugmood.application.queries import identity as identity_queries
from hugmood.domain import identity as identity_rules
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx


@strawberry.type(description="A session: one device signed in to your account.")
class Session:
    id: strawberry.ID
    device: str | None = strawberry.field(description="What the device called itself at logIn.")
    started_at: datetime
    expires_at: datetime
    current: bool = strawberry.field(description="The session this request is made with.")


@strawberry.type
class SessionQueries:
    @strawberry.field(description="Your sessions that still sign a device in, newest first.")
    async def my_sessions(self, info: Ctx) -> list[Session]:
        me = await info.context.principal()
        found = await identity_queries.my_sessions(
            info.context.core.readmodels, me.user_id, int(time.time() * 1000)
        )
        return [
            Session(
                id=strawberry.ID(s.session_id),
                device=s.device,
                started_at=t.ms_to_datetime(s.started_at_ms),
                expires_at=t.ms_to_datetime(s.expires_at_ms),
                current=s.session_id == me.session_id,
            )
            for s in found
        ]


@strawberry.type
class SessionMutations:
    @strawberry.mutation(
        description="Sign one of your sessions out (a lost phone, a shared computer): its token "
        "stops working and its sockets close (4401). NOT_FOUND for a session not yours."
    )
    async def log_out_session(self, info: Ctx, id: strawberry.ID) -> bool:
        me = await info.context.principal()
        command = identity_rules.LogOut(me.user_id, str(id)[:100])
        await info.context.core.bus.handle(command, info.context.command)
        return True
