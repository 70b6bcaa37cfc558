"""Handlers for hugs: sending (friends only, rate-limited), delivery, seen, withdrawal, settings."""

from __future__ import annotations

import uuid
from dataclasses import replace
from functools import partial

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.federation import abroad, federation, hug_of, must_leave, share, take_copy
from hugmood.application.federation_reads import hug_settings_abroad
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import hugs as hug_rules
from hugmood.domain import social
from hugmood.domain.common import DomainEvent, canonical_id


async def send_hug(
    command: hug_rules.SendHug, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Appended durably before the sender is answered; delivery follows from the event."""
    command = replace(command, hug_id=canonical_id(command.hug_id))
    friendship = await load(
        deps.store,
        social.pair_stream(command.sender_id, command.recipient_id),
        social.Friendship(),
        social.evolve_friendship,
    )
    region = await abroad(deps, command.recipient_id)
    if region is None:
        settings = (
            await load(
                deps.store,
                hug_rules.hug_settings_stream(command.recipient_id),
                hug_rules.HugSettings(),
                hug_rules.evolve_settings,
            )
        ).state
    else:
        must_leave(deps, "hug", "a hug to someone in another region")
        settings = await hug_settings_abroad(deps, command.recipient_id, command.sender_id, region)
    are_friends = friendship.state.status is social.FriendshipStatus.FRIENDS

    def decide(state: hug_rules.Hug | None) -> list[DomainEvent]:
        events = hug_rules.decide_send(
            state, command, are_friends=are_friends, recipient_settings=settings
        )
        if state is None:
            # Only new hugs count against the limit: a retried send is free.
            deps.hug_limiter.hit(command.sender_id)
        return events

    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=hug_rules.hug_stream(command.hug_id),
        initial=None,
        evolve=hug_rules.evolve_hug,
        decide=decide,
        user_id=command.sender_id,
        context=context,
        event_ids=lambda _: uuid.UUID(command.hug_id),
    )
    if region is not None:
        # The recipient's region keeps the hug without its message (`federation`).
        await share(deps, hug_rules.hug_stream(command.hug_id), region)
    return CommandResult(result.last_position if result else 0, command.hug_id)


HugChange = hug_rules.WithdrawHug | hug_rules.MarkHugDelivered | hug_rules.MarkHugSeen


async def change_hug(
    command: HugChange, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Withdraw (by the sender), delivered or seen (for the recipient): one hug's stream."""
    command = replace(command, hug_id=canonical_id(command.hug_id))
    hug = await hug_of(deps, command.hug_id)
    if hug is not None and not isinstance(command, hug_rules.WithdrawHug):
        sender_region = await abroad(deps, hug.sender_id)
        if sender_region is not None and hug.recipient_id == command.recipient_id:
            return CommandResult(
                await _across(command, deps, sender_region, hug.recipient_id), command.hug_id
            )
    match command:
        case hug_rules.WithdrawHug():
            actor, decide = command.sender_id, partial(hug_rules.decide_withdraw, command=command)
        case hug_rules.MarkHugDelivered():
            actor, decide = (
                command.recipient_id,
                partial(hug_rules.decide_delivered, command=command),
            )
        case hug_rules.MarkHugSeen():
            actor, decide = command.recipient_id, partial(hug_rules.decide_seen, command=command)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=hug_rules.hug_stream(command.hug_id),
        initial=None,
        evolve=hug_rules.evolve_hug,
        decide=decide,
        user_id=actor,
        context=context,
    )
    if result is not None and hug is not None:
        region = await abroad(deps, hug.recipient_id)
        if region is not None:
            await share(deps, hug_rules.hug_stream(command.hug_id), region)
    return CommandResult(result.last_position if result else 0, command.hug_id)


async def _across(
    command: hug_rules.MarkHugDelivered | hug_rules.MarkHugSeen,
    deps: Dependencies,
    region: str,
    recipient_id: str,
) -> int:
    """The sender's region decides for the hug; keep the copy it answers with."""
    kind = "seen" if isinstance(command, hug_rules.MarkHugSeen) else "delivered"
    answer = await federation(deps).call(
        region, "hugChange", {"kind": kind, "hugId": command.hug_id, "actorId": recipient_id}
    )
    return await take_copy(deps, answer["streamId"], answer["events"])


async def change_settings(
    command: hug_rules.ChangeHugSettings, deps: Dependencies, context: CommandContext
) -> CommandResult:
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=hug_rules.hug_settings_stream(command.user_id),
        initial=hug_rules.HugSettings(),
        evolve=hug_rules.evolve_settings,
        decide=lambda state: hug_rules.decide_settings(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)
