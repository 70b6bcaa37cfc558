"""Demo data: a handful of friends with a month of varied, privacy-mixed check-ins, a few
hugs, and a shared mood board."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hugmood.application.eventmapping import CommandContext
from hugmood.application.queries.identity import account_by_handle
from hugmood.boards.demo import seed_demo_board
from hugmood.bootstrap import HugMood
from hugmood.domain import hugs as hg
from hugmood.domain import identity as idm
from hugmood.domain import moods as md
from hugmood.domain import social as sc
from hugmood.domain.vocabulary import MOODS, SOCIAL_CONTEXTS, WEATHER
from hugmood.realtime.hub import PresenceStatus

DEMO_PASSWORD = "hugmood-demo"  # noqa: S105  (printed for everyone at start-up)


@dataclass(frozen=True, slots=True)
class DemoUser:
    handle: str
    display_name: str
    region: str
    bias: float
    """-1..1: how pleasant this person's month tends to be."""


DEMO_USERS = (
    DemoUser("alice", "Alice Martin", "eu-west", 0.4),
    DemoUser("bob", "Bob Okafor", "eu-west", -0.2),
    DemoUser("carol", "Carol Nguyen", "us-east", 0.1),
    DemoUser("dan", "Dan Silva", "sa-east", -0.4),
    DemoUser("erin", "Erin Walsh", "us-west", 0.6),
)

# (who acts, towards whom, what): the demo's social graph.
_FRIENDSHIPS = (
    ("alice", "bob", sc.RequestFriendship),
    ("bob", "alice", sc.AcceptFriendship),
    ("alice", "carol", sc.RequestFriendship),
    ("carol", "alice", sc.AcceptFriendship),
    ("carol", "erin", sc.RequestFriendship),
    ("erin", "carol", sc.AcceptFriendship),
    ("dan", "alice", sc.RequestFriendship),
    ("erin", "dan", sc.BlockUser),
)

# (sender, recipient, hug type, message): a few hugs, one already seen.
_HUGS = (
    ("alice", "bob", "comforting", "Rough week? I'm around tonight."),
    ("bob", "alice", "celebration", "Congrats on finishing it!"),
    ("carol", "alice", "warm", None),
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


async def seed_demo(core: HugMood, *, days: int = 30, seed: int = 7) -> bool:
    """Seed the demo once; returns False (and does nothing) if it is already there."""
    if await account_by_handle(core.readmodels, DEMO_USERS[0].handle) is not None:
        return False
    context = CommandContext(device_id="demo-seeder", region=core.settings.region)
    rng = random.Random(seed)
    for user in DEMO_USERS:
        await core.bus.handle(
            # The demo's people chose to share with their friends (new accounts share nothing).
            idm.RegisterUser(
                user.handle, user.display_name, DEMO_PASSWORD, user.region, "friends-only"
            ),
            context,
        )
    for actor, other, command in _FRIENDSHIPS:
        await core.bus.handle(
            command(user_id=idm.user_id_for(actor), other_id=idm.user_id_for(other)), context
        )
    for sender, recipient, kind, message in _HUGS:
        hug_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        sender_id, recipient_id = idm.user_id_for(sender), idm.user_id_for(recipient)
        await core.bus.handle(hg.SendHug(hug_id, sender_id, recipient_id, kind, message), context)
        if kind == "celebration":
            await core.bus.handle(hg.MarkHugSeen(hug_id, recipient_id), context)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    words = list(MOODS.values())
    for user in DEMO_USERS:
        user_id = idm.user_id_for(user.handle)
        for day in range(days, 0, -1):
            for _ in range(rng.randint(1, 3)):
                pleasant = rng.gauss(user.bias, 0.5)
                word = min(words, key=lambda w: abs(w.pleasantness - pleasant) + rng.random() * 0.6)
                at = now - timedelta(days=day, hours=rng.randint(0, 14), minutes=rng.randint(0, 59))
                await core.bus.handle(
                    md.RecordMood(
                        entry_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        user_id=user_id,
                        mood_type=word.word,
                        intensity=round(rng.uniform(0.2, 1.0), 2),
                        note=rng.choice(_NOTES[word.pleasantness >= 0])
                        if rng.random() < 0.6
                        else None,
                        context=md.ContextFactors(
                            location=rng.choice(("home", "work", "park", "café", None)),
                            weather=rng.choice(sorted(WEATHER)),
                            social_context=rng.choice(sorted(SOCIAL_CONTEXTS)),
                            tags=tuple(rng.sample(_TAGS, rng.randint(0, 2))),
                        ),
                        privacy=rng.choices(("private", "friends-only", "public"), (2, 5, 3))[0],
                        recorded_at=at,
                    ),
                    context,
                )
    await seed_demo_board(core, context, rng)
    return True


# Demo friends who are "around": kept present by the server itself, so presence shows
# something before anyone connects a second device.
_AROUND = (("carol", PresenceStatus.ONLINE, "/feed"), ("erin", PresenceStatus.AWAY, "/boards"))


async def keep_demo_friends_around(core: HugMood) -> None:
    """Heartbeat for a couple of demo users until cancelled (runs with `serve --demo`)."""
    presence = core.presence
    while True:
        for handle, status, view in _AROUND:
            await presence.heartbeat(idm.user_id_for(handle), "demo-device", status, view)
        await asyncio.sleep(presence.heartbeat_s / 2)
