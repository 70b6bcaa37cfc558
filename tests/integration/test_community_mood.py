"""Community mood on every backend: check-ins reach the DuckDB column store de-identified, a
cohort of k − 1 people answers nothing, k people get a noisy release whose budget is
accounted, and a person can be forgotten."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hugmood.analytics import release
from hugmood.analytics.community import CommunityMoodConsumer
from hugmood.analytics.pseudonyms import iso_week
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import moods as mood_rules
from hugmood.domain.contribution import ChooseCommunityContribution
from hugmood.domain.errors import ValidationFailed
from tests.conftest import unique

LAST_WEEK = datetime.now(UTC) - timedelta(days=7)
NOTE = "a very private note about my sister"


async def registered(core: HugMood, prefix: str, region: str = "eu-west") -> tuple[str, str]:
    """A person registered straight into the log (no Argon2id: these tests need many)."""
    handle = unique(prefix)
    user_id = idm.user_id_for(handle)
    event = idm.UserRegistered(user_id, handle, prefix, region, "not-a-real-hash")
    new = to_new_event(event, user_id=user_id, context=CommandContext(), now=datetime.now(UTC))
    await core.store.append(idm.user_stream(user_id), [new], expected_version=0)
    # eu-west's rule: community mood is opt-in (these people said yes).
    await core.bus.handle(ChooseCommunityContribution(user_id, True))
    return user_id, handle


async def check_in(
    core: HugMood, user_id: str, mood: str = "calm", when: datetime = LAST_WEEK
) -> str:
    entry_id = str(uuid.uuid4())
    await core.bus.handle(
        mood_rules.RecordMood(
            entry_id, user_id, mood, 0.5, note=NOTE, recorded_at=when, privacy="private"
        )
    )
    return entry_id


async def caught_up(core: HugMood) -> CommunityMoodConsumer:
    community = core.community
    assert community is not None
    await community.wait_for(await core.store.last_position())
    return community


async def ask(
    core: HugMood, region: str = "eu-west", week: str | None = None
) -> release.CommunityMood:
    community = await caught_up(core)
    return await release.community_mood(
        core.readmodels,
        community.columns,
        region,
        week or iso_week(LAST_WEEK.date()),
        datetime.now(UTC),
    )


async def test_k_minus_one_people_get_no_number_and_k_get_a_noisy_release(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        people = [await registered(core, f"p{i}") for i in range(release.MIN_PEOPLE)]
        for user_id, _ in people[:-1]:
            await check_in(core, user_id, "calm")
            await check_in(core, user_id, "happy")  # two check-ins still count one person
        await registered(core, "elsewhere", "us-east")

        small = await ask(core)
        assert not small.released
        assert small.people is None and small.mean_pleasantness is None
        assert small.quadrant_shares == {} and small.epsilon == 0

        await check_in(core, people[-1][0], "joyful")
        first = await ask(core)
        assert first.released
        assert first.people is not None and first.mean_pleasantness is not None
        assert -1 <= first.mean_pleasantness <= 1
        assert first.epsilon == release.RELEASE_EPSILON
        assert first.budget_spent == release.RELEASE_EPSILON
        assert first.budget_total == release.MAX_RELEASES * release.RELEASE_EPSILON
        assert set(first.quadrant_shares) == set(
            (
                "high-energy-unpleasant",
                "high-energy-pleasant",
                "low-energy-unpleasant",
                "low-energy-pleasant",
            )
        )
        # Asking again serves the same release and spends nothing more.
        assert await ask(core) == first
        # Another region's cohort is empty.
        assert not (await ask(core, "us-east")).released


async def test_the_column_store_holds_no_id_handle_or_note(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        user_id, handle = await registered(core, "quiet")
        entry = await check_in(core, user_id, "anxious")
        community = await caught_up(core)
        rows = await community.columns.dump()
        assert len(rows) == 1
        text = repr(rows)
        for secret in (user_id, handle, entry, NOTE, "sister"):
            assert secret not in text
        assert rows[0]["mood"] == "anxious" and rows[0]["region"] == "eu-west"


async def test_edits_and_deletes_reach_the_column_store(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        user_id, _ = await registered(core, "editor")
        kept = await check_in(core, user_id, "sad")
        gone = await check_in(core, user_id, "tired")
        await core.bus.handle(
            mood_rules.EditMood(kept, user_id, "happy", 0.9, recorded_at=LAST_WEEK)
        )
        await core.bus.handle(mood_rules.DeleteMood(gone, user_id))
        community = await caught_up(core)
        rows = await community.columns.dump()
        assert [(r["mood"], r["intensity"]) for r in rows] == [("happy", 0.9)]


async def test_forgetting_a_person_deletes_their_rows_in_every_week(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        gone, _ = await registered(core, "gone")
        stays, _ = await registered(core, "stays")
        await check_in(core, gone, "calm", LAST_WEEK)
        await check_in(core, gone, "calm", LAST_WEEK - timedelta(days=14))
        await check_in(core, stays, "calm", LAST_WEEK)
        community = await caught_up(core)
        assert await community.forget(gone) == 2
        assert len(await community.columns.dump()) == 1


async def test_an_erasure_in_the_log_forgets_the_persons_rows(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        gone, handle = await registered(core, "gone")
        stays, _ = await registered(core, "stays")
        await check_in(core, gone, "calm", LAST_WEEK)
        await check_in(core, stays, "calm", LAST_WEEK)
        erased = idm.UserErased(gone, handle)
        new = to_new_event(erased, user_id=gone, context=CommandContext(), now=datetime.now(UTC))
        await core.store.append(idm.user_stream(gone), [new])
        community = await caught_up(core)
        assert len(await community.columns.dump()) == 1


async def test_a_person_has_one_pseudonym_a_week_and_another_the_next(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        user_id, _ = await registered(core, "weekly")
        await check_in(core, user_id, "calm", LAST_WEEK)
        await check_in(core, user_id, "calm", LAST_WEEK + timedelta(minutes=1))
        await check_in(core, user_id, "calm", LAST_WEEK - timedelta(days=7))
        rows = await (await caught_up(core)).columns.dump()
        by_week: dict[str, set[str]] = {}
        for row in rows:
            by_week.setdefault(str(row["week"]), set()).add(str(row["pseudonym"]))
        assert sorted(len(p) for p in by_week.values()) == [1, 1]
        assert len(set.union(*by_week.values())) == 2


@pytest.mark.parametrize(
    ("region", "week", "field"),
    [
        ("atlantis", "2026-W01", "region"),
        ("eu-west", "last week", "week"),
        ("eu-west", "2021-W53", "week"),
        ("eu-west", "2999-W01", "week"),
        ("eu-west", "1999-W10", "week"),
    ],
)
async def test_bad_cohorts_are_refused_with_the_field(region: str, week: str, field: str) -> None:
    settings = Settings(database_url="memory")
    async with open_hugmood(settings) as core:
        with pytest.raises(ValidationFailed) as refused:
            await ask(core, region, week)
        assert refused.value.field == field


async def test_check_ins_after_a_restart_count_once_whatever_came_between(
    durable_settings: Settings,
) -> None:
    # Events that are not check-ins (here, people registering) move the consumer's checkpoint
    # on disk only now and then; after a restart it reads them again and applies nothing twice.
    async with open_hugmood(durable_settings) as core:
        user_id, _ = await registered(core, "before")
        await check_in(core, user_id, "calm")
        await caught_up(core)
        for i in range(3):
            await registered(core, f"between{i}")
        await caught_up(core)
    async with open_hugmood(durable_settings) as core:
        await check_in(core, user_id, "happy")
        rows = await (await caught_up(core)).columns.dump()
        assert sorted(str(r["mood"]) for r in rows) == ["calm", "happy"]


async def test_finished_weeks_are_released_once_into_the_ledger_every_process_reads(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        crowd = [await registered(core, f"w{i}") for i in range(release.MIN_PEOPLE)]
        for user_id, _ in crowd:
            await check_in(core, user_id, "content")
        community = await caught_up(core)
        week = iso_week(LAST_WEEK.date())
        today = datetime.now(UTC).date()
        assert await release.latest_release(core.readmodels, "eu-west", week, today) is None

        assert await community.release_finished_weeks(datetime.now(UTC)) == 1
        assert await community.release_finished_weeks(datetime.now(UTC)) == 0  # once
        # A finished week is rewritten sorted by cohort once: the same rows, the same sums.
        rows, sums = await community.columns.dump(), await community.columns.cohort("eu-west", week)
        this_week = iso_week(today)
        # (The consumer's hourly loop may have done it already, at its start.)
        assert await community.columns.compact(this_week) in ([week], [])
        assert await community.columns.compact(this_week) == []
        assert sorted(map(str, await community.columns.dump())) == sorted(map(str, rows))
        after = await community.columns.cohort("eu-west", week)
        assert after is not None and sums is not None
        # The same sums, up to the order in which floating-point numbers were added.
        assert (after.people, after.quadrants) == (sums.people, sums.quadrants)
        assert (after.energy, after.pleasantness, after.intensity) == pytest.approx(
            (sums.energy, sums.pleasantness, sums.intensity), rel=1e-9
        )
        kept = await release.latest_release(core.readmodels, "eu-west", week, today)
        assert kept is not None and kept.released and kept.release_number == 1
        assert await release.latest_release(core.readmodels, "us-east", week, today) is None
        with pytest.raises(ValidationFailed):
            await release.latest_release(core.readmodels, "eu-west", "never", today)


async def test_a_week_in_progress_is_released_for_edges_and_keeps_a_release_for_its_end(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        now = datetime.now(UTC)
        crowd = [await registered(core, f"c{i}") for i in range(release.MIN_PEOPLE)]
        for user_id, _ in crowd:
            await check_in(core, user_id, "content", now)
        community = await caught_up(core)
        week = iso_week(now.date())

        async def at(moment: datetime) -> int:
            found = await release.community_mood(
                core.readmodels, community.columns, "eu-west", week, moment
            )
            assert found.released
            return found.release_number

        # The process that keeps the store releases the current week into the ledger…
        assert await community.release_current_weeks(now) == 1
        assert await community.release_current_weeks(now) == 0
        # …where an edge, which has no store, finds it.
        kept = await release.latest_release(core.readmodels, "eu-west", week, now.date())
        assert kept is not None and kept.released and kept.release_number == 1
        made = kept.released_at_ms or 0
        later = datetime.fromtimestamp(made / 1000, UTC) + release.IN_PROGRESS_REFRESH
        end = release.week_end(week)
        if later < end:  # a second release while the week lasts, not a third
            assert await at(later) == 2
            assert await at(end - timedelta(minutes=1)) == 2
        # The finished week's final numbers always get the release kept for them, and the
        # cohort never spends more than its budget.
        final = await at(end + timedelta(hours=1))
        assert final == (3 if later < end else 2)
        # Later, whatever is left of the budget, and never more.
        assert await at(end + timedelta(days=30)) == release.MAX_RELEASES
        assert await at(end + timedelta(days=60)) == release.MAX_RELEASES
        spent = await release.latest_release(core.readmodels, "eu-west", week, end.date())
        assert spent is not None and spent.budget_spent <= spent.budget_total
