"""Mood check-ins: recording, editing and deleting entries, each with its own privacy."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hugmood.domain.common import DomainEvent, PersonalData, canonical_id, clean_text, shown
from hugmood.domain.errors import Forbidden, NotFound, ValidationFailed
from hugmood.domain.privacy import Privacy
from hugmood.domain.vocabulary import MOODS, SOCIAL_CONTEXTS, WEATHER
from hugmood.ids import EntryId, UserId

MAX_NOTE = 2000
MAX_TAGS = 10
MAX_LOCATION = 80
_TAG = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,31}$")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)


def mood_stream(entry_id: EntryId) -> str:
    return f"mood-{entry_id}"


def canonical_entry_id(value: str) -> str:
    return canonical_id(value)


@dataclass(frozen=True, slots=True)
class ContextFactors:
    """Where and with whom a mood was felt; every part is optional."""

    location: str | None = None
    weather: str | None = None
    social_context: str | None = None
    tags: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "weather": self.weather,
            "socialContext": self.social_context,
            "tags": list(self.tags),
        }

    @classmethod
    def from_data(cls, data: Any) -> ContextFactors:
        data = data or {}
        return cls(
            location=data.get("location"),
            weather=data.get("weather"),
            social_context=data.get("socialContext"),
            tags=tuple(data.get("tags") or ()),
        )


def check_mood_type(value: str) -> str:
    word = value.strip().lower()
    if word not in MOODS:
        raise ValidationFailed(
            f"{shown(value)} is not in the mood vocabulary; query moodVocabulary for the words",
            field="moodType",
        )
    return word


def check_intensity(value: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
        raise ValidationFailed(
            f"intensity must be a number from 0 to 1 (got {value!r})", field="intensity"
        )
    return round(float(value), 4)


def check_note(value: str | None) -> str | None:
    if value is None:
        return None
    note = clean_text(value, field="note", max_length=MAX_NOTE, multiline=True)
    return note or None


def check_context(context: ContextFactors) -> ContextFactors:
    location = None
    if context.location is not None:
        location = clean_text(context.location, field="location", max_length=MAX_LOCATION) or None
    weather = _one_of(context.weather, WEATHER, "weather")
    social = _one_of(context.social_context, SOCIAL_CONTEXTS, "socialContext")
    if len(context.tags) > MAX_TAGS:
        raise ValidationFailed(f"at most {MAX_TAGS} tags per entry", field="tags")
    tags: list[str] = []
    for raw in context.tags:
        tag = raw.strip().lower()
        if not _TAG.match(tag):
            raise ValidationFailed(
                f"tag {shown(raw)} must be 1–32 letters, digits, spaces, '_' or '-'", field="tags"
            )
        if tag not in tags:
            tags.append(tag)
    return ContextFactors(location, weather, social, tuple(tags))


def _one_of(value: str | None, allowed: frozenset[str], name: str) -> str | None:
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    if word not in allowed:
        raise ValidationFailed(
            f"{name} must be one of {', '.join(sorted(allowed))} (got {shown(value)})", field=name
        )
    return word


EMOTIONS = frozenset(
    {"joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation"}
)
"""Plutchik's eight basic emotions: the tags on-device analysis may attach to an entry."""
MAX_BATCH = 500


@dataclass(frozen=True, slots=True)
class MoodInsights:
    """What the device derived from a note: the raw note itself may stay on the device."""

    sentiment: float
    """VADER's compound score, from -1 (most negative) to 1 (most positive)."""
    emotions: tuple[str, ...] = ()
    suggested_mood: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "sentiment": self.sentiment,
            "emotions": list(self.emotions),
            "suggestedMood": self.suggested_mood,
        }

    @classmethod
    def from_data(cls, data: Any) -> MoodInsights | None:
        if not data:
            return None
        return cls(
            sentiment=float(data["sentiment"]),
            emotions=tuple(data.get("emotions") or ()),
            suggested_mood=data.get("suggestedMood"),
        )


def check_insights(insights: MoodInsights | None) -> MoodInsights | None:
    if insights is None:
        return None
    s = insights.sentiment
    if not isinstance(s, int | float) or not math.isfinite(s) or not -1 <= s <= 1:
        raise ValidationFailed(
            f"insights.sentiment must be a number from -1 to 1 (got {s!r})", field="insights"
        )
    emotions: list[str] = []
    for raw in insights.emotions:
        word = raw.strip().lower()
        if word not in EMOTIONS:
            raise ValidationFailed(
                f"emotion {shown(raw)} must be one of {', '.join(sorted(EMOTIONS))}",
                field="insights",
            )
        if word not in emotions:
            emotions.append(word)
    suggested = None
    if insights.suggested_mood is not None:
        suggested = check_mood_type(insights.suggested_mood)
    return MoodInsights(round(float(s), 4), tuple(emotions), suggested)


def check_recorded_at(value: datetime, now: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed("recordedAt must include a time zone", field="recordedAt")
    if value > now + CLOCK_SKEW:
        raise ValidationFailed("recordedAt must not be in the future", field="recordedAt")
    if value < EARLIEST:
        raise ValidationFailed("recordedAt must be after 2000-01-01", field="recordedAt")
    return value.astimezone(UTC)


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordMood:
    """Check in. `entry_id` is chosen by the device, so a retried upload is stored once."""

    entry_id: EntryId
    user_id: UserId
    mood_type: str
    intensity: float
    note: str | None = None
    context: ContextFactors = field(default_factory=ContextFactors)
    privacy: str | None = None
    recorded_at: datetime | None = None
    insights: MoodInsights | None = None


@dataclass(frozen=True, slots=True)
class RecordMoods:
    """Check in many entries at once (a device's outbox); each is stored or refused alone."""

    user_id: UserId
    entries: tuple[RecordMood, ...]


@dataclass(frozen=True, slots=True)
class EditMood:
    """Change some fields of an entry; `None` keeps a field, `clear_note` removes the note."""

    entry_id: EntryId
    user_id: UserId
    mood_type: str | None = None
    intensity: float | None = None
    note: str | None = None
    clear_note: bool = False
    context: ContextFactors | None = None
    privacy: str | None = None
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeleteMood:
    entry_id: EntryId
    user_id: UserId


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoodRecorded(DomainEvent):
    EVENT_TYPE = "MoodRecorded"
    PERSONAL = PersonalData({"note": None, "contextFactors": {}, "insights": None})
    entry_id: EntryId
    owner_id: UserId
    mood_type: str
    intensity: float
    note: str | None
    context_factors: ContextFactors
    privacy: str
    recorded_at_ms: int
    insights: MoodInsights | None = None
    """Derived on the device (sentiment, emotions, suggested mood); absent in older events."""


@dataclass(frozen=True, slots=True)
class MoodEdited(DomainEvent):
    """Carries the entry's full new content, so a reader needs no earlier event."""

    EVENT_TYPE = "MoodEdited"
    PERSONAL = PersonalData({"note": None, "contextFactors": {}})
    entry_id: EntryId
    mood_type: str
    intensity: float
    note: str | None
    context_factors: ContextFactors
    privacy: str
    recorded_at_ms: int


@dataclass(frozen=True, slots=True)
class MoodDeleted(DomainEvent):
    EVENT_TYPE = "MoodDeleted"
    entry_id: EntryId


# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryState:
    entry_id: EntryId
    owner_id: UserId
    mood_type: str
    intensity: float
    note: str | None
    context: ContextFactors
    privacy: Privacy
    recorded_at_ms: int
    deleted: bool = False


def evolve_entry(state: EntryState | None, event: DomainEvent) -> EntryState | None:
    match event:
        case MoodRecorded() | MoodEdited():
            owner_id = event.owner_id if isinstance(event, MoodRecorded) else None
            return EntryState(
                entry_id=event.entry_id,
                owner_id=owner_id or (state.owner_id if state is not None else ""),
                mood_type=event.mood_type,
                intensity=event.intensity,
                note=event.note,
                context=event.context_factors,
                privacy=Privacy(event.privacy),
                recorded_at_ms=event.recorded_at_ms,
            )
        case MoodDeleted() if state is not None:
            return EntryState(**{**_fields(state), "deleted": True})
    return state


def _fields(entry: EntryState) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in EntryState.__slots__}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def decide_record(
    command: RecordMood, *, now: datetime, default_privacy: Privacy
) -> list[DomainEvent]:
    privacy = default_privacy if command.privacy is None else Privacy.parse(command.privacy)
    recorded_at = (
        now if command.recorded_at is None else check_recorded_at(command.recorded_at, now)
    )
    return [
        MoodRecorded(
            entry_id=command.entry_id,
            owner_id=command.user_id,
            mood_type=check_mood_type(command.mood_type),
            intensity=check_intensity(command.intensity),
            note=check_note(command.note),
            context_factors=check_context(command.context),
            privacy=privacy.value,
            recorded_at_ms=_ms(recorded_at),
            insights=check_insights(command.insights),
        )
    ]


def check_batch(command: RecordMoods) -> None:
    if not command.entries:
        raise ValidationFailed("entries must not be empty", field="entries")
    if len(command.entries) > MAX_BATCH:
        raise ValidationFailed(
            f"at most {MAX_BATCH} entries per call (got {len(command.entries)})", field="entries"
        )


def _owned(state: EntryState | None, entry_id: EntryId, user_id: UserId) -> EntryState:
    if state is None or state.deleted:
        raise NotFound(f"no mood entry {entry_id}")
    if state.owner_id != user_id:
        raise Forbidden("you can only change your own mood entries")
    return state


def decide_edit(state: EntryState | None, command: EditMood, *, now: datetime) -> list[DomainEvent]:
    entry = _owned(state, command.entry_id, command.user_id)
    if command.clear_note and command.note is not None:
        raise ValidationFailed("give a new note or clear it, not both", field="note")
    note = None if command.clear_note else entry.note
    if command.note is not None:
        note = check_note(command.note)
    edited = MoodEdited(
        entry_id=entry.entry_id,
        mood_type=entry.mood_type
        if command.mood_type is None
        else check_mood_type(command.mood_type),
        intensity=entry.intensity
        if command.intensity is None
        else check_intensity(command.intensity),
        note=note,
        context_factors=(
            entry.context if command.context is None else check_context(command.context)
        ),
        privacy=(
            entry.privacy if command.privacy is None else Privacy.parse(command.privacy)
        ).value,
        recorded_at_ms=entry.recorded_at_ms
        if command.recorded_at is None
        else _ms(check_recorded_at(command.recorded_at, now)),
    )
    unchanged = (
        edited.mood_type == entry.mood_type
        and edited.intensity == entry.intensity
        and edited.note == entry.note
        and edited.context_factors == entry.context
        and edited.privacy == entry.privacy.value
        and edited.recorded_at_ms == entry.recorded_at_ms
    )
    return [] if unchanged else [edited]


def decide_delete(state: EntryState | None, command: DeleteMood) -> list[DomainEvent]:
    entry = _owned(state, command.entry_id, command.user_id)
    return [MoodDeleted(entry.entry_id)]


MOOD_EVENTS: tuple[type[DomainEvent], ...] = (MoodRecorded, MoodEdited, MoodDeleted)
