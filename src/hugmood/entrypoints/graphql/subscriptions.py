"""The subscription fields: hugs, hug status, friends' presence and check-ins, new versions
of the mood model.

What each shows is its `Feed` (`feeds.py`). Sockets run feeds through `entrypoints.ws`; the
async generators here run the same feeds for Strawberry's own `Schema.subscribe` (in-process
callers and tests), so there is one definition of each subscription's behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.feeds import open_feed, subscribed
from hugmood.entrypoints.graphql.hugs import Hug
from hugmood.entrypoints.graphql.learning import ModelVersion
from hugmood.entrypoints.graphql.presence import FriendPresence


async def _follow(field: str, info: Ctx) -> AsyncGenerator[Any, None]:
    """Run a feed: listen, show what it shows first, then each live message it translates."""
    feed = await open_feed(field, info.context)
    # (A feed that also hears from other regions listens on two hubs.)
    source = subscribed(feed) if feed.abroad else feed.hub.subscribe(feed.channels)
    async with source as live:
        for payload in await feed.first():
            yield payload
            await feed.shown(payload)
        async for channel, message in live:
            payload = await feed.translate(channel, message)
            if payload is not None:
                yield payload
                await feed.shown(payload)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Hugs for you: first every hug no device of yours has shown yet, then each "
        "new one as it is sent. A hug taken back comes again with status WITHDRAWN."
    )
    async def hug_received(self, info: Ctx) -> AsyncGenerator[Hug, None]:
        async for hug in _follow("hugReceived", info):
            yield hug

    @strawberry.subscription(description="Your sent hugs as they are delivered, seen or withdrawn.")
    async def hug_status_changed(self, info: Ctx) -> AsyncGenerator[Hug, None]:
        async for hug in _follow("hugStatusChanged", info):
            yield hug

    @strawberry.subscription(
        description="Your friends' presence: each friend's now, then every change (friends "
        "who appear offline stay offline)."
    )
    async def friend_presence(self, info: Ctx) -> AsyncGenerator[FriendPresence, None]:
        async for friend in _follow("friendPresence", info):
            yield friend

    @strawberry.subscription(
        description="Your friends' new check-ins, only those they share with you."
    )
    async def friend_mood_recorded(self, info: Ctx) -> AsyncGenerator[t.MoodEntry, None]:
        async for entry in _follow("friendMoodRecorded", info):
            yield entry

    @strawberry.subscription(
        description="Each new global version of the mood model as it is published (fetch "
        "its weights from GET /privacy/learning/model)."
    )
    async def model_version_published(self, info: Ctx) -> AsyncGenerator[ModelVersion, None]:
        async for version in _follow("modelVersionPublished", info):
            yield version
