"""The event envelope from the vision, kept exactly, plus the store's stream and position fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

JSONValue = Any
"""A value that orjson can serialise: str, int, float, bool, None, lists and dicts of them."""


def utc_ms(moment: datetime) -> datetime:
    """Normalise to UTC with millisecond precision, as the envelope's `timestamp` is defined."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def to_epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000 + (0.5 if moment.timestamp() >= 0 else -0.5))


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_ms(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a `Z`, e.g. `2023-08-15T14:23:45.123Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended. `event_id` is chosen by its creator (a device, a handler)."""

    event_id: UUID
    event_type: str
    version: int
    timestamp: datetime
    user_id: str | None
    data: Mapping[str, JSONValue]
    metadata: Mapping[str, JSONValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "timestamp", utc_ms(self.timestamp))
        if not self.event_type:
            raise ValueError("event_type must not be empty")
        if self.version < 1:
            raise ValueError("version must be at least 1")

    def with_data(self, data: Mapping[str, JSONValue]) -> NewEvent:
        """The same event with other data (its other fields already checked: on the append
        path, where `dataclasses.replace` re-running the checks cost half of sealing one)."""
        copy = object.__new__(NewEvent)
        for name in ("event_id", "event_type", "version", "timestamp", "user_id", "metadata"):
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "data", data)
        return copy


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: the envelope plus `stream_id`, `stream_version` and global `position`."""

    event_id: UUID
    event_type: str
    version: int
    timestamp: datetime
    user_id: str | None
    data: Mapping[str, JSONValue]
    metadata: Mapping[str, JSONValue]
    stream_id: str
    stream_version: int
    position: int

    def with_data(self, data: Mapping[str, JSONValue]) -> RecordedEvent:
        """The same event with other data (as `NewEvent.with_data`, for the read path)."""
        copy = object.__new__(RecordedEvent)
        for name in self.__slots__:
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "data", data)
        return copy

    def to_envelope(self) -> dict[str, JSONValue]:
        """The JSON shape of the vision's envelope (camelCase), with the store's fields."""
        return {
            "eventId": str(self.event_id),
            "eventType": self.event_type,
            "version": self.version,
            "timestamp": iso_ms(self.timestamp),
            "userId": self.user_id,
            "data": dict(self.data),
            "metadata": dict(self.metadata),
            "streamId": self.stream_id,
            "streamVersion": self.stream_version,
            "position": self.position,
        }


def record(event: NewEvent, *, stream_id: str, stream_version: int, position: int) -> RecordedEvent:
    return RecordedEvent(
        event_id=event.event_id,
        event_type=event.event_type,
        version=event.version,
        timestamp=event.timestamp,
        user_id=event.user_id,
        data=event.data,
        metadata=event.metadata,
        stream_id=stream_id,
        stream_version=stream_version,
        position=position,
    )


def from_envelope(envelope: Mapping[str, JSONValue]) -> RecordedEvent:
    """The inverse of `RecordedEvent.to_envelope`, for events that travelled as JSON; raises
    KeyError, TypeError or ValueError (naming the field) when it is not one."""

    def field_of(name: str, kind: type | tuple[type, ...]) -> Any:
        value = envelope[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise TypeError(f"{name} has the wrong type")
        return value

    user_id = envelope.get("userId")
    if user_id is not None and not isinstance(user_id, str):
        raise TypeError("userId has the wrong type")
    position = field_of("position", int)
    if position < 1:
        raise ValueError("position must be at least 1")
    return RecordedEvent(
        event_id=UUID(field_of("eventId", str)),
        event_type=field_of("eventType", str),
        version=field_of("version", int),
        timestamp=datetime.fromisoformat(field_of("timestamp", str)),
        user_id=user_id,
        data=field_of("data", dict),
        metadata=field_of("metadata", dict),
        stream_id=field_of("streamId", str),
        stream_version=field_of("streamVersion", int),
        position=position,
    )
