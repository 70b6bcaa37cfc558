"""Boards on every backend: lifecycle through the bus and read model, and board content in
the event log (updates as events, compaction into snapshots, loading from the newest one)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc

from hugmood.application.queries import boards as bq
from hugmood.boards.model import item_count, items_of, sticker
from hugmood.boards.store import COMPACTED, AcceptedUpdate, encode, materialize
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import boards as bd
from hugmood.domain import identity as idm
from hugmood.domain import social as sc
from hugmood.domain.boards import BoardRole
from hugmood.domain.errors import Forbidden, NotFound
from hugmood.entrypoints.demo import seed_demo
from hugmood.eventstore.envelope import NewEvent
from tests.conftest import unique


async def people(core: HugMood, *prefixes: str) -> list[str]:
    ids = []
    for prefix in prefixes:
        handle = unique(prefix)
        await core.bus.handle(idm.RegisterUser(handle, prefix, "a good password", "eu-west"))
        ids.append(idm.user_id_for(handle))
    return ids


async def new_board(core: HugMood, owner: str) -> str:
    result = await core.bus.handle(bd.CreateBoard(str(uuid.uuid4()), owner, "Week 12"))
    board_id: str = result.value
    return board_id


def edits(count: int, *, start: int = 0) -> tuple[Doc[Any], list[bytes]]:
    """A document and the updates that built it, one per item."""
    doc: Doc[Any] = Doc()
    updates = []
    for i in range(start, start + count):
        before = doc.get_state()
        items_of(doc)[f"item-{i}"] = sticker(
            "calm", x=i, y=0, color="#336699", added_by="ann", added_at=1
        )
        updates.append(doc.get_update(before))
    return doc, updates


def loaded(updates: list[bytes]) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


async def test_members_and_roles_show_in_the_read_model(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        ann, ben, cat = await people(core, "ann", "ben", "cat")
        await core.bus.handle(sc.RequestFriendship(ann, ben))
        await core.bus.handle(sc.AcceptFriendship(ben, ann))
        board_id = await new_board(core, ann)
        with pytest.raises(Forbidden):
            await core.bus.handle(bd.InviteMember(board_id, ann, cat, "editor"))
        await core.bus.handle(bd.InviteMember(board_id.upper(), ann, ben, "viewer"))
        assert {(m.user_id, m.role) for m in await bq.members(core.readmodels, board_id)} == {
            (ann, BoardRole.OWNER),
            (ben, BoardRole.VIEWER),
        }
        (seen,) = await bq.boards_of(core.readmodels, ben, include_archived=False)
        assert (seen.title, seen.my_role) == ("Week 12", BoardRole.VIEWER)
        with pytest.raises(NotFound):
            await bq.board_for(core.readmodels, board_id, cat)
        await core.bus.handle(bd.ArchiveBoard(board_id, ann))
        assert await bq.boards_of(core.readmodels, ben, include_archived=False) == []
        (archived,) = await bq.boards_of(core.readmodels, ben, include_archived=True)
        assert archived.archived


async def test_content_is_in_the_log_and_loads_from_the_newest_snapshot(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        (ann,) = await people(core, "ann")
        board_id = await new_board(core, ann)
        store = core.boards.content
        doc, updates = edits(30)
        for update in updates:
            await store.append(board_id, [AcceptedUpdate(ann, update)], items=1)
        stream = await core.store.read_stream(bd.board_doc_stream(board_id))
        assert [e.event_type for e in stream] == ["BoardContentUpdated"] * 30
        assert all(e.user_id == ann for e in stream)

        covered = await store.compact(board_id)
        assert covered == 30
        more_doc, more = edits(5, start=30)
        await store.append(board_id, [AcceptedUpdate(ann, u) for u in more], items=35)
        await core.projections.wait_for(await core.store.last_position())

        content = await store.load(board_id)
        assert content.since_snapshot == 5
        assert content.snapshot is not None
        assert len(content.updates) == 5  # after the snapshot
        result = materialize(content)
        assert item_count(result) == 35
        assert items_of(result).to_py() == {
            **(items_of(doc).to_py() or {}),
            **(items_of(more_doc).to_py() or {}),
        }
        view = await bq.board_for(core.readmodels, board_id, ann)
        assert (view.item_count, view.updates) == (35, 35)


async def test_updates_stored_while_a_snapshot_was_made_are_not_lost(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        (ann,) = await people(core, "ann")
        board_id = await new_board(core, ann)
        store = core.boards.content
        _, first = edits(10)
        await store.append(board_id, [AcceptedUpdate(ann, u) for u in first], items=10)
        # A snapshot covering version 10 lands after two more updates (another process made
        # it while they were being stored).
        _, racing = edits(2, start=10)
        await store.append(board_id, [AcceptedUpdate(ann, u) for u in racing], items=12)
        snapshot = loaded(first).get_update()
        await core.store.append(
            bd.board_doc_stream(board_id),
            [store_event(board_id, snapshot, through=10)],
        )
        await core.projections.wait_for(await core.store.last_position())
        assert item_count(materialize(await store.load(board_id))) == 12


def store_event(board_id: str, snapshot: bytes, *, through: int) -> NewEvent:
    """A snapshot event as a compaction writes it."""
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type=COMPACTED,
        version=1,
        timestamp=datetime.now(UTC),
        user_id=None,
        data={
            "boardId": board_id,
            "snapshot": encode(snapshot),
            "throughVersion": through,
            "itemCount": 10,
        },
    )


async def test_the_demo_seeds_a_shared_board(tmp_path: Path) -> None:
    async with open_hugmood(Settings(database_url="memory", data_dir=tmp_path)) as core:
        assert await seed_demo(core, days=2)
        await core.projections.wait_for(await core.store.last_position())
        alice, bob, carol = (idm.user_id_for(h) for h in ("alice", "bob", "carol"))
        (board,) = await bq.boards_of(core.readmodels, alice, include_archived=False)
        assert board.title == "Our week"
        assert {(m.user_id, m.role) for m in await bq.members(core.readmodels, board.board_id)} == {
            (alice, BoardRole.OWNER),
            (bob, BoardRole.EDITOR),
            (carol, BoardRole.VIEWER),
        }
        snapshot = await core.boards.snapshot(board.board_id)
        assert snapshot["invalid"] == 0
        assert board.item_count == len(snapshot["items"]) == 7
        assert {i["addedBy"] for i in snapshot["items"]} == {alice, bob}


async def test_many_friends_invited_at_once_all_join(settings: Settings) -> None:
    """Each invite rewrites the board's stream: concurrent ones retry until each lands."""
    async with open_hugmood(settings) as core:
        ann, *friends = await people(core, "ann", *[f"f{i}" for i in range(16)])
        for friend in friends:
            await core.bus.handle(sc.RequestFriendship(ann, friend))
            await core.bus.handle(sc.AcceptFriendship(friend, ann))
        board_id = await new_board(core, ann)
        await asyncio.gather(
            *(core.bus.handle(bd.InviteMember(board_id, ann, f, "editor")) for f in friends)
        )
        members = await bq.members(core.readmodels, board_id)
        assert {m.user_id for m in members} == {ann, *friends}
