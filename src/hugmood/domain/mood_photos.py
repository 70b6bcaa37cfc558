"""A photo on a check-in: one per entry, added or taken off by its owner, seen by exactly those
who may see the entry (it follows the entry's privacy, whatever that becomes). The bytes are a
blob, recognised as an image by its first bytes, as board images are."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import NotFound
from hugmood.domain.moods import EntryState, evolve_entry
from hugmood.ids import BlobId, EntryId, UserId

NO_ENTRY = "no such check-in, or you may not see it"


@dataclass(frozen=True, slots=True)
class AttachMoodPhoto:
    """The owner adds (or replaces) the photo of an entry (`declared_type`: the Content-Type)."""

    entry_id: EntryId
    user_id: UserId
    data: bytes
    declared_type: str | None


@dataclass(frozen=True, slots=True)
class RemoveMoodPhoto:
    entry_id: EntryId
    user_id: UserId


@dataclass(frozen=True, slots=True)
class MoodPhotoAttached(DomainEvent):
    EVENT_TYPE = "MoodPhotoAttached"
    entry_id: EntryId
    owner_id: UserId
    blob_id: BlobId
    content_type: str
    bytes: int


@dataclass(frozen=True, slots=True)
class MoodPhotoRemoved(DomainEvent):
    EVENT_TYPE = "MoodPhotoRemoved"
    entry_id: EntryId
    owner_id: UserId


@dataclass(frozen=True, slots=True)
class EntryWithPhoto:
    entry: EntryState | None = None
    blob_id: str | None = None


def evolve(state: EntryWithPhoto, event: DomainEvent) -> EntryWithPhoto:
    """The entry as `moods.evolve_entry` has it, and the blob of its photo now."""
    match event:
        case MoodPhotoAttached():
            return EntryWithPhoto(state.entry, event.blob_id)
        case MoodPhotoRemoved():
            return EntryWithPhoto(state.entry, None)
    entry = evolve_entry(state.entry, event)
    return state if entry is state.entry else EntryWithPhoto(entry, state.blob_id)


def owned_entry(state: EntryState | None, user_id: UserId) -> EntryState:
    """The entry, if it exists and is the user's; anyone else's is not found (it may be
    one they may not even know of)."""
    if state is None or state.deleted or state.owner_id != user_id:
        raise NotFound(NO_ENTRY, field="entryId")
    return state


def decide_attach(
    state: EntryState | None,
    current_blob: str | None,
    *,
    user_id: UserId,
    blob_id: BlobId,
    content_type: str,
    size: int,
) -> list[DomainEvent]:
    entry = owned_entry(state, user_id)
    if current_blob == blob_id:
        return []
    return [MoodPhotoAttached(entry.entry_id, entry.owner_id, blob_id, content_type, size)]


def decide_remove(
    state: EntryState | None, current_blob: str | None, command: RemoveMoodPhoto
) -> list[DomainEvent]:
    entry = owned_entry(state, command.user_id)
    if current_blob is None:
        return []
    return [MoodPhotoRemoved(entry.entry_id, entry.owner_id)]


def check_can_attach(state: EntryState | None, user_id: UserId) -> None:
    """Before reading a body: only the owner adds a photo."""
    owned_entry(state, user_id)


MOOD_PHOTO_EVENTS: tuple[type[DomainEvent], ...] = (MoodPhotoAttached, MoodPhotoRemoved)
