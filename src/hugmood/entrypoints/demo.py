"""Demo data, all in one place: a handful of friends with a month of varied, privacy-mixed
check-ins, a few hugs, and a shared mood board (Alice's "Our week", Bob editing, Carol
looking on)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pycrdt import Doc

from hugmood.application.eventmapping import CommandContext
from hugmood.application.queries.identity import account_by_handle
from hugmood.boards.model import item_count, items_of, note, sticker
from hugmood.boards.store import AcceptedUpdate
from hugmood.bootstrap import HugMood
from hugmood.domain import boards as board_rules
from hugmood.domain import hugs as hug_rules
from hugmood.domain import identity, moods
from hugmood.domain import social as social_rules
from hugmood.domain.contribution import ChooseCommunityContribution
from hugmood.domain.discovery import SetDiscoverable
from hugmood.domain.vocabulary import MOODS, SOCIAL_CONTEXTS, WEATHER
from hugmood.realtime.hub import PresenceStatus

DEMO_PASSWORD = "hugmood-demo"  # noqa: S105  (printed for everyone at start-up)


@dataclass(frozen=True, slots=True)
class DemoUser:
    handle: str
    display_name: str
    country: str
    """Where they live: their home region follows (regions.toml)."""
    bias: float
    """-1..1: how pleasant this person's month tends to be."""


DEMO_USERS = (
    DemoUser("alice", "Alice Martin", "FR", 0.4),
    DemoUser("bob", "Bob Okafor", "DE", -0.2),
    DemoUser("carol", "Carol Nguyen", "US", 0.1),
    DemoUser("dan", "Dan Silva", "PT", -0.4),
    DemoUser("erin", "Erin Walsh", "US", 0.6),
)

# (who acts, towards whom, what): the demo's social graph.
_FRIENDSHIPS = (
    ("alice", "bob", social_rules.RequestFriendship),
    ("bob", "alice", social_rules.AcceptFriendship),
    ("alice", "carol", social_rules.RequestFriendship),
    ("carol", "alice", social_rules.AcceptFriendship),
    ("carol", "erin", social_rules.RequestFriendship),
    ("erin", "carol", social_rules.AcceptFriendship),
    ("dan", "alice", social_rules.RequestFriendship),
    ("erin", "dan", social_rules.BlockUser),
)

# (sender, recipient, hug type, message): a few hugs, one already seen.
_HUGS = (
    ("alice", "bob", "comforting", "Rough week? I'm around tonight."),
    ("bob", "alice", "celebration", "Congrats on finishing it!"),
    ("carol", "alice", "warm", "Thinking of you from Boston!"),
    ("alice", "carol", "gratitude", "Merci for the call yesterday."),
    ("erin", "carol", "strength", "You've got this."),
)

_NOTES = {
    True: (
        "Long walk by the river, felt light.",
        "Coffee with an old friend.",
        "Finished the thing I was putting off!",
        "Good sleep, good day.",
        "Cooked something new and it worked.",
    ),
    False: (
        "Rough meeting, still thinking about it.",
        "Didn't sleep well.",
        "Missing home a bit.",
        "Too many things at once today.",
        "Quiet evening, a little flat.",
    ),
}
_TAGS = ("work", "exercise", "family", "sleep", "music", "outdoors", "reading", "cooking")
_INDOOR_TAGS = tuple(t for t in _TAGS if t != "outdoors")


def demo_users(core: HugMood) -> tuple[DemoUser, ...]:
    """The demo's people `core` keeps: all of them, or, where several regions are hosted,
    those whose country is this region's (their friendships and hugs within it)."""
    rules = core.deps.rules
    if core.deps.directory is None or rules is None:
        return DEMO_USERS
    return tuple(u for u in DEMO_USERS if rules.home(u.country, None)[1] == core.settings.region)


async def seed_demo(core: HugMood, *, days: int = 30, seed: int = 7) -> bool:
    """Seed the demo once; returns False (and does nothing) if it is already there."""
    people = demo_users(core)
    here = {u.handle for u in people}
    if not people or await account_by_handle(core.readmodels, people[0].handle) is not None:
        return False
    context = CommandContext(device_id="demo-seeder", region=core.settings.region)
    rng = random.Random(seed)
    for user in people:
        await core.bus.handle(
            # The demo's people chose to share with their friends (new accounts share nothing).
            identity.RegisterUser(
                user.handle, user.display_name, DEMO_PASSWORD, None, "friends-only", user.country
            ),
            context,
        )
        # ... and to count in community mood (opt-in where they live in eu-west).
        await core.bus.handle(
            ChooseCommunityContribution(identity.user_id_for(user.handle), True), context
        )
    for actor, other, command in _FRIENDSHIPS:
        if not {actor, other} <= here:
            continue  # friends in two regions: once both are there (`seed_demo_across`)
        await core.bus.handle(
            command(user_id=identity.user_id_for(actor), other_id=identity.user_id_for(other)),
            context,
        )
    for sender, recipient, kind, message in _HUGS:
        hug_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if not {sender, recipient} <= here:
            continue
        sender_id, recipient_id = identity.user_id_for(sender), identity.user_id_for(recipient)
        await core.bus.handle(
            hug_rules.SendHug(hug_id, sender_id, recipient_id, kind, message), context
        )
        if kind == "celebration":
            await core.bus.handle(hug_rules.MarkHugSeen(hug_id, recipient_id), context)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    words = list(MOODS.values())
    # Check-in ids of their own in each region: ids are chosen by devices, unique everywhere.
    entry_ids = random.Random(f"{seed}:{core.settings.region}")
    for user in people:
        user_id = identity.user_id_for(user.handle)
        for day in range(days, 0, -1):
            # Days spent outdoors lift the demo people's mood, so their insights have
            # something true to find ("what goes with your better days").
            outdoors = rng.random() < 0.4
            for _ in range(rng.randint(1, 3)):
                pleasant = rng.gauss(user.bias + (1.2 if outdoors else 0.0), 0.5)
                word = min(words, key=lambda w: abs(w.pleasantness - pleasant) + rng.random() * 0.6)
                at = now - timedelta(days=day, hours=rng.randint(0, 14), minutes=rng.randint(0, 59))
                await core.bus.handle(
                    moods.RecordMood(
                        entry_id=str(uuid.UUID(int=entry_ids.getrandbits(128), version=4)),
                        user_id=user_id,
                        mood_type=word.word,
                        intensity=round(rng.uniform(0.2, 1.0), 2),
                        note=rng.choice(_NOTES[word.pleasantness >= 0])
                        if rng.random() < 0.6
                        else None,
                        context=moods.ContextFactors(
                            location=rng.choice(("home", "work", "park", "café", None)),
                            weather=rng.choice(sorted(WEATHER)),
                            social_context=rng.choice(sorted(SOCIAL_CONTEXTS)),
                            tags=tuple(rng.sample(_INDOOR_TAGS, rng.randint(0, 2)))
                            + (("outdoors",) if outdoors else ()),
                        ),
                        privacy=rng.choices(("private", "friends-only", "public"), (2, 5, 3))[0],
                        recorded_at=at,
                    ),
                    context,
                )
    for user in people:
        # The demo's people opted in to similar minds, so each has some to see.
        await core.bus.handle(SetDiscoverable(identity.user_id_for(user.handle), True), context)
    if {"alice", "bob"} <= here:
        await seed_demo_board(core, context, rng, with_carol="carol" in here)
    return True


async def seed_demo_across(cores: Mapping[str, HugMood], *, seed: int = 7) -> None:
    """The demo's friendships and hugs between people of two regions hosted together, once
    every region has seeded its own people: each step taken in the region of whoever acts,
    and only at the first start (a pair already there is left as it is)."""
    home = {u.handle: region for region, core in cores.items() for u in demo_users(core)}
    for core in cores.values():
        if core.deps.directory is not None:
            # Where each lives now: an operator may have moved one (`hugmood region move`).
            for handle in home:
                listed = await core.deps.directory.by_handle(handle)
                if listed is not None and listed.region in cores:
                    home[handle] = listed.region
            break
    if len(set(home.values())) < 2:
        return
    seeded: set[str] = set()
    for actor, other, _ in _FRIENDSHIPS:
        pair = social_rules.pair_stream(identity.user_id_for(actor), identity.user_id_for(other))
        if home[actor] == home[other] or await cores[home[actor]].store.read_stream(pair):
            seeded.add(pair)
    for actor, other, command in _FRIENDSHIPS:
        actor_id, other_id = identity.user_id_for(actor), identity.user_id_for(other)
        if social_rules.pair_stream(actor_id, other_id) in seeded:
            continue
        context = CommandContext(device_id="demo-seeder", region=home[actor])
        await cores[home[actor]].bus.handle(command(user_id=actor_id, other_id=other_id), context)
    rng = random.Random(seed)  # the same hug ids as `seed_demo` draws: a retry is stored once
    for sender, recipient, kind, message in _HUGS:
        hug_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if home[sender] == home[recipient]:
            continue
        context = CommandContext(device_id="demo-seeder", region=home[sender])
        await cores[home[sender]].bus.handle(
            hug_rules.SendHug(
                hug_id,
                identity.user_id_for(sender),
                identity.user_id_for(recipient),
                kind,
                message,
            ),
            context,
        )


# Demo friends who are "around": kept present by the server itself, so presence shows
# something before anyone connects a second device.
_AROUND = (("carol", PresenceStatus.ONLINE, "/feed"), ("erin", PresenceStatus.AWAY, "/boards"))


async def keep_demo_friends_around(core: HugMood) -> None:
    """Heartbeat for a couple of demo users until cancelled (runs with `serve --demo`)."""
    presence = core.presence
    here = {u.handle for u in demo_users(core)}
    while True:
        for handle, status, view in _AROUND:
            if handle not in here:
                continue
            await presence.heartbeat(identity.user_id_for(handle), "demo-device", status, view)
        await asyncio.sleep(presence.heartbeat_s / 2)


# (who adds it, kind, mood or text, colour, x, y): what friends put on the board during the
# week, laid out so that nothing overlaps: (x, y) is the item's centre on the 1000 × 640 canvas,
# where a note is ~400 wide.
_ITEMS = (
    ("alice", "sticker", "grateful", "#ffd166", 90.0, 70.0),
    ("bob", "sticker", "tired", "#8ecae6", 90.0, 200.0),
    ("alice", "note", "Sunday picnic if the weather holds?", "#fff3b0", 420.0, 70.0),
    ("bob", "note", "Yes! I'll bring the lemonade.", "#fff3b0", 620.0, 170.0),
    ("bob", "sticker", "hopeful", "#b7e4c7", 90.0, 330.0),
    ("alice", "sticker", "calm", "#b7e4c7", 850.0, 330.0),
    ("alice", "note", "Thank you for Tuesday evening.", "#ffc8dd", 460.0, 470.0),
)


async def seed_demo_board(
    core: HugMood, context: CommandContext, rng: random.Random, *, with_carol: bool = True
) -> str:
    """Create the board, its members, and its first items (stored as each friend's edit)."""
    alice, bob, carol = (identity.user_id_for(h) for h in ("alice", "bob", "carol"))
    board_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    await core.bus.handle(
        board_rules.CreateBoard(
            board_id, alice, "Our week", "Stickers and notes for how the week went"
        ),
        context,
    )
    await core.bus.handle(board_rules.InviteMember(board_id, alice, bob, "editor"), context)
    if with_carol:
        await core.bus.handle(board_rules.InviteMember(board_id, alice, carol, "viewer"), context)
    docs: dict[str, Doc[Any]] = {"alice": Doc(), "bob": Doc()}
    for i, (who, kind, what, color, x, y) in enumerate(_ITEMS):
        doc = docs[who]
        for other in docs.values():  # each sees the other's items before adding theirs
            if other is not doc:
                doc.apply_update(other.get_update(doc.get_state()))
        before = doc.get_state()
        at = 1_700_000_000_000 + i * 3_600_000
        user_id = identity.user_id_for(who)
        make = sticker if kind == "sticker" else note
        items_of(doc)[str(uuid.UUID(int=rng.getrandbits(128), version=4))] = make(
            what, x=x, y=y, color=color, added_by=user_id, added_at=at
        )
        await core.boards.content.append(
            board_id, [AcceptedUpdate(user_id, doc.get_update(before))], items=item_count(doc)
        )
    return board_id
