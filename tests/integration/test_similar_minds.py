"""Similar minds on every backend: only for a discoverable caller, never showing anyone not
discoverable or blocked in either direction, nearest patterns first, and the index rebuilt
from the read models after a restart; what helped them, only from k of them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.queries import minds as mq
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as identity_rules
from hugmood.domain import moods as mood_rules
from hugmood.domain import social as sc
from hugmood.domain.discovery import SetDiscoverable
from hugmood.domain.errors import ValidationFailed
from hugmood.entrypoints.demo import DEMO_USERS, seed_demo
from tests.integration.test_board_rooms import until
from tests.integration.test_community_mood import registered

CALM = ("calm", "relaxed", "content", "calm", "peaceful", "calm")
STORMY = ("angry", "stressed", "anxious", "angry", "frustrated", "angry")


async def person(core: HugMood, prefix: str, moods: tuple[str, ...], discoverable: bool) -> str:
    user_id, _ = await registered(core, prefix)
    for mood in moods:
        await core.bus.handle(mood_rules.RecordMood(str(uuid.uuid4()), user_id, mood, 0.6))
    if discoverable:
        await core.bus.handle(SetDiscoverable(user_id, True))
    return user_id


async def similar(core: HugMood, viewer: str, limit: int = 5) -> list[str]:
    minds = core.minds
    assert minds is not None
    await minds.refresh(await core.read_models_position())
    found = await mq.similar_minds(core.readmodels, minds, viewer, limit)
    return [p.display_name for p in found.people]


async def test_nearest_patterns_first_and_only_the_discoverable(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        me = await person(core, "me", CALM, True)
        await person(core, "twin", CALM, True)
        await person(core, "storm", STORMY, True)
        await person(core, "hidden", CALM, False)

        assert await similar(core, me) == ["twin", "storm"]
        assert await similar(core, me, limit=1) == ["twin"]


async def test_blocks_either_way_and_opting_out_remove_people(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        me = await person(core, "me", CALM, True)
        blocked = await person(core, "blocked", CALM, True)
        blocker = await person(core, "blocker", CALM, True)
        leaver = await person(core, "leaver", CALM, True)
        await person(core, "stays", STORMY, True)
        assert sorted(await similar(core, me)) == ["blocked", "blocker", "leaver", "stays"]

        await core.bus.handle(sc.BlockUser(me, blocked))
        await core.bus.handle(sc.BlockUser(blocker, me))
        await core.bus.handle(SetDiscoverable(leaver, False))
        assert await similar(core, me) == ["stays"]
        # Nor does the blocked person see the one who blocked them.
        assert "me" not in await similar(core, blocked)


async def test_an_erased_persons_vector_leaves_the_index(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        me = await person(core, "me", CALM, True)
        gone = await person(core, "gone", CALM, True)
        assert await similar(core, me) == ["gone"]
        minds = core.minds
        assert minds is not None
        before = len(minds.index)
        erased = identity_rules.UserErased(gone, "gone")
        new = to_new_event(erased, user_id=gone, context=CommandContext(), now=datetime.now(UTC))
        await core.store.append(identity_rules.user_stream(gone), [new])
        await until(lambda: len(minds.index) < before, "the erased vector leaves the index")
        assert len(minds.index) == before - 1
        assert await similar(core, me) == []


async def test_only_a_discoverable_caller_with_enough_check_ins_is_answered(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        shy = await person(core, "shy", CALM, False)
        new = await person(core, "new", CALM[:2], True)
        minds = core.minds
        assert minds is not None
        with pytest.raises(mq.NotDiscoverable):
            await mq.similar_minds(core.readmodels, minds, shy, 5)
        await minds.refresh(await core.read_models_position())
        found = await mq.similar_minds(core.readmodels, minds, new, 5)
        assert found.people == [] and found.check_ins_needed == mq.MIN_CHECK_INS - 2
        for bad in (0, 21, -1):
            with pytest.raises(ValidationFailed):
                await mq.similar_minds(core.readmodels, minds, new, bad)


async def test_the_index_is_rebuilt_from_the_read_models_after_a_restart(
    durable_settings: Settings,
) -> None:
    async with open_hugmood(durable_settings) as core:
        me = await person(core, "me", CALM, True)
        await person(core, "twin", CALM, True)
    async with open_hugmood(durable_settings) as core:
        assert await similar(core, me) == ["twin"]


async def test_the_demo_people_have_similar_minds() -> None:
    async with open_hugmood(Settings(database_url="memory")) as core:
        assert await seed_demo(core, days=10)
        first = identity_rules.user_id_for(DEMO_USERS[0].handle)
        others = {u.display_name for u in DEMO_USERS[1:]}
        found = await similar(core, first, limit=3)
        assert found and set(found) <= others


async def walker(core: HugMood, prefix: str, discoverable: bool = True) -> str:
    """Eight days: four with friends and brighter, four alone and duller (a clear effect of
    company:friends), at one check-in a day."""
    user_id, _ = await registered(core, prefix)
    start = datetime.now(UTC) - timedelta(days=10)
    for day in range(8):
        with_friends = day % 2 == 0
        await core.bus.handle(
            mood_rules.RecordMood(
                str(uuid.uuid4()),
                user_id,
                "happy",
                0.9 if with_friends else 0.3,
                context=mood_rules.ContextFactors(
                    social_context="friends" if with_friends else "alone"
                ),
                recorded_at=start + timedelta(days=day),
            )
        )
    if discoverable:
        await core.bus.handle(SetDiscoverable(user_id, True))
    return user_id


async def helped(core: HugMood, viewer: str) -> mq.WhatHelped:
    minds = core.minds
    assert minds is not None
    await minds.refresh(await core.read_models_position())
    return await mq.what_helped_similar_minds(core.readmodels, minds, viewer)


async def test_what_helped_similar_minds_needs_k_of_them_and_never_counts_the_blocked(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        me = await walker(core, "me")
        for n in range(mq.COHORT - 1):
            await walker(core, f"walker{n}")
        blocked = await walker(core, "blocked")
        await core.bus.handle(sc.BlockUser(me, blocked))
        blocker = await walker(core, "blocker")
        await core.bus.handle(sc.BlockUser(blocker, me))
        hidden = await walker(core, "hidden", discoverable=False)

        # k - 1 people who may count (the blocked either way and the undiscoverable do not):
        # nothing at all.
        found = await helped(core, me)
        assert (found.enough_people, found.factors) == (False, [])
        assert "Not enough people yet" in found.sentence
        minds = core.minds
        assert minds is not None
        with pytest.raises(mq.NotDiscoverable):
            await mq.what_helped_similar_minds(core.readmodels, minds, hidden)

        await walker(core, "twentieth")
        found = await helped(core, me)
        assert found.enough_people and found.factors == ["company:friends"]
        assert (
            found.sentence == "People with patterns like yours felt better with time with friends."
        )
