"""Several regions in one process, below the API: each region's core keeps only its own
people (the demo's Europeans in `eu-west`, its Americans in `us-east`), and the directory they
share keeps a handle to the region that claimed it first."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from hugmood.application.eventmapping import CommandContext
from hugmood.application.queries.hugs import inbox
from hugmood.application.queries.identity import account_by_handle
from hugmood.application.queries.social import friend_ids
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import ConfigError, Settings
from hugmood.domain import identity, social
from hugmood.domain import moods as mood_rules
from hugmood.domain.errors import Conflict, WrongRegion
from hugmood.domain.identity import user_id_for
from hugmood.entrypoints.demo import DEMO_USERS, seed_demo, seed_demo_across
from hugmood.regions.directory import Directory
from hugmood.regions.federation import Endpoint, LocalPeer
from hugmood.regions.geography import shipped_geography
from hugmood.regions.hosting import hosted_regions, open_directory, region_settings
from tests.conftest import unique


def two_regions(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, database_url="sqlite", regions="eu-west,us-east", region="eu-west"
    )


def endpoint_of(cores: dict[str, HugMood], region: str) -> Endpoint | None:
    return cores[region].federation if region in cores else None


async def hosted(stack: AsyncExitStack, settings: Settings) -> tuple[Directory, dict[str, HugMood]]:
    """Both regions in this process, each calling the other directly (as the edge wires them)."""
    directory = await open_directory(settings)
    assert directory is not None
    stack.push_async_callback(directory.close)
    cores: dict[str, HugMood] = {}
    for region in ("eu-west", "us-east"):
        peers = {
            other: LocalPeer(other, caller=region, endpoint=partial(endpoint_of, cores, other))
            for other in ("eu-west", "us-east")
            if other != region
        }
        cores[region] = await stack.enter_async_context(
            open_hugmood(region_settings(settings, region), directory=directory, peers=peers)
        )
    return directory, cores


async def test_the_demo_puts_each_person_in_their_home_region_only(tmp_path: Path) -> None:
    settings = two_regions(tmp_path)
    async with AsyncExitStack() as stack:
        directory, cores = await hosted(stack, settings)
        for core in cores.values():
            assert await seed_demo(core)
        for user in DEMO_USERS:
            home = shipped_geography().home_region(user.country)
            for region, core in cores.items():
                found = await account_by_handle(core.readmodels, user.handle)
                assert (found is not None) == (region == home), (user.handle, region)
            listed = await directory.by_handle(user.handle)
            assert listed is not None and listed.region == home

        # Then the friendships and hugs across the border, in the region of whoever acts.
        await seed_demo_across(cores)
        await seed_demo_across(cores)  # a second start adds nothing
        eu, us = cores["eu-west"].readmodels, cores["us-east"].readmodels
        alice, carol = user_id_for("alice"), user_id_for("carol")
        assert carol in await friend_ids(eu, alice) and alice in await friend_ids(us, carol)
        from_abroad = await inbox(us, carol, unseen_only=False, limit=10)
        # Its message stays in the EU: read from there when shown.
        assert [h.message for h in from_abroad if h.sender_id == alice] == [None]
        # Bob's, and Carol's from the US.
        assert len(await inbox(eu, alice, unseen_only=False, limit=10)) == 2
        known = await account_by_handle(us, "alice")
        assert known is not None and (known.home_region, known.bio) == ("eu-west", "")


async def test_a_handle_is_claimed_once_across_regions_and_only_by_its_home(
    tmp_path: Path,
) -> None:
    settings = two_regions(tmp_path)
    async with AsyncExitStack() as stack:
        directory = await open_directory(settings)
        assert directory is not None
        stack.push_async_callback(directory.close)
        eu, us = [
            await stack.enter_async_context(
                open_hugmood(region_settings(settings, r), directory=directory)
            )
            for r in ("eu-west", "us-east")
        ]
        handle = unique("kim")
        await us.bus.handle(
            identity.RegisterUser(handle, "Kim", "a good password", None, None, "US"),
            here(us),
        )
        with pytest.raises(Conflict):  # taken in the US: not free in the EU
            await eu.bus.handle(
                identity.RegisterUser(handle, "Kim", "a good password", None, None, "FR"),
                here(eu),
            )
        with pytest.raises(WrongRegion):  # a German sign-up that reached the US region
            await us.bus.handle(
                identity.RegisterUser(unique("max"), "Max", "a good password", None, None, "DE"),
                here(us),
            )


def here(core: HugMood) -> CommandContext:
    """A command as the region's own edge sends it (naming the region it reached)."""
    return CommandContext(device_id="test", region=core.settings.region)


def test_hosting_refuses_an_unknown_repeated_or_absent_default_region(tmp_path: Path) -> None:
    geography = shipped_geography()
    settings = two_regions(tmp_path)
    assert hosted_regions(settings, geography) == ["eu-west", "us-east"]
    for bad in (
        replace(settings, regions="eu-west,mars-north"),
        replace(settings, regions="eu-west,eu-west"),
        replace(settings, regions="us-east"),  # HUGMOOD_REGION (eu-west) not hosted
    ):
        with pytest.raises(ConfigError):
            hosted_regions(bad, geography)
    us = region_settings(settings, "us-east")
    assert us.data_dir == tmp_path / "regions" / "us-east"
    assert (us.postgres_schema, us.nats_stream) == ("public_us_east", "HUGMOOD_EVENTS_US_EAST")


async def test_a_region_speaks_only_for_its_own_people_and_the_streams_it_decides(
    tmp_path: Path,
) -> None:
    """What a rogue (or mistaken) region might send is refused: acting for someone it does not
    keep, or forging a copy of a friendship or a hug the other region decides."""
    async with AsyncExitStack() as stack:
        _, cores = await hosted(stack, two_regions(tmp_path))
        eu, us = cores["eu-west"], cores["us-east"]
        assert eu.federation is not None
        while True:  # a pair whose friendship the EU region decides
            greta, sam = unique("greta"), unique("sam")
            if user_id_for(greta) < user_id_for(sam):
                break
        for handle, country, core in ((greta, "DE", eu), (sam, "US", us)):
            await core.bus.handle(
                identity.RegisterUser(handle, handle, "a long password 1", None, None, country),
                here(core),
            )
        g, s_ = user_id_for(greta), user_id_for(sam)

        # The US region asking the EU to act for Greta (an EU person).
        acting = await eu.federation(
            "friendship", {"kind": "request", "userId": g, "otherId": g}, "us-east"
        )
        assert acting["error"]["code"] == "FORBIDDEN"
        # The US region forging "Greta accepted Sam" in the pair the EU decides.
        forged = {
            "eventId": "00000000-0000-4000-8000-000000000001",
            "type": "FriendRequestAccepted",
            "version": 1,
            "at": 1_700_000_000_000,
            "userId": g,
            "data": {"requesterId": s_, "addresseeId": g},
            "metadata": {},
        }
        pair = social.pair_stream(g, s_)
        answer = await eu.federation("copy", {"streamId": pair, "events": [forged]}, "us-east")
        assert answer["error"]["code"] == "FORBIDDEN"
        assert await eu.store.read_stream(pair) == []
        assert await friend_ids(eu.readmodels, g) == []
        # A forged hug "from Greta" copied into the EU by the US region.
        hug = dict(
            forged,
            type="HugSent",
            data={"hugId": forged["eventId"], "senderId": g, "recipientId": s_, "hugType": "warm"},
        )
        answer = await eu.federation(
            "copy", {"streamId": f"hug-{forged['eventId']}", "events": [hug]}, "us-east"
        )
        assert answer["error"]["code"] == "FORBIDDEN"
        # A hug from the region that decides it, but malformed (a hug type nobody knows,
        # a field of the wrong type): refused before it reaches the store.
        for bad in ({"hugType": "bearhug"}, {"muted": "no"}, {"senderId": 7}):
            data = {"hugId": forged["eventId"], "senderId": s_, "recipientId": g}
            data |= {"hugType": "warm", "muted": False} | bad
            hug = dict(forged, type="HugSent", userId=s_, data=data)
            answer = await eu.federation(
                "copy", {"streamId": f"hug-{forged['eventId']}", "events": [hug]}, "us-east"
            )
            assert answer["error"]["code"] in ("VALIDATION", "FORBIDDEN"), bad
        assert await eu.store.read_stream(f"hug-{forged['eventId']}") == []
        # Live news of a check-in, and one check-in read through: only for the caller's own
        # people, and nothing for strangers.
        entry = str(uuid.uuid4())
        await eu.bus.handle(
            mood_rules.RecordMood(entry, g, "calm", 0.5, note="hers", privacy="friends-only"),
            here(eu),
        )
        for op, call in (
            ("friendMoodRecorded", {"ownerId": g, "entryId": entry, "friendIds": [s_]}),
            ("moodEntry", {"viewerId": g, "entryId": entry}),
            ("friendPresence", {"userId": g, "status": "online", "view": None}),
            ("presence", {"viewerId": g, "ownerIds": [g]}),
        ):
            assert (await eu.federation(op, call, "us-east"))["error"]["code"] == "FORBIDDEN"
        read = await eu.federation("moodEntry", {"viewerId": s_, "entryId": entry}, "us-east")
        assert read == {"result": {"entry": None}}  # Sam is no friend of Greta's
        assert us.federation is not None
        news: dict[str, Any] = {"ownerId": g, "entryId": entry, "friendIds": [s_]}
        told = await us.federation("friendMoodRecorded", news, "eu-west")
        assert told == {"result": {"told": 0}}
        wrong: list[dict[str, Any]] = [
            {"friendIds": "all"},
            {"friendIds": [s_] * 1001},
            {"entryId": 7},
        ]
        for change in wrong:
            answer = await us.federation("friendMoodRecorded", news | change, "eu-west")
            assert answer["error"]["code"] == "VALIDATION", change
        # Presence: nothing for a stranger, and only a presence's three states.
        around = await eu.federation("presence", {"viewerId": s_, "ownerIds": [g]}, "us-east")
        assert around == {"result": {"presence": {}}}
        for status, view in (("invisible", None), ("online", "x" * 101), ("online", 7)):
            moved = {"userId": g, "status": status, "view": view}
            answer = await us.federation("friendPresence", moved, "eu-west")
            assert answer["error"]["code"] == "VALIDATION", (status, view)
        # Malformed calls get a clear refusal, never an exception.
        for op, payload in (("nope", {}), ("copy", {"streamId": 3}), ("moods", {"viewerId": s_})):
            assert (await eu.federation(op, payload, "us-east"))["error"]["code"] in (
                "NOT_FOUND",
                "VALIDATION",
            )
