"""Community mood follows each person's choice, else their country's rule: in eu-west (opt-in)
nobody's check-ins count until they say yes; in us-east (opt-out) they count until they say
no; saying no deletes the rows already there."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import moods as md
from hugmood.domain.contribution import ChooseCommunityContribution
from hugmood.domain.regions import Participation
from hugmood.regions.policy import load_policies
from tests.conftest import unique

YESTERDAY = datetime.now(UTC) - timedelta(days=1)


async def person(core: HugMood, country: str) -> str:
    handle = unique(country.lower())
    await core.bus.handle(idm.RegisterUser(handle, handle, "a good password", None, None, country))
    return idm.user_id_for(handle)


async def check_in(core: HugMood, user_id: str, mood: str) -> None:
    await core.bus.handle(
        md.RecordMood(str(uuid.uuid4()), user_id, mood, 0.5, recorded_at=YESTERDAY)
    )


async def counted(core: HugMood) -> list[tuple[object, object]]:
    community = core.community
    assert community is not None
    assert await community.wait_for(await core.store.last_position())
    return sorted((r["region"], r["mood"]) for r in await community.columns.dump())


async def test_community_mood_counts_whom_the_choice_or_the_rule_says(settings: Settings) -> None:
    rules = load_policies()
    assert rules.participation("DE", "eu-west", "analytics") is Participation.OPT_IN
    assert rules.participation("US", "us-east", "analytics") is Participation.OPT_OUT
    async with open_hugmood(settings) as core:
        german, american = await person(core, "DE"), await person(core, "US")
        await check_in(core, german, "anxious")  # before any yes: not counted
        await check_in(core, american, "hopeful")  # opt-out: counted
        assert await counted(core) == [("us-east", "hopeful")]

        said_yes = await core.bus.handle(ChooseCommunityContribution(german, True))
        assert said_yes.value is True
        await check_in(core, german, "calm")  # from now on
        assert await counted(core) == [("eu-west", "calm"), ("us-east", "hopeful")]

        said_no = await core.bus.handle(ChooseCommunityContribution(american, False))
        assert said_no.value is False
        await check_in(core, american, "sad")
        assert await counted(core) == [("eu-west", "calm")]  # their rows went too

        # Back to the rule: the German's check-ins stop counting (eu-west is opt-in).
        assert (await core.bus.handle(ChooseCommunityContribution(german, None))).value is False
        assert await counted(core) == []
