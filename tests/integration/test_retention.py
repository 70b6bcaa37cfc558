"""Retention: check-ins older than their owner keeps them (their own choice, else their
country's rule) are deleted by the job with the ordinary MoodDeleted, and nothing else is."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hugmood.application.retention import RetentionJob
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import moods as md
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.retention import ChooseRetention
from hugmood.regions.policy import SHIPPED_DIR, load_policies
from tests.conftest import unique

NOW = datetime.now(UTC)


def rules_keeping_germans_days(folder: Path, days: int) -> Path:
    """The shipped eu-west rules, but Germany keeps check-ins only `days` days."""
    folder.mkdir()
    text = (SHIPPED_DIR / "eu-west.toml").read_text()
    old = "[countries.DE]\ndigital_consent_age = 16\n"
    assert old in text
    (folder / "eu-west.toml").write_text(text.replace(old, f"{old}retention_days = {days}\n"))
    return folder


async def person(core: HugMood, country: str) -> str:
    handle = unique(country.lower())
    await core.bus.handle(idm.RegisterUser(handle, handle, "a good password", None, None, country))
    return idm.user_id_for(handle)


async def check_in(core: HugMood, user_id: str, days_ago: int) -> str:
    entry_id = str(uuid.uuid4())
    when = NOW - timedelta(days=days_ago)
    await core.bus.handle(md.RecordMood(entry_id, user_id, "calm", 0.5, recorded_at=when))
    return entry_id


async def kept(core: HugMood, user_id: str) -> set[str]:
    rows = await core.readmodels.fetch(
        "SELECT entry_id FROM rm_mood_entries WHERE user_id = $1", user_id
    )
    return {r[0] for r in rows}


async def test_expired_check_ins_are_deleted_by_choice_or_by_the_country_rule(
    settings: Settings, tmp_path: Path
) -> None:
    folder = rules_keeping_germans_days(tmp_path / "policies", 60)
    days = load_policies(folder).retention_days("DE", "eu-west")
    assert load_policies(folder).retention_days("US", "us-east") == 0
    async with open_hugmood(replace(settings, policy_dir=str(folder))) as core:
        german = await person(core, "DE")
        old_de, new_de = await check_in(core, german, days + 5), await check_in(core, german, 3)
        american = await person(core, "US")
        old_us = await check_in(core, american, 400)
        # Choices beat the rule: a German who keeps everything, an American keeping 30 days.
        keeper = await person(core, "DE")
        old_keeper = await check_in(core, keeper, days + 5)
        await core.bus.handle(ChooseRetention(keeper, 0))
        brief = await person(core, "US")
        old_brief, new_brief = await check_in(core, brief, 31), await check_in(core, brief, 29)
        chosen = await core.bus.handle(ChooseRetention(brief, 30))
        assert chosen.value == 30

        job = next(s for s in core.services if isinstance(s, RetentionJob))
        assert await job.run_once() == 2
        await core.projections.catch_up_now()
        assert await kept(core, german) == {new_de}
        assert await kept(core, american) == {old_us}
        assert await kept(core, keeper) == {old_keeper}
        assert await kept(core, brief) == {new_brief}
        # Deleted the ordinary way: a MoodDeleted in each entry's stream, by the job.
        for entry_id in (old_de, old_brief):
            last = (await core.store.read_stream(md.mood_stream(entry_id)))[-1]
            assert last.event_type == "MoodDeleted"
            assert last.metadata["deviceId"] == "retention-job"
        assert await job.run_once() == 0  # nothing is deleted twice

        # Back to the rule; and choices outside the range are refused.
        assert (await core.bus.handle(ChooseRetention(brief, None))).value == 0
        for wrong in (-1, 7, 36_501):
            with pytest.raises(ValidationFailed, match="days must be 0"):
                await core.bus.handle(ChooseRetention(brief, wrong))
    shutil.rmtree(folder)
