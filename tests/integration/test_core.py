"""The core on every backend: commands through the bus, privacy in queries, rebuilds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hugmood.application.queries import moods as mq
from hugmood.application.queries.identity import account_by_handle
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import moods as md
from hugmood.domain import social as sc
from hugmood.domain.errors import Conflict
from hugmood.domain.history import Aggregation
from tests.conftest import unique


async def register(core: HugMood, handle: str) -> str:
    await core.bus.handle(idm.RegisterUser(handle, handle.title(), "a good password", "eu-west"))
    return idm.user_id_for(handle)


async def record(core: HugMood, user: str, privacy: str, mood: str = "calm") -> str:
    entry_id = str(uuid.uuid4())
    await core.bus.handle(md.RecordMood(entry_id, user, mood, 0.5, privacy=privacy))
    return entry_id


async def visible_ids(core: HugMood, viewer: str, owner: str) -> set[str]:
    now = datetime.now(UTC)
    entries = await mq.mood_history(
        core.readmodels,
        viewer_id=viewer,
        owner_id=owner,
        start=now - timedelta(days=1),
        end=now + timedelta(days=1),
        aggregation=Aggregation.NONE,
        zone=ZoneInfo("UTC"),
    )
    return {e.entry_id for e in entries if isinstance(e, mq.MoodEntryView)}


async def test_queries_show_each_viewer_exactly_what_privacy_allows(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        handles = [unique("a"), unique("b"), unique("c")]
        a, b, c = [await register(core, h) for h in handles]
        await core.bus.handle(sc.RequestFriendship(a, b))
        await core.bus.handle(sc.AcceptFriendship(b, a))
        private = await record(core, a, "private")
        friends = await record(core, a, "friends-only")
        public = await record(core, a, "public")

        assert await visible_ids(core, a, a) == {private, friends, public}
        assert await visible_ids(core, b, a) == {friends, public}
        assert await visible_ids(core, c, a) == {public}
        feed = await mq.friends_feed(core.readmodels, viewer_id=b, before_ms=None, limit=10)
        assert {e.entry_id for e in feed} == {friends, public}
        assert await mq.mood_entry(core.readmodels, viewer_id=c, entry_id=friends) is None

        await core.bus.handle(sc.BlockUser(a, c))
        assert await visible_ids(core, c, a) == set()
        await core.bus.handle(sc.RemoveFriend(b, a))
        assert await visible_ids(core, b, a) == {public}


async def test_a_retried_check_in_is_stored_once(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        user = await register(core, unique("u"))
        entry_id = str(uuid.uuid4())
        command = md.RecordMood(entry_id, user, "happy", 0.9, note="same", privacy="private")
        first = await core.bus.handle(command)
        before = await core.store.last_position()
        await core.bus.handle(command)
        assert await core.store.last_position() == before
        assert first.value == entry_id
        assert await visible_ids(core, user, user) == {entry_id}
        stranger = await register(core, unique("s"))
        with pytest.raises(Conflict):
            await core.bus.handle(md.RecordMood(entry_id, stranger, "sad", 0.1))


async def test_two_registrations_of_one_handle_make_one_account(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        handle = unique("h")
        await register(core, handle)
        with pytest.raises(Conflict, match="taken"):
            await register(core, handle.upper())
        account = await account_by_handle(core.readmodels, handle)
        assert account is not None
        assert account.handle == handle


async def snapshot(core: HugMood) -> dict[str, list[tuple[object, ...]]]:
    tables = {}
    for table in core.projections.tables:
        rows = await core.readmodels.fetch(f"SELECT * FROM {table}")
        tables[table] = sorted(tuple(r) for r in rows)
    return tables


async def test_rebuilding_read_models_from_zero_gives_the_same_result(
    durable_settings: Settings,
) -> None:
    settings = durable_settings
    async with open_hugmood(settings) as core:
        a, b = await register(core, unique("a")), await register(core, unique("b"))
        await core.bus.handle(sc.RequestFriendship(a, b))
        await core.bus.handle(sc.AcceptFriendship(b, a))
        kept = await record(core, a, "public", "joyful")
        edited = await record(core, b, "friends-only", "sad")
        await core.bus.handle(md.EditMood(edited, b, mood_type="hopeful", note="better"))
        gone = await record(core, a, "private")
        await core.bus.handle(md.DeleteMood(gone, a))
        await core.bus.handle(idm.UpdateProfile(a, bio="hello", default_visibility="public"))
        before = await snapshot(core)
        assert any(r[0] == kept for r in before["rm_mood_entries"])
        assert not any(r[0] == gone for r in before["rm_mood_entries"])

    async with open_hugmood(settings, run_services=False) as core:
        replayed = await core.projections.rebuild()
        assert replayed == await core.store.last_position()
        assert await snapshot(core) == before


async def test_read_models_resume_from_their_checkpoint_after_a_restart(
    durable_settings: Settings,
) -> None:
    settings = durable_settings
    async with open_hugmood(settings) as core:
        user = await register(core, unique("u"))
        entry = await record(core, user, "private")
    async with open_hugmood(settings, run_services=False) as core:
        assert core.projections.position == 0  # not loaded until caught up
        applied = await core.projections.catch_up_now()
        assert applied == 0
        assert await visible_ids(core, user, user) == {entry}
