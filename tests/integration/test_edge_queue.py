"""The edge's held queue on a real SQLite file: what it holds survives a reopen, a retried id
is held once, another person's id is refused, nothing personal is in the file in clear, and
a key other than the edge's opens nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hugmood.application.eventmapping import CommandContext
from hugmood.domain.errors import Conflict
from hugmood.domain.hugs import SendHug
from hugmood.domain.moods import RecordMood
from hugmood.edge.commands import HeldCommand
from hugmood.edge.queue import HeldQueue
from hugmood.edge.sealing import QueueSeal

SECRET = "a secret key of the deployment, 32+ characters long"


def check_in(user_id: str, note: str, entry_id: str | None = None) -> HeldCommand:
    command = RecordMood(
        entry_id=entry_id or str(uuid.uuid4()),
        user_id=user_id,
        mood_type="calm",
        intensity=0.5,
        note=note,
        recorded_at=datetime.now(UTC),
    )
    return HeldCommand(command, CommandContext(device_id="phone"))


def on_disk_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob("held.sqlite3*"))


async def test_held_commands_survive_a_reopen_in_order_and_sealed(tmp_path: Path) -> None:
    path = tmp_path / "held.sqlite3"
    queue = await HeldQueue.open(path, QueueSeal(SECRET))
    first = check_in("ann", "a private note")
    hug = HeldCommand(
        SendHug(str(uuid.uuid4()), "ann", "ben", "warm", "a hug note"), CommandContext()
    )
    assert await queue.hold(first)
    assert await queue.hold(hug)
    assert not await queue.hold(first)  # a retry of the same id: held once
    await queue.close()

    on_disk = on_disk_bytes(tmp_path)
    assert b"a private note" not in on_disk and b"a hug note" not in on_disk

    reopened = await HeldQueue.open(path, QueueSeal(SECRET))
    entries = await reopened.oldest()
    assert [e.held for e in entries] == [first, hug]
    await reopened.forwarded(entries[0].seq)
    await reopened.refused(entries[1], "FORBIDDEN")
    assert await reopened.depth() == 0
    assert await reopened.refusals() == [("hug", hug.item_id, "FORBIDDEN")]
    await reopened.close()


async def test_an_id_held_for_someone_else_is_refused(tmp_path: Path) -> None:
    queue = await HeldQueue.open(tmp_path / "held.sqlite3", QueueSeal(SECRET))
    entry_id = str(uuid.uuid4())
    assert await queue.hold(check_in("ann", "mine", entry_id))
    with pytest.raises(Conflict):
        await queue.hold(check_in("eve", "hers", entry_id))
    assert await queue.depth() == 1
    await queue.close()


async def test_another_key_opens_nothing_and_blocks_nothing(tmp_path: Path) -> None:
    queue = await HeldQueue.open(tmp_path / "held.sqlite3", QueueSeal(SECRET))
    lost = check_in("ann", "note")
    await queue.hold(lost)
    await queue.close()
    other = await HeldQueue.open(
        tmp_path / "held.sqlite3", QueueSeal("another deployment's key, long")
    )
    later = check_in("ben", "held under the new key")
    await other.hold(later)
    assert [e.held for e in await other.oldest()] == [later]
    assert await other.refusals() == [("check-in", lost.item_id, "UNREADABLE")]
    await other.close()
