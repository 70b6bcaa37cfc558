"""Handlers for friendships: every command acts on the stream of one pair of users; a block
or an unfriend also parts the two on each other's boards and close-friends lists. And the
close-friends list itself."""

from __future__ import annotations

from functools import partial

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.federation import (
    FRIENDSHIP_KINDS,
    abroad,
    federation,
    note_foreign,
    pair_authority,
    share,
    take_copy,
)
from hugmood.application.queries import boards as board_queries
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import boards as board_rules
from hugmood.domain import close_friends as close_rules
from hugmood.domain import identity, social
from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import NotFound
from hugmood.ids import UserId

NOBODY: frozenset[str] = frozenset()


async def ensure_user_exists(deps: Dependencies, user_id: UserId) -> None:
    """Checked against the event store itself, so a just-registered user is found."""
    if not await deps.store.read_stream(identity.user_stream(user_id)):
        raise NotFound("there is no user with that handle", field="handle")


async def change_friendship(
    command: social.SocialCommand, deps: Dependencies, context: CommandContext
) -> CommandResult:
    other_region = await abroad(deps, command.other_id)
    if other_region is None:
        await ensure_user_exists(deps, command.other_id)
    elif await abroad(deps, pair_authority(command.user_id, command.other_id)) is not None:
        # A friend across the border, whose region decides for the pair (`federation`).
        return CommandResult(await _across(command, deps, context, other_region))
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
    if other_region is not None:
        position = max(position, await note_foreign(deps, command.other_id))
        await share(deps, social.pair_stream(command.user_id, command.other_id), other_region)
    if isinstance(command, social.BlockUser | social.RemoveFriend):
        # Also when the block was already there: a retry after a crash finishes the parting.
        position = max(position, await part_on_boards(deps, command, context))
        position = max(position, await part_close_friends(deps, command, context))
    return CommandResult(position)


async def _across(
    command: social.SocialCommand, deps: Dependencies, context: CommandContext, region: str
) -> int:
    """Forward the command to the pair's region and keep the copy it answers with."""
    kind = FRIENDSHIP_KINDS[type(command)]
    answer = await federation(deps).call(
        region,
        "friendship",
        {"kind": kind, "userId": command.user_id, "otherId": command.other_id},
    )
    position = await take_copy(deps, answer["streamId"], answer["events"])
    if isinstance(command, social.BlockUser | social.RemoveFriend):
        position = max(position, await part_close_friends(deps, command, context))
    return position


async def part_close_friends(
    deps: Dependencies, command: social.BlockUser | social.RemoveFriend, context: CommandContext
) -> int:
    """Each comes off the other's close-friends list (each list's own stream decides)."""
    reason = "blocked" if isinstance(command, social.BlockUser) else "unfriended"
    position = 0
    for owner, friend in ((command.user_id, command.other_id), (command.other_id, command.user_id)):
        if await abroad(deps, owner) is not None:
            continue  # their list is kept in their region, which parts them when it hears
        one = close_rules.RemoveCloseFriend(owner, friend, reason)
        result = await decide_and_append(
            deps.store,
            deps.clock,
            stream_id=close_rules.close_friends_stream(owner),
            initial=NOBODY,
            evolve=close_rules.evolve_close_friends,
            decide=partial(close_rules.decide_remove, command=one),
            user_id=command.user_id,
            context=context,
        )
        if result is not None:
            position = max(position, result.last_position)
    return position


async def change_close_friends(
    command: close_rules.AddCloseFriend | close_rules.RemoveCloseFriend,
    deps: Dependencies,
    context: CommandContext,
) -> CommandResult:
    """Add a friend to the list (checked against the pair's own stream, so a friendship
    that just ended is seen), or take someone off it."""
    await ensure_user_exists(deps, command.friend_id)
    if isinstance(command, close_rules.AddCloseFriend):
        friendship = await load(
            deps.store,
            social.pair_stream(command.user_id, command.friend_id),
            social.Friendship(),
            social.evolve_friendship,
        )
        are_friends = friendship.state.status is social.FriendshipStatus.FRIENDS
        add = command

        def decide(state: frozenset[str]) -> list[DomainEvent]:
            return close_rules.decide_add(state, add, are_friends=are_friends)

    else:
        remove = command

        def decide(state: frozenset[str]) -> list[DomainEvent]:
            return close_rules.decide_remove(state, remove)

    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=close_rules.close_friends_stream(command.user_id),
        initial=NOBODY,
        evolve=close_rules.evolve_close_friends,
        decide=decide,
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)


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
