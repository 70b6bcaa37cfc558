"""Moving a person to another region (`hugmood region move`, decision 0029), with two regions
hosted together and their servers stopped: the demo's Alice (eu-west, friends with Bob there
and Carol in us-east, owner of the board "Our week") moves to the US. Her data is readable
there and nowhere else, Bob keeps her as a friend abroad with their hugs and board, a rebuild
of every read model gives the same answers, and a second run changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from hugmood.application import region_move
from hugmood.application.eventmapping import CommandContext
from hugmood.application.federation_reads import messages_abroad
from hugmood.application.queries.boards import boards_of, members
from hugmood.application.queries.hugs import inbox, sent_hugs
from hugmood.application.queries.identity import account_by_handle
from hugmood.application.queries.moods import mood_entry, mood_photo
from hugmood.application.queries.social import friend_ids
from hugmood.bootstrap import HugMood
from hugmood.config import Settings
from hugmood.domain import hugs as hug_rules
from hugmood.domain import mood_photos as photos
from hugmood.domain import moods as mood_rules
from hugmood.domain.identity import user_id_for
from hugmood.entrypoints.cli import app
from hugmood.entrypoints.demo import seed_demo, seed_demo_across
from tests.conftest import IN_CI, POSTGRES_URL, unique
from tests.e2e.test_board_images import png
from tests.integration.test_regions_hosting import hosted, two_regions

ALICE, BOB, CAROL = user_id_for("alice"), user_id_for("bob"), user_id_for("carol")
NOTE = f"canary note {uuid.uuid4()}"
MESSAGE = f"canary hug {uuid.uuid4()}"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "HUGMOOD_DATA_DIR": str(tmp_path),
        "HUGMOOD_DATABASE_URL": "sqlite",
        "HUGMOOD_REGIONS": "eu-west,us-east",
        "HUGMOOD_REGION": "eu-west",
    }


async def cli(env: dict[str, str], *args: str) -> Any:
    """The operator's command (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, app, ["region", "move", *args], env=env)


async def demo_in_two_regions(
    stack: AsyncExitStack, settings: Settings, *, across: bool = True
) -> dict[str, HugMood]:
    """Both regions hosted, the demo seeded in each (and its friends across the border)."""
    _, cores = await hosted(stack, settings)
    for core in cores.values():
        assert await seed_demo(core)
    if across:
        await seed_demo_across(cores)
    return cores


async def answers(cores: dict[str, HugMood], entry: str, hug: str) -> dict[str, Any]:
    """What the people see, region by region, as the read models answer it."""
    eu, us = cores["eu-west"].readmodels, cores["us-east"].readmodels
    seen: dict[str, Any] = {}
    for region, db in (("eu", eu), ("us", us)):
        account = await account_by_handle(db, "alice")
        photo = await mood_photo(db, viewer_id=ALICE, entry_id=entry)
        seen[region] = {
            "alice": None if account is None else (account.home_region, account.display_name),
            "entry": await mood_entry(db, viewer_id=ALICE, entry_id=entry),
            "photo": photo,
            "boards": [
                (b.title, b.owner_id) for b in await boards_of(db, ALICE, include_archived=True)
            ],
            "bob's boards": [b.title for b in await boards_of(db, BOB, include_archived=True)],
            "friends of bob": sorted(await friend_ids(db, BOB)),
            "friends of carol": sorted(await friend_ids(db, CAROL)),
            "bob's inbox": sorted(
                (h.hug_id, h.sender_id, h.message)
                for h in await inbox(db, BOB, unseen_only=False, limit=50)
            ),
            "alice sent": sorted(
                (h.hug_id, h.recipient_id, h.message) for h in await sent_hugs(db, ALICE, limit=50)
            ),
        }
    seen["hug read by bob"] = await messages_abroad(cores["eu-west"].deps, BOB, [(hug, ALICE)])
    return seen


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path, env: dict[str, str]
) -> AsyncIterator[tuple[Settings, dict[str, str]]]:
    """Both regions on SQLite files, or each in a PostgreSQL schema of its own."""
    settings = two_regions(tmp_path)
    if request.param == "sqlite":
        yield settings, env
        return
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as e:
        if IN_CI:
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {e} (CI=true)")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {e}")
    schema = unique("mv")
    try:
        yield (
            replace(settings, database_url=POSTGRES_URL, postgres_schema=schema),
            {**env, "HUGMOOD_DATABASE_URL": POSTGRES_URL, "HUGMOOD_POSTGRES_SCHEMA": schema},
        )
    finally:
        for name in (schema, f"{schema}_eu_west", f"{schema}_us_east"):
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.close()


async def test_alice_moves_to_the_us_and_her_friends_keep_her(
    stores: tuple[Settings, dict[str, str]],
) -> None:
    settings, env = stores
    entry, hug = str(uuid.uuid4()), str(uuid.uuid4())
    async with AsyncExitStack() as stack:
        cores = await demo_in_two_regions(stack, settings)
        eu = cores["eu-west"]
        here = CommandContext(region="eu-west")
        await eu.bus.handle(
            mood_rules.RecordMood(entry, ALICE, "calm", 0.6, note=NOTE, privacy="friends-only"),
            here,
        )
        await eu.bus.handle(photos.AttachMoodPhoto(entry, ALICE, png(), None), here)
        await eu.bus.handle(hug_rules.SendHug(hug, ALICE, BOB, "warm", MESSAGE), here)
        before = await answers(cores, entry, hug)
        image = before["eu"]["photo"].blob_id
    assert before["eu"]["entry"].note == NOTE and before["us"]["alice"] == ("eu-west", "alice")

    # the servers are stopped: the operator moves her
    moved = await cli(env, "--handle", "@Alice", "--to", "us-east", "--country", "US")
    assert moved.exit_code == 0, moved.output
    assert "moved from eu-west to us-east" in moved.output

    async with AsyncExitStack() as stack:
        directory, cores = await hosted(stack, settings)
        for core in cores.values():
            await core.projections.catch_up_now()
            assert not await seed_demo(core)  # as `hugmood serve --demo` does at every start
        await seed_demo_across(cores)
        for core in cores.values():
            await core.projections.catch_up_now()
        listed = await directory.by_handle("alice")
        assert listed is not None and listed.region == "us-east"
        after = await answers(cores, entry, hug)
        # her check-in is still in the EU's log (append-only), but under a destroyed key
        (left, *_) = await cores["eu-west"].store.read_stream(mood_rules.mood_stream(entry))
        assert left.data["note"] is None and left.data["moodType"] == "calm"
        (there, *_) = await cores["us-east"].store.read_stream(mood_rules.mood_stream(entry))
        assert there.data["note"] == NOTE and there.event_id == left.event_id
        us_blob = await cores["us-east"].deps.blobs.get(image)
        eu_blob = await cores["eu-west"].deps.blobs.get(image)
        for core in cores.values():
            await core.projections.rebuild()
        rebuilt = await answers(cores, entry, hug)
        board = after["us"]["boards"]

    us, eu_after = after["us"], after["eu"]
    # in the US: hers, readable, and she is at home there
    assert us["alice"] == ("us-east", "Alice Martin")
    assert us["entry"].note == NOTE and us["entry"].user_id == ALICE
    assert us["photo"] is not None and us_blob == png()
    assert board == [("Our week", ALICE)]
    assert (hug, BOB, MESSAGE) in us["alice sent"]
    assert ALICE in us["friends of carol"]
    # in the EU: nothing of hers left to read, but Bob keeps her as a friend abroad
    assert eu_after["alice"] == ("us-east", "alice")
    assert eu_after["entry"] is None and eu_after["photo"] is None and eu_blob is None
    assert eu_after["boards"] == [] and eu_after["bob's boards"] == []
    assert ALICE in eu_after["friends of bob"]
    assert (hug, ALICE, None) in eu_after["bob's inbox"]  # the message is no longer kept here
    assert after["hug read by bob"] == {hug: MESSAGE}  # ... but read from her new home
    assert eu_after["friends of carol"] == []  # two people abroad: none of the EU's business
    assert rebuilt == after

    again = await cli(env, "--handle", "alice", "--to", "us-east", "--country", "US")
    assert again.exit_code == 0, again.output
    assert "already lives in us-east" in again.output


async def test_members_of_her_board_are_kept_and_bob_is_a_friend_abroad_in_the_us(
    env: dict[str, str], tmp_path: Path
) -> None:
    settings = two_regions(tmp_path)
    async with AsyncExitStack() as stack:
        cores = await demo_in_two_regions(stack, settings)
    assert (
        await cli(env, "--handle", "alice", "--to", "us-east", "--country", "US")
    ).exit_code == 0
    async with AsyncExitStack() as stack:
        _, cores = await hosted(stack, settings)
        us = cores["us-east"]
        await us.projections.catch_up_now()
        (board,) = await boards_of(us.readmodels, ALICE, include_archived=True)
        assert {m.user_id for m in await members(us.readmodels, board.board_id)} >= {ALICE, BOB}
        bob = await account_by_handle(us.readmodels, "bob")
        assert bob is not None and bob.home_region == "eu-west"  # known as a person abroad
        assert BOB in await friend_ids(us.readmodels, ALICE)
        assert board.title == "Our week" and board.item_count > 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--handle", "nobody_here", "--to", "us-east", "--country", "US"], "nobody is listed"),
        (["--handle", "alice", "--to", "mars", "--country", "US"], "not a region hosted here"),
        (["--handle", "alice", "--to", "us-east"], "--country"),
        (["--handle", "alice", "--to", "us-east", "--country", "FR"], "does not serve FR"),
        (["--handle", "alice", "--to", "us-east", "--country", "XX1"], "country"),
        (["--handle", "alice", "--to", "eu-west", "--country", "FR"], "lives in eu-west already"),
    ],
)
async def test_a_move_that_cannot_be_made_says_why_and_changes_nothing(
    env: dict[str, str], tmp_path: Path, args: list[str], said: str
) -> None:
    settings = two_regions(tmp_path)
    async with AsyncExitStack() as stack:
        cores = await demo_in_two_regions(stack, settings, across=False)
        positions = [await core.store.last_position() for core in cores.values()]
    refused = await cli(env, *args)
    assert refused.exit_code == 2, refused.output
    assert said in refused.output and "Traceback" not in refused.output
    async with AsyncExitStack() as stack:
        directory, cores = await hosted(stack, settings)
        assert [await core.store.last_position() for core in cores.values()] == positions
        listed = await directory.by_handle("alice")
        assert listed is not None and listed.region == "eu-west"


async def test_a_stream_of_the_same_name_in_the_target_stops_the_move_before_any_write(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Check-in ids are chosen by devices: one in the US may carry the id of one of Alice's.
    The move must not take the US's for hers (and then forget hers in the EU)."""
    settings = two_regions(tmp_path)
    entry = str(uuid.uuid4())
    async with AsyncExitStack() as stack:
        cores = await demo_in_two_regions(stack, settings)
        await cores["eu-west"].bus.handle(
            mood_rules.RecordMood(entry, ALICE, "calm", 0.5, note=NOTE),
            CommandContext(region="eu-west"),
        )
        await cores["us-east"].bus.handle(
            mood_rules.RecordMood(entry, CAROL, "anxious", 0.5), CommandContext(region="us-east")
        )
        positions = [await core.store.last_position() for core in cores.values()]
    refused = await cli(env, "--handle", "alice", "--to", "us-east", "--country", "US")
    assert refused.exit_code == 2, refused.output
    assert f"mood-{entry}" in refused.output and "nothing was moved" in refused.output
    async with AsyncExitStack() as stack:
        directory, cores = await hosted(stack, settings)
        assert [await core.store.last_position() for core in cores.values()] == positions
        listed = await directory.by_handle("alice")
        assert listed is not None and listed.region == "eu-west"
        await cores["eu-west"].projections.catch_up_now()
        mine = await mood_entry(cores["eu-west"].readmodels, viewer_id=ALICE, entry_id=entry)
        assert mine is not None and mine.note == NOTE


@pytest.mark.parametrize("stop_at", ["half-way through the copy", "after the directory moved"])
async def test_a_move_stopped_half_way_is_finished_by_running_it_again(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop_at: str
) -> None:
    settings = two_regions(tmp_path)
    async with AsyncExitStack() as stack:
        cores = await demo_in_two_regions(stack, settings)
    copied = 0

    def dies_half_way(*args: Any) -> Any:
        nonlocal copied
        copied += 1
        if copied == 30:
            raise RuntimeError("the power went out")
        return moving_one(*args)

    async def dies_after_the_directory(*args: Any) -> None:
        raise RuntimeError("the power went out")

    moving_one = region_move._moved
    if stop_at == "half-way through the copy":
        monkeypatch.setattr(region_move, "_moved", dies_half_way)
    else:
        monkeypatch.setattr(region_move, "_record_move", dies_after_the_directory)
    stopped = await cli(env, "--handle", "alice", "--to", "us-east", "--country", "US")
    assert stopped.exit_code != 0 and isinstance(stopped.exception, RuntimeError)
    monkeypatch.undo()

    finished = await cli(env, "--handle", "alice", "--to", "us-east", "--country", "US")
    assert finished.exit_code == 0, finished.output
    async with AsyncExitStack() as stack:
        directory, cores = await hosted(stack, settings)
        for core in cores.values():
            await core.projections.catch_up_now()
        listed = await directory.by_handle("alice")
        assert listed is not None and listed.region == "us-east"
        eu, us = cores["eu-west"].readmodels, cores["us-east"].readmodels
        mine = await mood_history_count(us)
        assert mine > 20  # every demo check-in of hers, once
        assert await mood_history_count(eu) == 0
        assert [b.title for b in await boards_of(us, ALICE, include_archived=True)] == ["Our week"]
        assert ALICE in await friend_ids(eu, BOB)
        positions = [await core.store.last_position() for core in cores.values()]
    assert (await cli(env, "--handle", "alice", "--to", "us-east")).exit_code == 0
    async with AsyncExitStack() as stack:
        _, cores = await hosted(stack, settings)
        assert [await core.store.last_position() for core in cores.values()] == positions


async def mood_history_count(db: Any) -> int:
    row = await db.fetchrow("SELECT count(*) FROM rm_mood_entries WHERE user_id = $1", ALICE)
    return int(row[0])
