"""Small shared domain helpers: the base of domain events and text-field validation."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Self

from hugmood.domain.errors import ValidationFailed

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
"""A sha256 digest as 64 lower-case hex digits: how content (a blob, an image) is named."""


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """A fact that happened. Subclasses name themselves in the past tense."""

    EVENT_TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1

    def to_data(self) -> dict[str, Any]:
        """The event's `data` as stored: camelCase keys, like the vision's envelope."""
        return {camel(k): v for k, v in asdict(self).items()}

    @classmethod
    def from_data(cls, data: Any) -> Self:
        names = {camel(f.name): f.name for f in fields(cls)}
        values = {
            names[k]: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names
        }
        return cls(**values)


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
