"""The demo's shared board: Alice's "Our week" with Bob editing and Carol looking on."""

from __future__ import annotations

import random
import uuid
from typing import Any

from pycrdt import Doc

from hugmood.application.eventmapping import CommandContext
from hugmood.boards.model import item_count, items_of, note, sticker
from hugmood.boards.store import AcceptedUpdate
from hugmood.bootstrap import HugMood
from hugmood.domain import boards as bd
from hugmood.domain import identity as idm

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


async def seed_demo_board(core: HugMood, context: CommandContext, rng: random.Random) -> str:
    """Create the board, its members, and its first items (stored as each friend's edit)."""
    alice, bob, carol = (idm.user_id_for(h) for h in ("alice", "bob", "carol"))
    board_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    await core.bus.handle(
        bd.CreateBoard(board_id, alice, "Our week", "Stickers and notes for how the week went"),
        context,
    )
    await core.bus.handle(bd.InviteMember(board_id, alice, bob, "editor"), context)
    await core.bus.handle(bd.InviteMember(board_id, alice, carol, "viewer"), context)
    docs: dict[str, Doc[Any]] = {"alice": Doc(), "bob": Doc()}
    for i, (who, kind, what, color, x, y) in enumerate(_ITEMS):
        doc = docs[who]
        for other in docs.values():  # each sees the other's items before adding theirs
            if other is not doc:
                doc.apply_update(other.get_update(doc.get_state()))
        before = doc.get_state()
        at = 1_700_000_000_000 + i * 3_600_000
        user_id = idm.user_id_for(who)
        make = sticker if kind == "sticker" else note
        items_of(doc)[str(uuid.UUID(int=rng.getrandbits(128), version=4))] = make(
            what, x=x, y=y, color=color, added_by=user_id, added_at=at
        )
        await core.boards.content.append(
            board_id, [AcceptedUpdate(user_id, doc.get_update(before))], items=item_count(doc)
        )
    return board_id
