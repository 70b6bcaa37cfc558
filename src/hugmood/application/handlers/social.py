"""Handlers for friendships: every command acts on the stream of one pair of users."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append
from hugmood.domain import identity as idm
from hugmood.domain import social as sc
from hugmood.domain.errors import NotFound


async def ensure_user_exists(deps: Dependencies, user_id: str) -> None:
    """Checked against the event store itself, so a just-registered user is found."""
    if not await deps.store.read_stream(idm.user_stream(user_id)):
        raise NotFound("there is no user with that handle", field="handle")


async def change_friendship(
    command: sc.SocialCommand, deps: Dependencies, context: CommandContext
) -> CommandResult:
    await ensure_user_exists(deps, command.other_id)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=sc.pair_stream(command.user_id, command.other_id),
        initial=sc.Friendship(),
        evolve=sc.evolve_friendship,
        decide=lambda state: sc.decide_friendship(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)
