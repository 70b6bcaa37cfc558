"""What the SQLite and PostgreSQL event stores share: the row layout, JSON and rejection errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

import orjson

from hugmood.eventstore.envelope import NewEvent, RecordedEvent, from_epoch_ms, to_epoch_ms
from hugmood.eventstore.store import DuplicateEventError

EVENT_COLUMNS = (
    "position, event_id, stream_id, stream_version, event_type, version, timestamp_ms, "
    "user_id, data, metadata"
)
"""The columns every read selects, in the order `decode_row` expects."""


IdT = TypeVar("IdT")


def event_row(event: NewEvent, event_id: IdT) -> tuple[IdT, str, int, int, str | None, str, str]:
    """An event as the columns both engines insert; each engine encodes its own event id."""
    return (
        event_id,
        event.event_type,
        event.version,
        to_epoch_ms(event.timestamp),
        event.user_id,
        encode_json(event.data),
        encode_json(event.metadata),
    )


def encode_json(value: Any) -> str:
    return orjson.dumps(value, default=_plain_dict).decode()


def _plain_dict(value: Any) -> dict[str, Any]:
    """orjson writes only plain dicts; an envelope's `Mapping` (say a proxy) is copied into one."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def decode_row(row: Sequence[Any], event_id: UUID) -> RecordedEvent:
    """A row of `EVENT_COLUMNS` as a `RecordedEvent`; each engine decodes its own event id."""
    return RecordedEvent(
        event_id=event_id,
        event_type=row[4],
        version=row[5],
        timestamp=from_epoch_ms(row[6]),
        user_id=row[7],
        data=orjson.loads(row[8]),
        metadata=orjson.loads(row[9]),
        stream_id=row[2],
        stream_version=row[3],
        position=row[0],
    )


def partially_stored() -> DuplicateEventError:
    return DuplicateEventError(
        "some of these events were stored before and some were not; "
        "retry exactly the batch that was sent, or send only new events"
    )


def repeated_event_id() -> DuplicateEventError:
    return DuplicateEventError("the batch holds the same event id more than once")
