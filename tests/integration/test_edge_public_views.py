"""The edge's public-profile cache on every backend: only a stranger is ever answered from it,
the answer is what the read models show a stranger, and an event about the person (a new
public check-in, a friendship, a block) is seen at once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace

from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import social
from hugmood.domain.moods import RecordMood
from hugmood.edge.public import PublicViews, StrangerView

PASSWORD = "a good password"


async def person(core: HugMood, prefix: str) -> tuple[str, str]:
    handle = f"{prefix}{uuid.uuid4().hex[:8]}"
    await core.bus.handle(idm.RegisterUser(handle, prefix, PASSWORD, "eu-west"))
    return handle, idm.user_id_for(handle)


async def eventually(
    probe: Callable[[], Awaitable[StrangerView | None]],
    check: Callable[[StrangerView | None], bool],
    what: str,
) -> StrangerView | None:
    """The first answer that passes `check` (within 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        found = await probe()
        if check(found):
            return found
        assert time.monotonic() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.02)


async def test_only_strangers_are_served_from_the_cache_and_events_reach_it_at_once(
    settings: Settings,
) -> None:
    async with open_hugmood(replace(settings, edge_cache=True)) as core:
        assert core.edge is not None and core.edge.public is not None
        views: PublicViews = core.edge.public
        owner, owner_id = await person(core, "own")
        _, stranger_id = await person(core, "str")
        _, friend_id = await person(core, "fri")
        await core.bus.handle(social.RequestFriendship(friend_id, owner_id))
        await core.bus.handle(social.AcceptFriendship(owner_id, friend_id))
        public = str(uuid.uuid4())
        await core.bus.handle(RecordMood(public, owner_id, "calm", 0.5, privacy="public"))
        await core.bus.handle(RecordMood(str(uuid.uuid4()), owner_id, "sad", 0.5))  # friends

        def seen_by(viewer: str) -> Callable[[], Awaitable[StrangerView | None]]:
            return lambda: views.stranger_view(viewer, owner)

        first = await eventually(seen_by(stranger_id), lambda v: v is not None, "a view")
        assert first is not None and [e.entry_id for e in first.page.recent] == [public]
        assert first.page.friend_count == 1 and first.status is None
        hits = views.pages.hits
        assert await views.stranger_view(stranger_id, owner) == first
        assert views.pages.hits == hits + 1
        assert await views.stranger_view(friend_id, owner) is None  # friends read it all
        assert await views.stranger_view(owner_id, owner) is None  # so does the owner

        second = str(uuid.uuid4())
        await core.bus.handle(RecordMood(second, owner_id, "happy", 0.6, privacy="public"))
        # From the moment the write is answered, no answer is the page from before it (none
        # at all, while the edge's follower catches up, is allowed).
        newer = await eventually(seen_by(stranger_id), lambda v: v is not None, "a view")
        assert newer is not None and {e.entry_id for e in newer.page.recent} == {public, second}

        await core.bus.handle(social.BlockUser(owner_id, stranger_id))
        assert await views.stranger_view(stranger_id, owner) is None
