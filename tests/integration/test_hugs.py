"""Hugs through the command bus and read models, on every backend."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from hugmood.application.queries import hugs as hq
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import hugs as hg
from hugmood.domain import identity as idm
from hugmood.domain import social as sc
from hugmood.domain.errors import Conflict, Forbidden, RateLimited
from hugmood.domain.hugs import HugStatus
from tests.conftest import unique


async def friends(core: HugMood) -> tuple[str, str, str]:
    """Two friends and a stranger."""
    ids = []
    for prefix in ("ann", "ben", "cat"):
        handle = unique(prefix)
        await core.bus.handle(idm.RegisterUser(handle, prefix, "a good password", "eu-west"))
        ids.append(idm.user_id_for(handle))
    ann, ben, cat = ids
    await core.bus.handle(sc.RequestFriendship(ann, ben))
    await core.bus.handle(sc.AcceptFriendship(ben, ann))
    return ann, ben, cat


async def hug(core: HugMood, sender: str, recipient: str, kind: str = "warm") -> str:
    result = await core.bus.handle(hg.SendHug(str(uuid.uuid4()), sender, recipient, kind))
    hug_id: str = result.value
    return hug_id


async def test_a_hug_lands_in_the_inbox_and_its_sender_follows_its_status(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        ann, ben, _ = await friends(core)
        hug_id = await hug(core, ann, ben, "comforting")
        (received,) = await hq.inbox(core.readmodels, ben, unseen_only=True, limit=10)
        assert (received.hug_id, received.hug_type.value, received.status) == (
            hug_id,
            "comforting",
            HugStatus.SENT,
        )
        await core.bus.handle(hg.MarkHugDelivered(hug_id, ben, "phone"))
        await core.bus.handle(hg.MarkHugSeen(hug_id.upper(), ben))
        (mine,) = await hq.sent_hugs(core.readmodels, ann, limit=10)
        assert mine.status is HugStatus.SEEN
        assert mine.delivered_at_ms is not None
        assert mine.seen_at_ms is not None
        assert await hq.inbox(core.readmodels, ben, unseen_only=True, limit=10) == []
        with pytest.raises(Conflict, match="seen"):
            await core.bus.handle(hg.WithdrawHug(hug_id, ann))
        counts = {
            c.friend_id: (c.sent, c.received) for c in await hq.hug_counts(core.readmodels, ann)
        }
        assert counts == {ben: (1, 0)}


async def test_withdrawn_hugs_leave_the_inbox(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        ann, ben, _ = await friends(core)
        hug_id = await hug(core, ann, ben)
        await core.bus.handle(hg.WithdrawHug(hug_id, ann))
        assert await hq.inbox(core.readmodels, ben, unseen_only=False, limit=10) == []
        (mine,) = await hq.sent_hugs(core.readmodels, ann, limit=10)
        assert mine.status is HugStatus.WITHDRAWN
        assert await hq.hug_counts(core.readmodels, ben) == [hq.HugCount(ann, 0, 0)]


async def test_strangers_unaccepted_types_and_muted_friends(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        ann, ben, cat = await friends(core)
        with pytest.raises(Forbidden, match="friends"):
            await hug(core, cat, ben)
        await core.bus.handle(hg.ChangeHugSettings(ben, accepted_types=("calm",), mute=(ann,)))
        with pytest.raises(Forbidden, match="warm"):
            await hug(core, ann, ben, "warm")
        await hug(core, ann, ben, "calm")
        (quiet,) = await hq.inbox(core.readmodels, ben, unseen_only=True, limit=10)
        assert quiet.muted
        settings_now = await hq.hug_settings(core.readmodels, ben)
        assert settings_now.accepted_types == {hg.HugType.CALM}
        assert settings_now.muted_ids == {ann}


async def test_a_retried_send_is_stored_once_and_not_counted_twice(settings: Settings) -> None:
    async with open_hugmood(replace(settings, hugs_per_minute=2)) as core:
        ann, ben, _ = await friends(core)
        send = hg.SendHug(str(uuid.uuid4()), ann, ben, "strength", "go!")
        before = await core.store.last_position()
        await core.bus.handle(send)
        await core.bus.handle(send)
        await core.bus.handle(send)
        assert await core.store.last_position() == before + 1
        await hug(core, ann, ben)
        with pytest.raises(RateLimited):
            await hug(core, ann, ben)
        assert len(await hq.sent_hugs(core.readmodels, ann, limit=10)) == 2


async def test_deliveries_noted_by_pushes_are_recorded_in_the_background(
    durable_settings: Settings,
) -> None:
    settings = durable_settings
    async with open_hugmood(settings) as core:
        ann, ben, _ = await friends(core)
        hugs = [await hug(core, ann, ben) for _ in range(5)]
        withdrawn = await hug(core, ann, ben)
        await core.bus.handle(hg.WithdrawHug(withdrawn, ann))
        for hug_id in [*hugs, hugs[0], withdrawn]:  # a repeat and a refusal are harmless
            core.deliveries.delivered(hug_id, ben, "phone")
    # Leaving drains what was noted before the store closes.
    async with open_hugmood(settings) as core:
        await core.projections.wait_for(await core.store.last_position())
        sent = {v.hug_id: v for v in await hq.sent_hugs(core.readmodels, ann, limit=10)}
        assert {sent[h].status for h in hugs} == {HugStatus.DELIVERED}
        assert sent[withdrawn].status is HugStatus.WITHDRAWN
        assert core.deliveries.pending == 0
