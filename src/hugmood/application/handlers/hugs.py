"""Handlers for hugs: sending (friends only, rate-limited), delivery, seen, withdrawal, settings."""

from __future__ import annotations

import uuid
from dataclasses import replace

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import hugs as hg
from hugmood.domain import social as sc
from hugmood.domain.errors import ValidationFailed


def canonical_hug_id(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise ValidationFailed(f"{value!r} is not a UUID", field="id") from None


async def send_hug(
    command: hg.SendHug, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Appended durably before the sender is answered; delivery follows from the event."""
    command = replace(command, hug_id=canonical_hug_id(command.hug_id))
    friendship = await load(
        deps.store,
        sc.pair_stream(command.sender_id, command.recipient_id),
        sc.Friendship(),
        sc.evolve_friendship,
    )
    settings = await load(
        deps.store,
        hg.hug_settings_stream(command.recipient_id),
        hg.HugSettings(),
        hg.evolve_settings,
    )
    are_friends = friendship.state.status is sc.FriendshipStatus.FRIENDS
    stream = hg.hug_stream(command.hug_id)
    existing = await load(deps.store, stream, None, hg.evolve_hug)
    if existing.state is None:
        # Only new hugs count against the limit: a retried send is free.
        hg.decide_send(None, command, are_friends=are_friends, recipient_settings=settings.state)
        deps.hug_limiter.hit(command.sender_id)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=stream,
        initial=None,
        evolve=hg.evolve_hug,
        decide=lambda state: hg.decide_send(
            state, command, are_friends=are_friends, recipient_settings=settings.state
        ),
        user_id=command.sender_id,
        context=context,
        event_ids=lambda _: uuid.UUID(command.hug_id),
    )
    return CommandResult(result.last_position if result else 0, command.hug_id)


async def _on_hug(
    deps: Dependencies,
    context: CommandContext,
    hug_id: str,
    actor_id: str,
    decide: hg.HugDecision,
) -> CommandResult:
    hug_id = canonical_hug_id(hug_id)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=hg.hug_stream(hug_id),
        initial=None,
        evolve=hg.evolve_hug,
        decide=decide,
        user_id=actor_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, hug_id)


async def withdraw_hug(
    command: hg.WithdrawHug, deps: Dependencies, context: CommandContext
) -> CommandResult:
    command = replace(command, hug_id=canonical_hug_id(command.hug_id))
    return await _on_hug(
        deps,
        context,
        command.hug_id,
        command.sender_id,
        lambda state: hg.decide_withdraw(state, command),
    )


async def mark_delivered(
    command: hg.MarkHugDelivered, deps: Dependencies, context: CommandContext
) -> CommandResult:
    command = replace(command, hug_id=canonical_hug_id(command.hug_id))
    return await _on_hug(
        deps,
        context,
        command.hug_id,
        command.recipient_id,
        lambda state: hg.decide_delivered(state, command),
    )


async def mark_seen(
    command: hg.MarkHugSeen, deps: Dependencies, context: CommandContext
) -> CommandResult:
    command = replace(command, hug_id=canonical_hug_id(command.hug_id))
    return await _on_hug(
        deps,
        context,
        command.hug_id,
        command.recipient_id,
        lambda state: hg.decide_seen(state, command),
    )


async def change_settings(
    command: hg.ChangeHugSettings, deps: Dependencies, context: CommandContext
) -> CommandResult:
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=hg.hug_settings_stream(command.user_id),
        initial=hg.HugSettings(),
        evolve=hg.evolve_settings,
        decide=lambda state: hg.decide_settings(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)
