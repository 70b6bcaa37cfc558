"""GraphQL for presence: heartbeats, friends' presence now, and (in subscriptions) changes."""

from __future__ import annotations

import strawberry

from hugmood.application.federation_presence import presence_abroad
from hugmood.application.federation_reads import names_abroad
from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries import social as social_queries
from hugmood.bootstrap import HugMood
from hugmood.domain.common import clean_text
from hugmood.domain.errors import ValidationFailed
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.realtime.hub import Presence, PresenceStatus
from hugmood.sql.database import SqlDatabase

strawberry.enum(
    PresenceStatus, description="online, away (idle), or offline (no device connected)."
)


@strawberry.type(description="A friend's presence over all their devices.")
class FriendPresence:
    profile: t.Profile
    status: PresenceStatus
    view: str | None


async def friend_ids(db: SqlDatabase, user_id: str) -> list[str]:
    found = await social_queries.connections(db, user_id, "friends")
    return [c.account.user_id for c in found]


async def visible_presence(
    core: HugMood, viewer_id: str, user_ids: list[str]
) -> dict[str, Presence]:
    """Presence now as the viewer may see it: friends abroad's read from their regions."""
    now = await core.presence.visible(user_ids)
    for user_id, shown in (await presence_abroad(core.deps, viewer_id, user_ids)).items():
        now[user_id] = Presence(user_id, PresenceStatus(shown["status"]), shown["view"])
    return now


async def presences_of(
    core: HugMood, viewer_id: str, presences: list[Presence]
) -> list[FriendPresence]:
    """As the viewer sees them: friends abroad by the names they chose (`names_abroad`)."""
    people = await names_abroad(
        core.deps,
        viewer_id,
        await identity_queries.accounts_by_ids(core.readmodels, [p.user_id for p in presences]),
    )
    return [
        FriendPresence(
            profile=t.Profile.of(people[p.user_id]),
            status=p.status,
            view=p.view,
        )
        for p in presences
        if p.user_id in people
    ]


@strawberry.type
class PresenceQueries:
    @strawberry.field(description="Each friend's presence now (friends only).")
    async def friends_presence(self, info: Ctx) -> list[FriendPresence]:
        me = await info.context.principal()
        db = info.context.core.readmodels
        ids = await friend_ids(db, me.user_id)
        now = await visible_presence(info.context.core, me.user_id, ids)
        return await presences_of(info.context.core, me.user_id, [now[i] for i in ids])


@strawberry.type
class PresenceMutations:
    @strawberry.mutation(
        description="I'm here: send every `presenceHeartbeatSeconds` (30 s by default) from "
        "each device; a device that stops is offline after two missed heartbeats. Sent over "
        "a subscription socket, it refreshes that socket's device."
    )
    async def heartbeat(
        self,
        info: Ctx,
        status: PresenceStatus = PresenceStatus.ONLINE,
        view: str | None = None,
        device_id: str | None = None,
    ) -> PresenceStatus:
        me = await info.context.principal()
        if status is PresenceStatus.OFFLINE:
            raise ValidationFailed(
                "a heartbeat says ONLINE or AWAY; close the socket or log out to go offline",
                field="status",
            )
        if view is not None:
            view = clean_text(view, field="view", max_length=200) or None
        device = (
            info.context.socket_device
            or (device_id or "").strip()[:100]
            or info.context.command.device_id
            or me.session_id
        )
        if info.context.socket_device is not None:
            info.context.socket_presence = (status, view)
        presence = await info.context.core.presence.heartbeat(me.user_id, device, status, view)
        return presence.status
