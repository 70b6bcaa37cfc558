"""Personal insights end to end in the core, on every backend: check-ins with a planted
effect become an `InsightGenerated` the owner alone can read, mark helpful or dismiss; the
consumer tells nothing twice (restarted, or on a rebuild) and the read model rebuilds from
the log."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hugmood.application.queries.insights import insights_of
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import moods as md
from hugmood.domain.errors import NotFound
from hugmood.domain.insights import DismissInsight, MarkInsightHelpful, insights_stream
from tests.conftest import unique


async def register(core: HugMood, name: str) -> str:
    handle = unique(name)
    await core.bus.handle(idm.RegisterUser(handle, name.title(), "a good password", "eu-west"))
    return idm.user_id_for(handle)


async def keep_a_diary(core: HugMood, user: str, days: int) -> None:
    """One check-in a day; walks (on random days) lift how happy the day is."""
    rng = random.Random(5)
    start = datetime.now(UTC) - timedelta(days=days)
    for n in range(days):
        walked = rng.random() < 0.45
        tags = ("walk",) if walked else ()
        intensity = rng.uniform(0.2, 0.5) + (0.4 if walked else 0.0)
        await core.bus.handle(
            md.RecordMood(
                str(uuid.uuid4()),
                user,
                "happy",
                round(intensity, 2),
                context=md.ContextFactors(tags=tags),
                privacy="private",
                recorded_at=start + timedelta(days=n, hours=9),
            )
        )


async def eventually_insights(core: HugMood, user: str) -> list[str]:
    for _ in range(200):
        found = await insights_of(core.readmodels, user)
        if found:
            return [f.key for f in found]
        await asyncio.sleep(0.05)
    raise AssertionError("no insight was told")


async def test_a_planted_effect_becomes_the_owners_insight_once(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        ann, ben = await register(core, "ann"), await register(core, "ben")
        await keep_a_diary(core, ann, 40)

        keys = await eventually_insights(core, ann)
        assert "factor:tag:walk:pleasantness:same-day" in keys
        [walk] = [
            i
            for i in await insights_of(core.readmodels, ann)
            if i.key.startswith("factor:tag:walk:p")
        ]
        assert "more pleasant" in walk.sentence and walk.numbers["daysWith"] >= 3
        assert await insights_of(core.readmodels, ben) == [], "insights are their owner's alone"

        with pytest.raises(NotFound):
            await core.bus.handle(DismissInsight(ben, walk.insight_id))  # not ben's
        await core.bus.handle(MarkInsightHelpful(ann, walk.insight_id))
        assert [
            i.helpful for i in await insights_of(core.readmodels, ann) if i.key == walk.key
        ] == [True]
        told = len(await core.store.read_stream(insights_stream(ann)))

    if settings.database_url == "memory":
        return  # nothing survives the process: the rest is about restarts
    async with open_hugmood(settings) as core:
        # A restarted consumer analyses again (it keeps no memory) but tells nothing new.
        await core.bus.handle(
            md.RecordMood(str(uuid.uuid4()), ann, "happy", 0.3, privacy="private")
        )
        await asyncio.sleep(1.0)
        again = await core.store.read_stream(insights_stream(ann))
        assert len([e for e in again if e.event_type == "InsightGenerated"]) <= told
        await core.bus.handle(DismissInsight(ann, walk.insight_id))
        before = await insights_of(core.readmodels, ann)
        assert walk.insight_id not in [i.insight_id for i in before]
        await core.projections.rebuild()
        assert await insights_of(core.readmodels, ann) == before, "rebuilt from the log"
