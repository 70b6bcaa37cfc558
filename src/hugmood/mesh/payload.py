"""Reading fields out of a mesh request's JSON object: a missing field or a wrong type is a
specific 400 that names the field, never a KeyError or TypeError inside a handler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hugmood.mesh.errors import BAD_REQUEST, Refused

MAX_TEXT = 200


def text(payload: dict[str, Any], name: str, *, default: str | None = None) -> str:
    """A string field of at most MAX_TEXT characters; `default` when absent (if given)."""
    value = payload.get(name)
    if value is None:
        if default is not None:
            return default
        raise Refused(BAD_REQUEST, f"the field {name!r} is missing")
    if not isinstance(value, str):
        raise Refused(BAD_REQUEST, f"the field {name!r} must be a string")
    if not value or len(value) > MAX_TEXT:
        raise Refused(BAD_REQUEST, f"the field {name!r} must be 1 to {MAX_TEXT} characters")
    return value


def instant(payload: dict[str, Any], name: str) -> datetime:
    """An ISO-8601 date and time with its UTC offset."""
    value = text(payload, name)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(BAD_REQUEST, f"the field {name!r} is not an ISO-8601 date and time") from None
    if parsed.tzinfo is None:
        raise Refused(BAD_REQUEST, f"the field {name!r} must include a UTC offset")
    return parsed
