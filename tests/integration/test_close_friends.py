"""Close friends in the read models, on every backend: who sees a close-friends entry in the
feed, history and by id, and that the list empties when a friendship ends."""

from __future__ import annotations

import uuid

from hugmood.application.queries import moods as mq
from hugmood.application.queries import social as sq
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import close_friends as cf
from hugmood.domain import identity as idm
from hugmood.domain import moods as mood_rules
from hugmood.domain import social as sc
from hugmood.domain.privacy import Relationship
from tests.conftest import unique


async def people(core: HugMood, *prefixes: str) -> list[str]:
    ids = []
    for prefix in prefixes:
        handle = unique(prefix)
        await core.bus.handle(idm.RegisterUser(handle, prefix, "a good password", "eu-west"))
        ids.append(idm.user_id_for(handle))
    return ids


async def befriend(core: HugMood, a: str, b: str) -> None:
    await core.bus.handle(sc.RequestFriendship(a, b))
    await core.bus.handle(sc.AcceptFriendship(b, a))


async def entry(core: HugMood, owner: str, privacy: str) -> str:
    entry_id = str(uuid.uuid4())
    await core.bus.handle(mood_rules.RecordMood(entry_id, owner, "calm", 0.5, privacy=privacy))
    return entry_id


async def feed(core: HugMood, viewer: str) -> set[str]:
    found = await mq.friends_feed(core.readmodels, viewer_id=viewer, before_ms=None, limit=50)
    return {e.entry_id for e in found}


async def test_close_friends_entries_reach_only_the_close_friends(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        ann, ben, cat, dan = await people(core, "ann", "ben", "cat", "dan")
        for friend in (ben, cat):
            await befriend(core, ann, friend)
        await befriend(core, dan, ben)  # Dan's close-friends list does not name Ben
        await core.bus.handle(cf.AddCloseFriend(ann, ben))
        close = await entry(core, ann, "close-friends")
        wide = await entry(core, ann, "friends-only")
        everyone = await entry(core, ann, "public")
        mine = await entry(core, ann, "private")
        dans = await entry(core, dan, "close-friends")

        assert await sq.relationship(core.readmodels, ben, ann) is Relationship.CLOSE_FRIEND
        assert await sq.relationship(core.readmodels, ann, ben) is Relationship.FRIEND
        assert await feed(core, ben) == {close, wide, everyone}
        assert await feed(core, cat) == {wide, everyone}
        assert dans not in await feed(core, ben)
        for viewer, expected in (
            (ann, {close, wide, everyone, mine}),
            (ben, {close, wide, everyone}),
        ):
            shown = await mq.recent_visible(
                core.readmodels, viewer_id=viewer, owner_id=ann, limit=10
            )
            assert {e.entry_id for e in shown} == expected
        assert await mq.mood_entry(core.readmodels, viewer_id=cat, entry_id=close) is None

        await core.bus.handle(sc.BlockUser(ben, ann))
        assert await sq.close_friend_ids(core.readmodels, ann) == []
        assert await mq.mood_entry(core.readmodels, viewer_id=ben, entry_id=close) is None
        assert await feed(core, ben) == set()
