"""Board lifecycle rules: who may invite, remove and archive, and what a board always keeps."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hugmood.domain import boards as bd
from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed


def board_after(*events: DomainEvent) -> bd.Board | None:
    state: bd.Board | None = None
    for event in events:
        state = bd.evolve_board(state, event)
    return state


CREATED = bd.BoardCreated("b1", "ann", "Our week", "")


def test_a_new_board_has_its_creator_as_owner() -> None:
    (event,) = bd.decide_create(None, bd.CreateBoard("b1", "ann", "  Our week  "))
    board = board_after(event)
    assert board is not None
    assert board.title == "Our week"
    assert board.role_of("ann") is bd.BoardRole.OWNER


@pytest.mark.parametrize("title", ["", "   ", "x" * 81, "bad\x00title"])
def test_a_title_must_be_sensible(title: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        bd.decide_create(None, bd.CreateBoard("b1", "ann", title))
    assert caught.value.field == "title"


def test_a_retried_create_changes_nothing_but_someone_else_cannot_take_the_id() -> None:
    board = board_after(CREATED)
    assert bd.decide_create(board, bd.CreateBoard("b1", "ann", "Our week")) == []
    with pytest.raises(Conflict):
        bd.decide_create(board, bd.CreateBoard("b1", "ben", "Mine"))


def test_owners_invite_friends_with_a_role_and_can_change_it() -> None:
    board = board_after(CREATED)
    (added,) = bd.decide_invite(
        board, bd.InviteMember("b1", "ann", "ben", "viewer"), are_friends=True
    )
    board = board_after(CREATED, added)
    assert board is not None and board.role_of("ben") is bd.BoardRole.VIEWER
    (changed,) = bd.decide_invite(
        board, bd.InviteMember("b1", "ann", "ben", "EDITOR"), are_friends=True
    )
    assert isinstance(changed, bd.BoardMemberRoleChanged)
    assert (
        bd.decide_invite(
            board_after(CREATED, added, changed),
            bd.InviteMember("b1", "ann", "ben", "editor"),
            are_friends=True,
        )
        == []
    )


def test_only_friends_can_be_invited_and_only_by_owners() -> None:
    board = board_after(CREATED, bd.BoardMemberAdded("b1", "ben", "editor", "ann"))
    with pytest.raises(Forbidden, match="friends"):
        bd.decide_invite(board, bd.InviteMember("b1", "ann", "cat", "editor"), are_friends=False)
    with pytest.raises(Forbidden, match="owners"):
        bd.decide_invite(board, bd.InviteMember("b1", "ben", "cat", "editor"), are_friends=True)
    with pytest.raises(ValidationFailed, match="role"):
        bd.decide_invite(board, bd.InviteMember("b1", "ann", "cat", "admin"), are_friends=True)


def test_strangers_do_not_learn_that_a_board_exists() -> None:
    board = board_after(CREATED)
    attempts: list[Callable[[], object]] = [
        lambda: bd.decide_invite(
            board, bd.InviteMember("b1", "eve", "cat", "editor"), are_friends=True
        ),
        lambda: bd.decide_remove(board, bd.RemoveMember("b1", "eve", "ann")),
        lambda: bd.decide_archive(board, bd.ArchiveBoard("b1", "eve")),
        lambda: bd.decide_archive(None, bd.ArchiveBoard("b1", "eve")),
    ]
    for decide in attempts:
        with pytest.raises(NotFound):
            decide()


def test_members_can_leave_but_a_board_always_keeps_an_owner() -> None:
    board = board_after(CREATED, bd.BoardMemberAdded("b1", "ben", "viewer", "ann"))
    (left,) = bd.decide_remove(board, bd.RemoveMember("b1", "ben", "ben"))
    assert isinstance(left, bd.BoardMemberRemoved)
    with pytest.raises(Forbidden):
        bd.decide_remove(board, bd.RemoveMember("b1", "ben", "ann"))
    with pytest.raises(Conflict, match="owner"):
        bd.decide_remove(board, bd.RemoveMember("b1", "ann", "ann"))
    with pytest.raises(Conflict, match="owner"):
        bd.decide_invite(board, bd.InviteMember("b1", "ann", "ann", "editor"), are_friends=True)


def test_an_archived_board_is_read_only_for_everyone_and_its_members_are_fixed() -> None:
    board = board_after(
        CREATED, bd.BoardMemberAdded("b1", "ben", "editor", "ann"), bd.BoardArchived("b1", "ann")
    )
    assert board is not None
    assert board.effective_role("ann") is bd.BoardRole.VIEWER
    assert board.effective_role("ben") is bd.BoardRole.VIEWER
    assert bd.decide_archive(board, bd.ArchiveBoard("b1", "ann")) == []
    with pytest.raises(Conflict, match="archived"):
        bd.decide_invite(board, bd.InviteMember("b1", "ann", "cat", "editor"), are_friends=True)


def test_parting_removes_the_other_from_the_actors_board_even_when_archived() -> None:
    board = board_after(
        CREATED,
        bd.BoardMemberAdded("b1", "dan", "editor", "ann"),
        bd.BoardArchived("b1", "ann"),
    )
    assert bd.decide_parting(board, "ann", "dan") == [bd.BoardMemberRemoved("b1", "dan", "ann")]


def test_parting_makes_the_actor_leave_the_others_board() -> None:
    board = board_after(CREATED, bd.BoardMemberAdded("b1", "dan", "viewer", "ann"))
    assert bd.decide_parting(board, "dan", "ann") == [bd.BoardMemberRemoved("b1", "dan", "dan")]


def test_parting_leaves_a_board_neither_owns_and_boards_without_both_alone() -> None:
    board = board_after(
        CREATED,
        bd.BoardMemberAdded("b1", "dan", "editor", "ann"),
        bd.BoardMemberAdded("b1", "eve", "editor", "ann"),
    )
    assert bd.decide_parting(board, "dan", "eve") == []
    assert bd.decide_parting(board, "ann", "zed") == []
    assert bd.decide_parting(None, "ann", "dan") == []
