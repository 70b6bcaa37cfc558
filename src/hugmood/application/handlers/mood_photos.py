"""Photos on check-ins: adding one (the owner: store the blob, record it on the entry's
stream), taking it off, and reading one back (whoever may see the entry, as the queries say)."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.queries import moods as mood_queries
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import mood_photos as photo_rules
from hugmood.domain.board_images import BoardImage, image_type
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.domain.moods import canonical_entry_id, mood_stream
from hugmood.ids import BlobId, EntryId, UserId


def entry_id_or_not_found(value: str) -> str:
    """A malformed entry id is an entry that does not exist (the two are not told apart)."""
    try:
        return canonical_entry_id(value)
    except ValidationFailed:
        raise NotFound(photo_rules.NO_ENTRY, field="entryId") from None


async def _entry(deps: Dependencies, entry_id: EntryId) -> photo_rules.EntryWithPhoto:
    loaded = await load(
        deps.store, mood_stream(entry_id), photo_rules.EntryWithPhoto(), photo_rules.evolve
    )
    return loaded.state


async def check_attach(deps: Dependencies, entry_id: EntryId, user_id: UserId) -> str:
    """Before reading a body: is this the user's entry? Returns the canonical entry id."""
    entry_id = entry_id_or_not_found(entry_id)
    photo_rules.check_can_attach((await _entry(deps, entry_id)).entry, user_id)
    return entry_id


async def attach_mood_photo(
    command: photo_rules.AttachMoodPhoto, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Store the bytes (once, by content) and record them on the entry; the value is the
    stored `BoardImage` (blob id, type, size)."""
    entry_id = entry_id_or_not_found(command.entry_id)
    content_type = image_type(command.data, command.declared_type)
    stored = await deps.blobs.put(command.data, owner=command.user_id)
    image = BoardImage(stored.blob_id, content_type, len(command.data))
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=mood_stream(entry_id),
        initial=photo_rules.EntryWithPhoto(),
        evolve=photo_rules.evolve,
        decide=lambda state: photo_rules.decide_attach(
            state.entry,
            state.blob_id,
            user_id=command.user_id,
            blob_id=image.blob_id,
            content_type=image.content_type,
            size=image.bytes,
        ),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, image)


async def remove_mood_photo(
    command: photo_rules.RemoveMoodPhoto, deps: Dependencies, context: CommandContext
) -> CommandResult:
    entry_id = entry_id_or_not_found(command.entry_id)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=mood_stream(entry_id),
        initial=photo_rules.EntryWithPhoto(),
        evolve=photo_rules.evolve,
        decide=lambda state: photo_rules.decide_remove(state.entry, state.blob_id, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)


async def read_mood_photo(
    deps: Dependencies, *, entry_id: EntryId, viewer_id: UserId, blob_id: BlobId
) -> tuple[str, bytes]:
    """The photo's type and bytes, if the viewer may see the entry (the same query, with the
    same privacy rules, as every other read of it) and `blob_id` is its photo now."""
    entry_id = entry_id_or_not_found(entry_id)
    found = await mood_queries.mood_photo(deps.readmodels, viewer_id=viewer_id, entry_id=entry_id)
    if found is None or found.blob_id != blob_id:
        raise NotFound("no such photo, or you may not see it", field="blobId")
    data = await deps.blobs.get(found.blob_id)
    if data is None:
        raise NotFound("no such photo, or you may not see it", field="blobId")
    return found.content_type, data
