"""Who sees which entries, and how history is bucketed in local time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from hugmood.application.queries.moods import bucket, time_zone
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.history import Aggregation
from hugmood.domain.privacy import Privacy, Relationship, may_view


@pytest.mark.parametrize(
    ("relationship", "visible"),
    [
        (Relationship.SELF, set(Privacy)),
        (Relationship.CLOSE_FRIEND, {Privacy.CLOSE_FRIENDS, Privacy.FRIENDS_ONLY, Privacy.PUBLIC}),
        (Relationship.FRIEND, {Privacy.FRIENDS_ONLY, Privacy.PUBLIC}),
        (Relationship.STRANGER, {Privacy.PUBLIC}),
        (Relationship.BLOCKED, set()),
    ],
)
def test_each_relationship_sees_exactly_its_privacy_levels(
    relationship: Relationship, visible: set[Privacy]
) -> None:
    assert {p for p in Privacy if may_view(relationship, p)} == visible


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


ROWS = [
    (ms("2026-03-02T08:00:00+00:00"), "calm", 0.4),
    (ms("2026-03-02T20:00:00+00:00"), "calm", 0.6),
    (ms("2026-03-02T23:30:00+00:00"), "sad", 1.0),  # already 3 March in Paris
    (ms("2026-03-09T12:00:00+00:00"), "happy", 0.5),
]


def test_day_buckets_follow_the_local_calendar() -> None:
    utc = bucket(ROWS, Aggregation.DAY, ZoneInfo("UTC"))
    assert [(b.start, b.count) for b in utc] == [(date(2026, 3, 2), 3), (date(2026, 3, 9), 1)]
    paris = bucket(ROWS, Aggregation.DAY, ZoneInfo("Europe/Paris"))
    assert [(b.start, b.count) for b in paris] == [
        (date(2026, 3, 2), 2),
        (date(2026, 3, 3), 1),
        (date(2026, 3, 9), 1),
    ]
    first = paris[0]
    assert (first.mean_intensity, first.dominant_mood) == (0.5, "calm")


def test_week_buckets_start_on_monday_and_month_buckets_on_the_first() -> None:
    weeks = bucket(ROWS, Aggregation.WEEK, ZoneInfo("UTC"))
    assert [(b.start, b.count) for b in weeks] == [(date(2026, 3, 2), 3), (date(2026, 3, 9), 1)]
    (month,) = bucket(ROWS, Aggregation.MONTH, ZoneInfo("UTC"))
    assert (month.start, month.count, month.mean_intensity) == (date(2026, 3, 1), 4, 0.625)


def test_dominant_mood_ties_are_broken_the_same_way_every_time() -> None:
    rows = [(ms("2026-03-02T08:00:00+00:00"), m, 0.5) for m in ("sad", "calm")]
    (only,) = bucket(rows, Aggregation.DAY, ZoneInfo("UTC"))
    assert only.dominant_mood == "calm"


def test_unknown_time_zones_are_refused() -> None:
    assert time_zone("Asia/Tokyo").key == "Asia/Tokyo"
    with pytest.raises(ValidationFailed, match="time zone"):
        time_zone("Mars/Olympus")
    assert datetime.now(UTC)  # the module works with aware datetimes only
