"""Small shared domain helpers: the base of domain events and text-field validation."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol, Self, get_args, get_type_hints

from hugmood.domain.errors import ValidationFailed

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
"""A sha256 digest as 64 lower-case hex digits: how content (a blob, an image) is named."""


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Which stored fields of an event are a person's personal data, encrypted at rest under
    that person's own key, and what each reads as once the key is destroyed (erasure)."""

    erased: Mapping[str, Any]
    """Stored key (camelCase) → its value after erasure, one the event still reads with."""
    owner: str | None = None
    """The stored key naming whose data it is; None: the envelope's `userId`."""


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """A fact that happened. Subclasses name themselves in the past tense."""

    EVENT_TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    PERSONAL: ClassVar[PersonalData | None] = None
    """The event's personal fields (None: it has none)."""

    def to_data(self) -> dict[str, Any]:
        """The event's `data` as stored: camelCase keys, like the vision's envelope; a value
        object (anything with `to_data`, such as `ContextFactors`) stores its own shape."""
        return {camel(f.name): _stored(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_data(cls, data: Any) -> Self:
        values: dict[str, Any] = {}
        for key, (name, value_object) in _shape(cls).items():
            if key not in data:
                continue
            value = data[key]
            if value_object is not None:
                value = value_object.from_data(value)
            elif isinstance(value, list):
                value = tuple(value)
            values[name] = value
        return cls(**values)


class ValueObject(Protocol):
    """A typed value an event carries (`ContextFactors`, `MoodInsights`): stored as its own
    `to_data()` and read back with `from_data`."""

    def to_data(self) -> Any: ...

    @classmethod
    def from_data(cls, data: Any) -> Any: ...


def _stored(value: Any) -> Any:
    return value.to_data() if hasattr(value, "to_data") else value


_SHAPES: dict[type[Any], dict[str, tuple[str, type[ValueObject] | None]]] = {}


def _shape(cls: type[Any]) -> dict[str, tuple[str, type[ValueObject] | None]]:
    """Stored key → (field name, the value object's class if the field holds one); worked out
    once per event class."""
    found = _SHAPES.get(cls)
    if found is not None:
        return found
    hints = get_type_hints(cls)
    shape: dict[str, tuple[str, type[ValueObject] | None]] = {}
    for f in fields(cls):
        candidates = get_args(hints[f.name]) or (hints[f.name],)
        value_object = next(
            (c for c in candidates if isinstance(c, type) and hasattr(c, "from_data")), None
        )
        shape[camel(f.name)] = (f.name, value_object)
    _SHAPES[cls] = shape
    return shape


def shown(value: object, limit: int = 40) -> str:
    """How an error message quotes what was sent: its repr, cut short if long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def camel(name: str) -> str:
    """`recorded_at_ms` → `recordedAtMs`."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def canonical_id(value: str, *, field: str = "id") -> str:
    """Ids chosen by devices are UUIDs in any spelling (iOS sends upper case); they are
    stored and compared in one canonical, lower-case form."""
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        raise ValidationFailed(f"{shown(value)} is not a UUID", field=field) from None


def clean_text(
    value: str, *, field: str, max_length: int, min_length: int = 0, multiline: bool = False
) -> str:
    """Normalise (NFC, trimmed) and check a person-entered text field."""
    text = unicodedata.normalize("NFC", value).strip()
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise ValidationFailed(f"{field} must not contain control characters", field=field)
    if len(text) < min_length:
        if min_length == 1:
            raise ValidationFailed(f"{field} must not be empty", field=field)
        raise ValidationFailed(f"{field} must be at least {min_length} characters", field=field)
    if len(text) > max_length:
        raise ValidationFailed(
            f"{field} must be at most {max_length} characters (got {len(text)})", field=field
        )
    return text
