"""Batch check-ins from a device's outbox and the per-user change feed, on every backend."""

from __future__ import annotations

import uuid

from hugmood.application.handlers.moods import EntryOutcome
from hugmood.application.queries import moods as mq
from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.domain import moods as md
from tests.conftest import unique
from tests.integration.test_core import register


def entry(user: str, entry_id: str | None = None, **kw: object) -> md.RecordMood:
    fields: dict[str, object] = {"mood_type": "calm", "intensity": 0.5, **kw}
    return md.RecordMood(entry_id or str(uuid.uuid4()), user, **fields)  # type: ignore[arg-type]


async def test_a_batch_stores_each_entry_once_and_refuses_bad_ones_alone(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        me = await register(core, unique("dev"))
        good = [entry(me, insights=md.MoodInsights(0.6, ("joy",), "happy")) for _ in range(20)]
        bad = entry(me, mood_type="not-a-mood")
        batch = md.RecordMoods(me, (*good[:10], bad, *good[10:], good[0]))

        first: list[EntryOutcome] = (await core.bus.handle(batch)).value
        again: list[EntryOutcome] = (await core.bus.handle(batch)).value

        assert [o.status for o in first] == ["stored"] * 10 + ["refused"] + ["stored"] * 10 + [
            "duplicate"
        ]
        assert first[10].error is not None and first[10].error.field == "moodType"
        assert [o.status for o in again].count("duplicate") == 21
        changes = await mq.my_mood_changes(core.readmodels, user_id=me, after=-1, limit=100)
        assert [e.entry_id for e in changes.entries] == [e.entry_id for e in good]
        assert changes.entries[0].insights == md.MoodInsights(0.6, ("joy",), "happy")


async def test_the_change_feed_pages_by_cursor_and_reports_deletes(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        me, other = await register(core, unique("me")), await register(core, unique("other"))
        mine = [entry(me) for _ in range(5)]
        await core.bus.handle(md.RecordMoods(me, tuple(mine)))
        await core.bus.handle(md.RecordMoods(other, (entry(other),)))

        page1 = await mq.my_mood_changes(core.readmodels, user_id=me, after=-1, limit=3)
        page2 = await mq.my_mood_changes(core.readmodels, user_id=me, after=page1.cursor, limit=3)
        assert page1.has_more and not page2.has_more
        assert [e.entry_id for e in page1.entries + page2.entries] == [e.entry_id for e in mine]

        await core.bus.handle(md.DeleteMood(mine[0].entry_id, me))
        after_delete = await mq.my_mood_changes(
            core.readmodels, user_id=me, after=page2.cursor, limit=3
        )
        assert after_delete.entries == []
        assert after_delete.deleted_ids == [mine[0].entry_id]
        assert after_delete.cursor > page2.cursor
