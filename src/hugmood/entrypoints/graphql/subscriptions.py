"""GraphQL subscriptions over `graphql-transport-ws`: hugs, hug status, friends' check-ins.

Each subscription listens on this process's live channels (fed by `realtime.relay`) and
reads what it announces from the read models, so privacy is the query layer's, as for
every other read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from hugmood.application.queries import hugs as hq
from hugmood.application.queries import moods as mq
from hugmood.domain import hugs as hg
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.hugs import Hug, hugs_of
from hugmood.entrypoints.graphql.presence import FriendPresence, friend_ids, presences_of
from hugmood.entrypoints.graphql.queries import entries_with_authors
from hugmood.realtime.hub import Presence, PresenceStatus
from hugmood.realtime.presence import presence_channel
from hugmood.realtime.relay import friend_moods, hugs_in, hugs_out


async def _delivered(info: Ctx, view: hq.HugView) -> None:
    command = hg.MarkHugDelivered(view.hug_id, view.recipient_id, info.context.command.device_id)
    await info.context.core.bus.handle(command, info.context.command)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Hugs for you: first every hug no device of yours has shown yet, then each "
        "new one as it is sent. A hug taken back comes again with status WITHDRAWN."
    )
    async def hug_received(self, info: Ctx) -> AsyncGenerator[Hug, None]:
        me = await info.context.principal()
        core = info.context.core
        # Listen before reading the inbox, so a hug sent in between is not missed.
        async with core.live.subscribe([hugs_in(me.user_id)]) as live:
            shown: set[str] = set()
            for view in await hq.waiting(core.readmodels, me.user_id):
                (hug,) = await hugs_of(info, [view])
                yield hug
                shown.add(view.hug_id)
                await _delivered(info, view)
            async for _, message in live:
                found = await hq.hug(core.readmodels, str(message["hugId"]))
                if found is None or found.recipient_id != me.user_id:
                    continue
                if found.status is hg.HugStatus.SENT and found.hug_id in shown:
                    continue
                (hug,) = await hugs_of(info, [found])
                yield hug
                if found.status is hg.HugStatus.SENT:
                    shown.add(found.hug_id)
                    await _delivered(info, found)

    @strawberry.subscription(description="Your sent hugs as they are delivered, seen or withdrawn.")
    async def hug_status_changed(self, info: Ctx) -> AsyncGenerator[Hug, None]:
        me = await info.context.principal()
        core = info.context.core
        async with core.live.subscribe([hugs_out(me.user_id)]) as live:
            async for _, message in live:
                view = await hq.hug(core.readmodels, str(message["hugId"]))
                if view is not None and view.sender_id == me.user_id:
                    (hug,) = await hugs_of(info, [view])
                    yield hug

    @strawberry.subscription(
        description="Your friends' presence: each friend's now, then every change (friends "
        "who appear offline stay offline)."
    )
    async def friend_presence(self, info: Ctx) -> AsyncGenerator[FriendPresence, None]:
        me = await info.context.principal()
        presence = info.context.core.presence
        ids = await friend_ids(info, me.user_id)
        async with presence.hub.subscribe([presence_channel(i) for i in ids]) as changes:
            now = await presence.visible(ids)
            for friend in await presences_of(info, [now[i] for i in ids]):
                yield friend
            async for channel, message in changes:
                user_id = channel.removeprefix("presence:")
                status = PresenceStatus(str(message["status"]))
                view = message.get("view")
                for friend in await presences_of(
                    info, [Presence(user_id, status, str(view) if view else None)]
                ):
                    yield friend

    @strawberry.subscription(
        description="Your friends' new check-ins, only those they share with you."
    )
    async def friend_mood_recorded(self, info: Ctx) -> AsyncGenerator[t.MoodEntry, None]:
        me = await info.context.principal()
        core = info.context.core
        async with core.live.subscribe([friend_moods(me.user_id)]) as live:
            async for _, message in live:
                view = await mq.mood_entry(
                    core.readmodels, viewer_id=me.user_id, entry_id=str(message["entryId"])
                )
                if view is not None:
                    (entry,) = await entries_with_authors(info, [view])
                    yield entry
