"""GraphQL for hugs: send, withdraw, mark seen, settings; inbox, sent hugs and counts."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

import strawberry

from hugmood.application.dependencies import Dependencies
from hugmood.application.federation_reads import messages_abroad, names_abroad
from hugmood.application.queries import hugs as hug_queries
from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries.identity import AccountView
from hugmood.domain import hugs as hug_rules
from hugmood.domain import identity as identity_rules
from hugmood.domain.errors import NotFound
from hugmood.domain.hugs import HugStatus as HugStatus
from hugmood.domain.hugs import HugType as HugType
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.readback import account_for
from hugmood.sql.database import SqlDatabase
from hugmood.unavailable import BackendUnavailable

strawberry.enum(HugType, description="The hug vocabulary: what kind of support a hug carries.")
strawberry.enum(
    HugStatus, description="sent (in the inbox), delivered (shown on a device), seen, withdrawn."
)


@strawberry.type
class HugTypeInfo:
    hug_type: HugType
    meaning: str


@strawberry.type(description="A hug as its sender or recipient sees it.")
class Hug:
    id: strawberry.ID
    sender: t.Profile
    recipient: t.Profile
    hug_type: HugType
    message: str | None
    status: HugStatus
    sent_at: datetime
    delivered_at: datetime | None
    seen_at: datetime | None


@strawberry.type
class HugCount:
    friend: t.Profile
    sent: int
    received: int


@strawberry.type(description="Which hugs you accept, and whose hugs arrive without a live push.")
class HugSettings:
    accepted_types: list[HugType]
    muted: list[t.Profile]


@strawberry.input
class SendHugInput:
    id: strawberry.ID | None = strawberry.field(
        default=None, description="A UUID chosen by the device; a retried send is stored once."
    )
    to: str = strawberry.field(description="The friend's handle.")
    hug_type: HugType
    message: str | None = strawberry.field(default=None, description="At most 280 characters.")


async def hugs_of(
    db: SqlDatabase, views: list[hug_queries.HugView], deps: Dependencies, viewer_id: str
) -> list[Hug]:
    """The hugs as `viewer_id` sees them; the message of one from a friend abroad is read
    from the sender's region (it is never kept in the viewer's)."""
    people = await names_abroad(
        deps,
        viewer_id,
        await identity_queries.accounts_by_ids(
            db, sorted({v.sender_id for v in views} | {v.recipient_id for v in views})
        ),
    )
    abroad = await messages_abroad(
        deps,
        viewer_id,
        [
            (v.hug_id, v.sender_id)
            for v in views
            if v.message is None and v.recipient_id == viewer_id and v.sender_id in people
        ],
    )
    views = [replace(v, message=abroad[v.hug_id]) if v.hug_id in abroad else v for v in views]
    profiles = {user_id: t.Profile.of(a) for user_id, a in people.items()}
    profiles[hug_queries.DELETED_ACCOUNT] = t.Profile.deleted_account()
    return [
        Hug(
            id=strawberry.ID(v.hug_id),
            sender=profiles[v.sender_id],
            recipient=profiles[v.recipient_id],
            hug_type=HugType(v.hug_type.value),
            message=v.message,
            status=HugStatus(v.status.value),
            sent_at=t.ms_to_datetime(v.sent_at_ms),
            delivered_at=t.ms_to_datetime(v.delivered_at_ms) if v.delivered_at_ms else None,
            seen_at=t.ms_to_datetime(v.seen_at_ms) if v.seen_at_ms else None,
        )
        for v in views
        if v.sender_id in profiles and v.recipient_id in profiles
    ]


async def _one(info: Ctx, hug_id: str) -> Hug:
    view = await hug_queries.hug(info.context.core.readmodels, hug_id)
    me = await info.context.principal()
    if view is None or me.user_id not in (view.sender_id, view.recipient_id):
        raise NotFound(f"no hug {hug_id}", field="id")
    return (
        await hugs_of(info.context.core.readmodels, [view], info.context.core.deps, me.user_id)
    )[0]


async def _settings(info: Ctx, user_id: str) -> HugSettings:
    db = info.context.core.readmodels
    settings = await hug_queries.hug_settings(db, user_id)
    muted: dict[str, AccountView] = await identity_queries.accounts_by_ids(
        db, sorted(settings.muted_ids)
    )
    return HugSettings(
        accepted_types=[
            HugType(h.value) for h in hug_rules.HugType if h in settings.accepted_types
        ],
        muted=[t.Profile.of(a) for a in sorted(muted.values(), key=lambda a: a.handle)],
    )


async def _recipient_id(info: Ctx, handle: str) -> str:
    """The recipient's id; while the region is away an edge derives it from the handle (the
    region checks, when the hug is forwarded, that they exist and are friends)."""
    try:
        return (await account_for(info, handle)).user_id
    except BackendUnavailable:
        if info.context.core.edge is None or info.context.core.edge.bus is None:
            raise
        return identity_rules.user_id_for(handle)


@strawberry.type
class HugQueries:
    @strawberry.field(description="Every hug type and what it says.")
    def hug_types(self) -> list[HugTypeInfo]:
        return [
            HugTypeInfo(hug_type=HugType(h.value), meaning=hug_rules.HUG_TYPE_MEANINGS[h])
            for h in hug_rules.HugType
        ]

    @strawberry.field(description="Hugs you received, newest first (withdrawn ones are gone).")
    async def inbox(self, info: Ctx, unseen_only: bool = False, limit: int = 20) -> list[Hug]:
        me = await info.context.principal()
        views = await hug_queries.inbox(
            info.context.core.readmodels, me.user_id, unseen_only=unseen_only, limit=limit
        )
        return await hugs_of(
            info.context.core.readmodels, views, info.context.core.deps, me.user_id
        )

    @strawberry.field(description="Hugs you sent, newest first, with their status.")
    async def sent_hugs(self, info: Ctx, limit: int = 20) -> list[Hug]:
        me = await info.context.principal()
        db = info.context.core.readmodels
        sent = await hug_queries.sent_hugs(db, me.user_id, limit=limit)
        return await hugs_of(db, sent, info.context.core.deps, me.user_id)

    @strawberry.field(description="Hugs exchanged with each friend.")
    async def hug_counts(self, info: Ctx) -> list[HugCount]:
        me = await info.context.principal()
        db = info.context.core.readmodels
        counts = await hug_queries.hug_counts(db, me.user_id)
        people = await identity_queries.accounts_by_ids(db, [c.friend_id for c in counts])
        return [
            HugCount(friend=t.Profile.of(people[c.friend_id]), sent=c.sent, received=c.received)
            for c in counts
            if c.friend_id in people
        ]

    @strawberry.field(description="Your hug settings.")
    async def hug_settings(self, info: Ctx) -> HugSettings:
        me = await info.context.principal()
        return await _settings(info, me.user_id)


async def _send(info: Ctx, command: object) -> str:
    result = await info.context.core.bus.handle(command, info.context.command)
    value: str = result.value
    return value


@strawberry.type
class HugMutations:
    @strawberry.mutation(description="Send a hug to a friend. Stored before you are answered.")
    async def send_hug(self, info: Ctx, input: SendHugInput) -> Hug:
        me = await info.context.principal()
        hug_id = await _send(
            info,
            hug_rules.SendHug(
                hug_id=str(input.id) if input.id else str(uuid.uuid4()),
                sender_id=me.user_id,
                recipient_id=await _recipient_id(info, input.to),
                hug_type=input.hug_type.value,
                message=input.message,
            ),
        )
        return await _one(info, hug_id)

    @strawberry.mutation(description="Take back a hug you sent, until it has been seen.")
    async def withdraw_hug(self, info: Ctx, id: strawberry.ID) -> Hug:
        me = await info.context.principal()
        return await _one(info, await _send(info, hug_rules.WithdrawHug(str(id), me.user_id)))

    @strawberry.mutation(description="Mark a hug in your inbox as seen (its sender is told).")
    async def mark_hug_seen(self, info: Ctx, id: strawberry.ID) -> Hug:
        me = await info.context.principal()
        return await _one(info, await _send(info, hug_rules.MarkHugSeen(str(id), me.user_id)))

    @strawberry.mutation(description="Choose which hug types you accept.")
    async def set_accepted_hug_types(
        self,
        info: Ctx,
        hug_types: list[HugType],
    ) -> HugSettings:
        me = await info.context.principal()
        command = hug_rules.ChangeHugSettings(
            me.user_id, accepted_types=tuple(h.value for h in hug_types)
        )
        await info.context.core.bus.handle(command, info.context.command)
        return await _settings(info, me.user_id)

    @strawberry.mutation(description="Hugs from this friend arrive quietly, without a live push.")
    async def mute_friend(self, info: Ctx, handle: str) -> HugSettings:
        return await _mute(info, handle, mute=True)

    @strawberry.mutation
    async def unmute_friend(self, info: Ctx, handle: str) -> HugSettings:
        return await _mute(info, handle, mute=False)


async def _mute(info: Ctx, handle: str, *, mute: bool) -> HugSettings:
    me = await info.context.principal()
    ids = ((await account_for(info, handle)).user_id,)
    command = hug_rules.ChangeHugSettings(
        me.user_id, mute=ids if mute else (), unmute=() if mute else ids
    )
    await info.context.core.bus.handle(command, info.context.command)
    return await _settings(info, me.user_id)
