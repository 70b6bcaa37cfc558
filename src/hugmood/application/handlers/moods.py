"""Handlers for recording, editing and deleting mood entries."""

from __future__ import annotations

import uuid

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append
from hugmood.domain import moods as md
from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Conflict, ValidationFailed
from hugmood.domain.privacy import Privacy

DEFAULT_PRIVACY = Privacy.FRIENDS_ONLY


def entry_uuid(entry_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(entry_id)
    except ValueError:
        raise ValidationFailed(f"{entry_id!r} is not a UUID", field="id") from None


async def _default_privacy(deps: Dependencies, user_id: str) -> Privacy:
    row = await deps.readmodels.fetchrow(
        "SELECT default_visibility FROM rm_accounts WHERE user_id = $1", user_id
    )
    return Privacy(row[0]) if row else DEFAULT_PRIVACY


async def record_mood(
    command: md.RecordMood, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """The entry id doubles as the event id: a device retrying an upload is stored once."""
    event_id = entry_uuid(command.entry_id)
    now = deps.clock.now()
    default = DEFAULT_PRIVACY if command.privacy else await _default_privacy(deps, command.user_id)
    events = md.decide_record(command, now=now, default_privacy=default)

    def decide(state: md.MoodEntry | None) -> list[DomainEvent]:
        # A retry of the same check-in finds it stored and changes nothing.
        if state is not None and state.owner_id != command.user_id:
            raise Conflict("this entry id is already used; choose a new one", field="id")
        return [] if state is not None else events

    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=md.mood_stream(str(event_id)),
        initial=None,
        evolve=md.evolve_entry,
        decide=decide,
        user_id=command.user_id,
        context=context,
        event_ids=lambda _: event_id,
    )
    return CommandResult(result.last_position if result else 0, str(event_id))


async def edit_mood(
    command: md.EditMood, deps: Dependencies, context: CommandContext
) -> CommandResult:
    entry_uuid(command.entry_id)
    now = deps.clock.now()
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=md.mood_stream(command.entry_id),
        initial=None,
        evolve=md.evolve_entry,
        decide=lambda state: md.decide_edit(state, command, now=now),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, command.entry_id)


async def delete_mood(
    command: md.DeleteMood, deps: Dependencies, context: CommandContext
) -> CommandResult:
    entry_uuid(command.entry_id)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=md.mood_stream(command.entry_id),
        initial=None,
        evolve=md.evolve_entry,
        decide=lambda state: md.decide_delete(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, command.entry_id)
