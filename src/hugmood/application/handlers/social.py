"""Handlers for friendships: every command acts on the stream of one pair of users; a block
or an unfriend also parts the two on each other's boards."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.queries import boards as board_queries
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append
from hugmood.domain import boards as board_rules
from hugmood.domain import identity, social
from hugmood.domain.errors import NotFound
from hugmood.ids import UserId


async def ensure_user_exists(deps: Dependencies, user_id: UserId) -> None:
    """Checked against the event store itself, so a just-registered user is found."""
    if not await deps.store.read_stream(identity.user_stream(user_id)):
        raise NotFound("there is no user with that handle", field="handle")


async def change_friendship(
    command: social.SocialCommand, deps: Dependencies, context: CommandContext
) -> CommandResult:
    await ensure_user_exists(deps, command.other_id)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=social.pair_stream(command.user_id, command.other_id),
        initial=social.Friendship(),
        evolve=social.evolve_friendship,
        decide=lambda state: social.decide_friendship(state, command),
        user_id=command.user_id,
        context=context,
    )
    position = result.last_position if result else 0
    if isinstance(command, social.BlockUser | social.RemoveFriend):
        # Also when the block was already there: a retry after a crash finishes the parting.
        position = max(position, await part_on_boards(deps, command, context))
    return CommandResult(position)


async def part_on_boards(
    deps: Dependencies, command: social.BlockUser | social.RemoveFriend, context: CommandContext
) -> int:
    """Neither stays on a board the other owns (`boards.decide_parting`); each board's own
    stream decides, so a board that changed meanwhile is judged as it is now."""
    position = 0
    for board_id in await board_queries.boards_shared_by(
        deps.readmodels, command.user_id, command.other_id
    ):
        result = await decide_and_append(
            deps.store,
            deps.clock,
            stream_id=board_rules.board_stream(board_id),
            initial=None,
            evolve=board_rules.evolve_board,
            decide=lambda state: board_rules.decide_parting(
                state, command.user_id, command.other_id
            ),
            user_id=command.user_id,
            context=context,
        )
        if result is not None:
            position = max(position, result.last_position)
    return position
