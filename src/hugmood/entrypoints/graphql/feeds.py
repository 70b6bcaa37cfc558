"""What each subscription shows: the channels it listens on, what it shows first, what each
live message becomes, and what happens once something was shown.

One `Feed` per subscription field. The socket endpoint (`entrypoints.ws`) drives feeds with
hub callbacks, holding no task or queue per idle subscription; `subscriptions.py` drives the
same feeds as Strawberry async generators. Messages carry ids only: a feed reads what they
name from the read models, so privacy is the query layer's, as for every other read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hugmood.application.federation_reads import mood_abroad, names_abroad
from hugmood.application.queries import hugs as hug_queries
from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries import moods as mood_queries
from hugmood.application.queries import social as social_queries
from hugmood.domain import hugs as hug_rules
from hugmood.domain.privacy import is_friend
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import RequestContext
from hugmood.entrypoints.graphql.hugs import Hug, HugStatus, hugs_of
from hugmood.entrypoints.graphql.learning import ModelVersion
from hugmood.entrypoints.graphql.presence import friend_ids, presences_of, visible_presence
from hugmood.learning.service import VERSIONS_CHANNEL
from hugmood.realtime.hub import (
    Listening,
    Message,
    OnMessage,
    Presence,
    PresenceStatus,
    RealtimeHub,
)
from hugmood.realtime.presence import presence_channel
from hugmood.realtime.relay import friend_moods, friend_moods_abroad, hugs_in, hugs_out


class Feed:
    """One subscription's source of events. Subclasses set `hub` and `channels`, and
    `abroad`: channels on the hub every process shares, where another region's news for the
    subscriber arrives (it reaches one process of this region, not every one)."""

    __slots__ = ("abroad", "channels", "context", "hub", "user_id")

    def __init__(
        self,
        context: RequestContext,
        user_id: str,
        hub: RealtimeHub,
        channels: list[str],
        abroad: list[str] | None = None,
    ) -> None:
        self.context = context
        self.user_id = user_id
        self.hub = hub
        self.channels = channels
        self.abroad = abroad or []

    async def first(self) -> list[Any]:
        """What to show as soon as the subscription starts (after it listens)."""
        return []

    async def translate(self, channel: str, message: Message) -> Any | None:
        """What a live message becomes for this subscriber, or None to show nothing."""
        raise NotImplementedError

    async def shown(self, payload: Any) -> None:
        """Called once `payload` was sent to the subscriber."""


class HugsReceived(Feed):
    """`hugReceived`: every hug no device has shown yet, then each new one; shown hugs are
    recorded as delivered."""

    __slots__ = ("_shown",)

    def __init__(self, context: RequestContext, user_id: str) -> None:
        super().__init__(context, user_id, context.core.live, [hugs_in(user_id)])
        self._shown: set[str] = set()

    async def first(self) -> list[Any]:
        db = self.context.core.readmodels
        waiting = await hug_queries.waiting(db, self.user_id)
        return await hugs_of(db, waiting, self.context.core.deps, self.user_id)

    async def translate(self, channel: str, message: Message) -> Any | None:
        db = self.context.core.readmodels
        found = await hug_queries.hug(db, str(message["hugId"]))
        if found is None or found.recipient_id != self.user_id:
            return None
        if found.status is hug_rules.HugStatus.SENT and found.hug_id in self._shown:
            return None  # already shown from the inbox, and announced live as well
        hugs = await hugs_of(db, [found], self.context.core.deps, self.user_id)
        return hugs[0] if hugs else None

    async def shown(self, payload: Any) -> None:
        hug: Hug = payload
        if hug.status is HugStatus.SENT and hug.id not in self._shown:
            self._shown.add(hug.id)
            self.context.core.deliveries.delivered(
                hug.id, self.user_id, self.context.command.device_id
            )


class HugStatusChanged(Feed):
    """`hugStatusChanged`: the caller's sent hugs as they are delivered, seen or withdrawn."""

    __slots__ = ()

    def __init__(self, context: RequestContext, user_id: str) -> None:
        super().__init__(context, user_id, context.core.live, [hugs_out(user_id)])

    async def translate(self, channel: str, message: Message) -> Any | None:
        db = self.context.core.readmodels
        view = await hug_queries.hug(db, str(message["hugId"]))
        if view is None or view.sender_id != self.user_id:
            return None
        hugs = await hugs_of(db, [view], self.context.core.deps, self.user_id)
        return hugs[0] if hugs else None


class FriendPresenceFeed(Feed):
    """`friendPresence`: each friend's presence now, then every change (friends who appear
    offline stay offline). The friends are those at the time of subscribing, less any who
    stopped being friends since (unfriended or blocked, either way)."""

    __slots__ = ("_friends",)

    def __init__(self, context: RequestContext, user_id: str, friends: list[str]) -> None:
        presence = context.core.presence
        super().__init__(context, user_id, presence.hub, [presence_channel(f) for f in friends])
        self._friends = friends

    async def first(self) -> list[Any]:
        now = await visible_presence(self.context.core, self.user_id, self._friends)
        return list(
            await presences_of(self.context.core, self.user_id, [now[i] for i in self._friends])
        )

    async def translate(self, channel: str, message: Message) -> Any | None:
        user_id = channel.removeprefix("presence:")
        db = self.context.core.readmodels
        # Checked at every push, as the query side does: a friend who blocked or unfriended
        # the subscriber since it subscribed is no longer shown.
        if not is_friend(await social_queries.relationship(db, self.user_id, user_id)):
            return None
        status = PresenceStatus(str(message["status"]))
        view = message.get("view")
        present = Presence(user_id, status, str(view) if view else None)
        found = await presences_of(self.context.core, self.user_id, [present])
        return found[0] if found else None


class FriendMoodRecorded(Feed):
    """`friendMoodRecorded`: friends' new check-ins, only those they share with the caller;
    a friend abroad's read from their region (as the feed reads it), told by that region."""

    __slots__ = ()

    def __init__(self, context: RequestContext, user_id: str) -> None:
        super().__init__(
            context,
            user_id,
            context.core.live,
            [friend_moods(user_id)],
            abroad=[friend_moods_abroad(user_id)] if context.core.deps.federation else [],
        )

    async def translate(self, channel: str, message: Message) -> Any | None:
        core = self.context.core
        db = core.readmodels
        entry_id = str(message["entryId"])
        if channel in self.abroad:
            owner = str(message["ownerId"])
            # Checked at every push, as for presence: still friends, seen from here too.
            if not is_friend(await social_queries.relationship(db, self.user_id, owner)):
                return None
            view = await mood_abroad(core.deps, self.user_id, owner, entry_id)
        else:
            view = await mood_queries.mood_entry(db, viewer_id=self.user_id, entry_id=entry_id)
        if view is None:
            return None
        authors = await names_abroad(
            core.deps, self.user_id, await identity_queries.accounts_by_ids(db, [view.user_id])
        )
        author = authors.get(view.user_id)
        return t.MoodEntry.of(view, author) if author is not None else None


class ModelVersionPublished(Feed):
    """`modelVersionPublished`: each new global version of the mood model (the same for
    everyone: a number and its epsilon, nothing about anyone)."""

    __slots__ = ()

    def __init__(self, context: RequestContext, user_id: str) -> None:
        # The shared hub, as presence: the coordinator may run in another process.
        super().__init__(context, user_id, context.core.presence.hub, [VERSIONS_CHANNEL])

    async def translate(self, channel: str, message: Message) -> Any | None:
        return ModelVersion.of(message)


SUBSCRIPTIONS = frozenset(
    {
        "hugReceived",
        "hugStatusChanged",
        "friendPresence",
        "friendMoodRecorded",
        "modelVersionPublished",
    }
)
"""The subscription fields a feed stands behind."""


async def open_feed(field: str, context: RequestContext) -> Feed:
    """The feed behind a subscription field, for the caller (UNAUTHENTICATED without one)."""
    me = await context.principal()
    match field:
        case "hugReceived":
            return HugsReceived(context, me.user_id)
        case "hugStatusChanged":
            return HugStatusChanged(context, me.user_id)
        case "friendPresence":
            friends = await friend_ids(context.core.readmodels, me.user_id)
            return FriendPresenceFeed(context, me.user_id, friends)
        case "friendMoodRecorded":
            return FriendMoodRecorded(context, me.user_id)
        case "modelVersionPublished":
            return ModelVersionPublished(context, me.user_id)
    raise LookupError(f"no subscription named {field!r}")


async def listen_to(feed: Feed, on_message: OnMessage) -> Listening:
    """Hand every live message of the feed to `on_message`: its own hub's and, for a feed
    that hears from other regions, the shared hub's."""
    here = await feed.hub.listen(feed.channels, on_message)
    if not feed.abroad:
        return here
    try:
        there = await feed.context.core.presence.hub.listen(feed.abroad, on_message)
    except BaseException:
        await here.close()
        raise
    return _Both(here, there)


@asynccontextmanager
async def subscribed(feed: Feed) -> AsyncIterator[AsyncIterator[tuple[str, Message]]]:
    """`listen_to` as an async iterator (for Strawberry's subscription generators)."""
    queue: asyncio.Queue[tuple[str, Message]] = asyncio.Queue()
    listening = await listen_to(feed, lambda channel, message: queue.put_nowait((channel, message)))

    async def messages() -> AsyncIterator[tuple[str, Message]]:
        while True:
            yield await queue.get()

    try:
        yield messages()
    finally:
        await listening.close()


class _Both:
    def __init__(self, *listening: Listening) -> None:
        self._listening = listening

    async def close(self) -> None:
        for one in self._listening:
            await one.close()
