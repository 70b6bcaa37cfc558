"""Community mood releases: a cohort (home region × ISO week) is answered only when at least
`MIN_PEOPLE` distinct pseudonyms are in it, with Laplace noise from OpenDP, and each release
spends privacy budget from the cohort's fixed total, recorded in a ledger in the read-model
database (shared by every process), so asking again cannot average the noise away.

A week still in progress may spend all but one of its releases (`IN_PROGRESS_RELEASES`, at
most one per `IN_PROGRESS_REFRESH`): the last is kept for the finished week, so its final
numbers are always released, and the cohort never spends more than its total."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import opendp.prelude as dp
import orjson

from hugmood.analytics.columnstore import QUADRANTS, CohortSums, ColumnStore
from hugmood.analytics.pseudonyms import iso_week
from hugmood.domain.common import shown
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.vocabulary import REGIONS
from hugmood.sql.database import SqlDatabase
from hugmood.sql.migrations import Migration, apply_migrations

MIN_PEOPLE = 20
"""k: a cohort with fewer distinct people gets no number at all."""
RELEASE_EPSILON = 1.0
"""ε spent by one release, split evenly over its five noisy parts (basic composition)."""
MAX_RELEASES = 3
"""Releases per cohort: its total budget is MAX_RELEASES × RELEASE_EPSILON."""
REFRESH = timedelta(hours=24)
"""A finished week's last release is served again until it is this old (and forever once
its budget is spent): a new one is made only for data that may have grown."""
IN_PROGRESS_RELEASES = MAX_RELEASES - 1
"""Releases a week may spend before it is over: one is always left for the finished week."""
IN_PROGRESS_REFRESH = timedelta(days=3)
"""A week in progress gets a new release at most this often (so its two cover the week)."""
SCALE = 1000
"""Values in thousandths, so OpenDP's integer Laplace works in exact units."""
_PARTS = 5
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

COMPONENT = "analytics:releases"
MIGRATIONS = (
    Migration(
        1,
        "ledger",
        "CREATE TABLE IF NOT EXISTS an_releases ("
        " region TEXT NOT NULL, week TEXT NOT NULL, number INTEGER NOT NULL,"
        " epsilon DOUBLE PRECISION NOT NULL, released_at_ms BIGINT NOT NULL,"
        " answer TEXT NOT NULL, PRIMARY KEY (region, week, number))",
    ),
)


@dataclass(frozen=True, slots=True)
class CommunityMood:
    """How a cohort felt, or that it is too small to say (`released` False: no numbers)."""

    region: str
    week: str
    released: bool
    minimum_people: int = MIN_PEOPLE
    people: float | None = None
    """The noisy number of people (never the true count)."""
    mean_energy: float | None = None
    mean_pleasantness: float | None = None
    mean_intensity: float | None = None
    quadrant_shares: dict[str, float] = field(default_factory=dict)
    epsilon: float = 0.0
    """The privacy loss of this release (ε-differential privacy, per person)."""
    budget_spent: float = 0.0
    budget_total: float = MAX_RELEASES * RELEASE_EPSILON
    release_number: int = 0
    released_at_ms: int | None = None
    noise_scales: dict[str, float] = field(default_factory=dict)


def check_cohort(region: str, week: str, today: date) -> tuple[str, str]:
    """The region and week, validated; the week may not lie in the future."""
    value = region.strip().lower()
    if value not in REGIONS:
        raise ValidationFailed(
            f"region must be one of {', '.join(sorted(REGIONS))} (got {shown(region)})",
            field="region",
        )
    match = _WEEK.match(week.strip())
    if match is None:
        raise ValidationFailed(
            f"week must be an ISO week such as 2026-W49 (got {shown(week)})", field="week"
        )
    try:
        start = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValidationFailed(f"{shown(week)} is not a week of that year", field="week") from None
    if start.year < 2000 or start > today:
        raise ValidationFailed("week must be from 2000 up to this week", field="week")
    return value, iso_week(start)


def noisy_release(sums: CohortSums, epsilon: float) -> dict[str, Any]:
    """The noisy numbers of one release, from OpenDP's Laplace mechanism.

    Neighbouring data sets differ by one person, who contributes one row to the cohort: the
    count moves by 1, each sum by at most its largest value (energy and pleasantness lie in
    -1..1, intensity in 0..1: SCALE thousandths), and the quadrant counts by 1 in total.
    Each of the five parts gets ε/5; OpenDP's own privacy map is checked against that.
    """
    if not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueError("epsilon must be a positive number")
    dp.enable_features("contrib")
    part = epsilon / _PARTS
    scalar = (dp.atom_domain(T=int), dp.absolute_distance(T=int))

    def laplace(value: int, sensitivity: int) -> tuple[int, float]:
        scale = sensitivity / part
        mechanism = dp.m.make_laplace(*scalar, scale)
        if mechanism.map(sensitivity) > part + 1e-9:  # type: ignore[no-untyped-call]
            raise ArithmeticError("OpenDP reports more privacy loss than budgeted")
        return int(mechanism(value)), scale

    count, count_scale = laplace(sums.people, 1)
    people = max(1.0, float(count))
    means: dict[str, float] = {}
    scales: dict[str, float] = {"people": count_scale}
    for name, total, low in (
        ("energy", sums.energy, -1.0),
        ("pleasantness", sums.pleasantness, -1.0),
        ("intensity", sums.intensity, 0.0),
    ):
        noisy, scale = laplace(round(total * SCALE), SCALE)
        means[name] = min(1.0, max(low, noisy / SCALE / people))
        scales[name] = scale / SCALE
    histogram = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), 1 / part
    )
    noisy_counts = [max(0, int(v)) for v in histogram([sums.quadrants[q] for q in QUADRANTS])]
    total = sum(noisy_counts)
    shares = {
        q: (n / total if total else 0.0) for q, n in zip(QUADRANTS, noisy_counts, strict=True)
    }
    scales["quadrants"] = 1 / part
    return {
        "people": float(count),
        "energy": means["energy"],
        "pleasantness": means["pleasantness"],
        "intensity": means["intensity"],
        "quadrants": shares,
        "scales": scales,
    }


async def prepare(db: SqlDatabase) -> None:
    await apply_migrations(db, COMPONENT, MIGRATIONS)


def week_end(week: str) -> datetime:
    """When an ISO week (`2026-W49`) is over: the next Monday, 00:00 UTC."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return datetime.combine(monday + timedelta(days=7), time(), UTC)


def _due(latest: CommunityMood, ends_ms: int, now_ms: int) -> bool:
    """Whether the cohort may spend another release now (see the module)."""
    made = latest.released_at_ms or 0
    if latest.release_number >= MAX_RELEASES:
        return False
    if now_ms < ends_ms:
        return (
            latest.release_number < IN_PROGRESS_RELEASES
            and now_ms - made >= IN_PROGRESS_REFRESH.total_seconds() * 1000
        )
    # Finished: its final numbers were never released, or they may have grown since.
    return made < ends_ms or now_ms - made >= REFRESH.total_seconds() * 1000


async def community_mood(
    db: SqlDatabase, columns: ColumnStore, region: str, week: str, now: datetime
) -> CommunityMood:
    """How people whose home is `region` felt in `week`, privately (see the module)."""
    region, week = check_cohort(region, week, now.date())
    now_ms = int(now.timestamp() * 1000)
    ends_ms = int(week_end(week).timestamp() * 1000)
    while True:
        latest = await _latest(db, region, week)
        if latest is not None and not _due(latest, ends_ms, now_ms):
            return latest
        sums = await columns.cohort(region, week)
        if sums.people < MIN_PEOPLE:
            return latest or CommunityMood(region, week, released=False)
        number = 1 if latest is None else latest.release_number + 1
        answer = noisy_release(sums, RELEASE_EPSILON)
        stored = await db.apply(
            [],
            guard=(
                "INSERT INTO an_releases (region, week, number, epsilon, released_at_ms, answer)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (region, week, number) DO NOTHING",
                (region, week, number, RELEASE_EPSILON, now_ms, orjson.dumps(answer).decode()),
            ),
        )
        if stored:
            return _mood(region, week, number, RELEASE_EPSILON, now_ms, answer)
        # Another process released this number first: serve theirs, spend nothing more.


async def latest_release(
    db: SqlDatabase, region: str, week: str, today: date
) -> CommunityMood | None:
    """The cohort's last release from the shared ledger, if any: what a process without the
    column store (an edge) can answer. Spends nothing."""
    region, week = check_cohort(region, week, today)
    return await _latest(db, region, week)


async def release_week(
    db: SqlDatabase, columns: ColumnStore, region: str, day: date, now: datetime
) -> CommunityMood | None:
    """Release the cohort of the week `day` falls in if a release is due (it has k people,
    and its last release is old enough, or predates the end of a finished week), so every
    process can answer it from the ledger; the new release, or None if none was made."""
    week = iso_week(day)
    before = await _latest(db, region, week)
    found = await community_mood(db, columns, region, week, now)
    made = found.released and (before is None or found.release_number > before.release_number)
    return found if made else None


async def release_finished_week(
    db: SqlDatabase, columns: ColumnStore, region: str, now: datetime
) -> CommunityMood | None:
    """`release_week` for last week."""
    return await release_week(db, columns, region, now.date() - timedelta(days=7), now)


async def _latest(db: SqlDatabase, region: str, week: str) -> CommunityMood | None:
    row = await db.fetchrow(
        "SELECT number, epsilon, released_at_ms, answer FROM an_releases"
        " WHERE region = $1 AND week = $2 ORDER BY number DESC LIMIT 1",
        region,
        week,
    )
    if row is None:
        return None
    return _mood(region, week, int(row[0]), float(row[1]), int(row[2]), orjson.loads(row[3]))


def _mood(
    region: str, week: str, number: int, epsilon: float, at_ms: int, answer: dict[str, Any]
) -> CommunityMood:
    return CommunityMood(
        region,
        week,
        released=True,
        people=round(float(answer["people"])),
        mean_energy=round(float(answer["energy"]), 3),
        mean_pleasantness=round(float(answer["pleasantness"]), 3),
        mean_intensity=round(float(answer["intensity"]), 3),
        quadrant_shares={q: round(float(v), 3) for q, v in answer["quadrants"].items()},
        epsilon=epsilon,
        budget_spent=number * epsilon,
        release_number=number,
        released_at_ms=at_ms,
        noise_scales={k: float(v) for k, v in answer["scales"].items()},
    )
