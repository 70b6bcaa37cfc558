"""Handlers for recording, editing and deleting mood entries."""

from __future__ import annotations

import uuid
from dataclasses import replace

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import moods as md
from hugmood.domain.errors import Conflict
from hugmood.domain.privacy import Privacy
from hugmood.eventstore.store import NO_STREAM, ConcurrencyError

DEFAULT_PRIVACY = Privacy.FRIENDS_ONLY
ID_TAKEN = "this entry id is already used; choose a new one"


async def _default_privacy(deps: Dependencies, user_id: str) -> Privacy:
    row = await deps.readmodels.fetchrow(
        "SELECT default_visibility FROM rm_accounts WHERE user_id = $1", user_id
    )
    return Privacy(row[0]) if row else DEFAULT_PRIVACY


async def record_mood(
    command: md.RecordMood, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Append the check-in to a new stream whose first event id is the entry id.

    No read is needed first: a device retrying an upload sends the same id, which the store
    recognises and answers with the original position; only then is the stream read, to make
    sure the entry really is this user's.
    """
    command = replace(command, entry_id=md.canonical_entry_id(command.entry_id))
    event_id = uuid.UUID(command.entry_id)
    now = deps.clock.now()
    default = DEFAULT_PRIVACY if command.privacy else await _default_privacy(deps, command.user_id)
    (recorded,) = md.decide_record(command, now=now, default_privacy=default)
    event = to_new_event(
        recorded, user_id=command.user_id, context=context, now=now, event_id=event_id
    )
    stream = md.mood_stream(str(event_id))
    try:
        result = await deps.store.append(stream, [event], expected_version=NO_STREAM)
    except ConcurrencyError as e:
        raise Conflict(ID_TAKEN, field="id") from e
    if result.duplicate:
        existing = await load(deps.store, stream, None, md.evolve_entry)
        if existing.state is None or existing.state.owner_id != command.user_id:
            raise Conflict(ID_TAKEN, field="id")
    return CommandResult(result.last_position, str(event_id))


async def edit_mood(
    command: md.EditMood, deps: Dependencies, context: CommandContext
) -> CommandResult:
    command = replace(command, entry_id=md.canonical_entry_id(command.entry_id))
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
    command = replace(command, entry_id=md.canonical_entry_id(command.entry_id))
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
