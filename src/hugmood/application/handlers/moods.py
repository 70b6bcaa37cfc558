"""Handlers for recording, editing and deleting mood entries."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace

from hugmood.application.age import AgeGate
from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.queries import identity as identity_queries
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import moods
from hugmood.domain.errors import Conflict, HugMoodError
from hugmood.domain.privacy import Privacy
from hugmood.domain.regions import PUBLIC_CHECK_IN
from hugmood.eventstore.envelope import NewEvent
from hugmood.eventstore.store import NO_STREAM, ConcurrencyError
from hugmood.ids import EntryId, UserId

DEFAULT_PRIVACY = Privacy.FRIENDS_ONLY
ID_TAKEN = "this entry id is already used; choose a new one"


def _public(event: object) -> bool:
    return isinstance(event, moods.MoodRecorded) and event.privacy == Privacy.PUBLIC.value


async def _default_privacy(deps: Dependencies, user_id: UserId) -> Privacy:
    found = await identity_queries.default_visibility(deps.readmodels, user_id)
    return Privacy(found) if found else DEFAULT_PRIVACY


async def record_mood(
    command: moods.RecordMood, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Append the check-in to a new stream whose first event id is the entry id.

    No read is needed first: a device retrying an upload sends the same id, which the store
    recognises and answers with the original position; only then is the stream read, to make
    sure the entry really is this user's.
    """
    command = replace(command, entry_id=moods.canonical_entry_id(command.entry_id))
    event_id = uuid.UUID(command.entry_id)
    now = deps.clock.now()
    default = DEFAULT_PRIVACY if command.privacy else await _default_privacy(deps, command.user_id)
    (recorded,) = moods.decide_record(command, now=now, default_privacy=default)
    if _public(recorded):
        await AgeGate(deps, command.user_id).require(PUBLIC_CHECK_IN)
    event = to_new_event(
        recorded, user_id=command.user_id, context=context, now=now, event_id=event_id
    )
    position, _ = await _append_new_entry(deps, command.user_id, command.entry_id, event)
    return CommandResult(position, command.entry_id)


async def edit_mood(
    command: moods.EditMood, deps: Dependencies, context: CommandContext
) -> CommandResult:
    command = replace(command, entry_id=moods.canonical_entry_id(command.entry_id))
    if command.privacy is not None and Privacy.parse(command.privacy) is Privacy.PUBLIC:
        await AgeGate(deps, command.user_id).require(PUBLIC_CHECK_IN)
    now = deps.clock.now()
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=moods.mood_stream(command.entry_id),
        initial=None,
        evolve=moods.evolve_entry,
        decide=lambda state: moods.decide_edit(state, command, now=now),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, command.entry_id)


async def delete_mood(
    command: moods.DeleteMood, deps: Dependencies, context: CommandContext
) -> CommandResult:
    command = replace(command, entry_id=moods.canonical_entry_id(command.entry_id))
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=moods.mood_stream(command.entry_id),
        initial=None,
        evolve=moods.evolve_entry,
        decide=lambda state: moods.decide_delete(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, command.entry_id)


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """What became of one entry of a batch: stored now, stored before, or refused (why)."""

    entry_id: EntryId
    status: str
    """`stored`, `duplicate` (a retry: already stored, nothing written) or `refused`."""
    error: HugMoodError | None = None


async def record_moods(
    command: moods.RecordMoods, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Append a device's outbox in one go; each entry is stored, recognised or refused alone.

    Every entry is validated first; the valid ones are appended concurrently, so the store's
    group commit writes them in a few transactions instead of one each. The order of the
    batch is the order of the appends (tasks start in order and submit before they await).
    """
    moods.check_batch(command)
    now = deps.clock.now()
    needs_default = any(entry.privacy is None for entry in command.entries)
    default = await _default_privacy(deps, command.user_id) if needs_default else DEFAULT_PRIVACY
    outcomes: list[EntryOutcome | None] = []
    appends: list[tuple[int, str, NewEvent]] = []
    seen: set[str] = set()
    gate = AgeGate(deps, command.user_id)
    for entry in command.entries:
        try:
            entry_id = moods.canonical_entry_id(entry.entry_id)
            (recorded,) = moods.decide_record(
                replace(entry, entry_id=entry_id, user_id=command.user_id),
                now=now,
                default_privacy=default,
            )
            if _public(recorded):
                await gate.require(PUBLIC_CHECK_IN)
        except HugMoodError as e:
            outcomes.append(EntryOutcome(entry.entry_id, "refused", e))
            continue
        if entry_id in seen:
            outcomes.append(EntryOutcome(entry_id, "duplicate"))
            continue
        seen.add(entry_id)
        event = to_new_event(
            recorded,
            user_id=command.user_id,
            context=context,
            now=now,
            event_id=uuid.UUID(entry_id),
        )
        appends.append((len(outcomes), entry_id, event))
        outcomes.append(None)
    results = await asyncio.gather(
        *(
            _append_new_entry(deps, command.user_id, entry_id, event)
            for _, entry_id, event in appends
        ),
        return_exceptions=True,
    )
    position = 0
    for (index, entry_id, _), result in zip(appends, results, strict=True):
        if isinstance(result, HugMoodError):
            outcomes[index] = EntryOutcome(entry_id, "refused", result)
        elif isinstance(result, BaseException):
            raise result  # storage trouble: nothing is acknowledged, the device retries
        else:
            appended, duplicate = result
            position = max(position, appended)
            outcomes[index] = EntryOutcome(entry_id, "duplicate" if duplicate else "stored")
    return CommandResult(position, [o for o in outcomes if o is not None])


async def _append_new_entry(
    deps: Dependencies, user_id: UserId, entry_id: EntryId, event: NewEvent
) -> tuple[int, bool]:
    """Append a check-in as its stream's first event: (position, whether it was a retry). An
    id already used by another entry, or by someone else, is refused."""
    stream = moods.mood_stream(entry_id)
    try:
        result = await deps.store.append(stream, [event], expected_version=NO_STREAM)
    except ConcurrencyError as e:
        raise Conflict(ID_TAKEN, field="id") from e
    if result.duplicate:
        existing = await load(deps.store, stream, None, moods.evolve_entry)
        if existing.state is None or existing.state.owner_id != user_id:
            raise Conflict(ID_TAKEN, field="id")
    return result.last_position, result.duplicate
