"""The periods a history is grouped into, the same for a history computed in clear and one
computed on ciphertexts (sealed mode): a bucket starts on the local day, Monday or first of
the month holding the moment."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Aggregation(StrEnum):
    NONE = "none"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def bucket_start(at_ms: int, aggregation: Aggregation, zone: ZoneInfo) -> date:
    """The local first day of the bucket holding `at_ms` (epoch milliseconds)."""
    day = datetime.fromtimestamp(at_ms / 1000, zone).date()
    if aggregation is Aggregation.WEEK:
        day -= timedelta(days=day.weekday())
    elif aggregation is Aggregation.MONTH:
        day = day.replace(day=1)
    return day
