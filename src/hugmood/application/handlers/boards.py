"""Handlers for board lifecycle: create, invite or change a role, remove, archive."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.federation import abroad, must_leave
from hugmood.application.handlers.social import ensure_user_exists
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import boards, social
from hugmood.domain.common import DomainEvent, canonical_id
from hugmood.ids import BoardId


async def create_board(
    command: boards.CreateBoard, deps: Dependencies, context: CommandContext
) -> CommandResult:
    command = replace(command, board_id=canonical_id(command.board_id, field="id"))
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=boards.board_stream(command.board_id),
        initial=None,
        evolve=boards.evolve_board,
        decide=lambda state: boards.decide_create(state, command),
        user_id=command.owner_id,
        context=context,
        event_ids=lambda _: uuid.UUID(command.board_id),
    )
    return CommandResult(result.last_position if result else 0, command.board_id)


async def change_board(
    command: boards.BoardCommand, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Members and archive: the owner's rules are checked against the board's own stream."""
    command = replace(command, board_id=canonical_id(command.board_id, field="boardId"))
    decide: Callable[[boards.Board | None], list[DomainEvent]]
    match command:
        case boards.InviteMember():
            if await abroad(deps, command.member_id) is None:
                await ensure_user_exists(deps, command.member_id)
            else:
                must_leave(deps, "board_content", "a board shared with someone in another region")
            friendship = await load(
                deps.store,
                social.pair_stream(command.actor_id, command.member_id),
                social.Friendship(),
                social.evolve_friendship,
            )
            are_friends = friendship.state.status is social.FriendshipStatus.FRIENDS
            decide = partial(boards.decide_invite, command=command, are_friends=are_friends)
        case boards.RemoveMember():
            decide = partial(boards.decide_remove, command=command)
        case boards.ArchiveBoard():
            decide = partial(boards.decide_archive, command=command)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=boards.board_stream(command.board_id),
        initial=None,
        evolve=boards.evolve_board,
        decide=decide,
        user_id=command.actor_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, command.board_id)


async def load_board(deps: Dependencies, board_id: BoardId) -> boards.Board | None:
    """The board as its own stream says now (authoritative, unlike the read model)."""
    loaded = await load(deps.store, boards.board_stream(board_id), None, boards.evolve_board)
    return loaded.state
