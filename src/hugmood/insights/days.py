"""A person's check-ins summarised per day, as arrays: the day is the unit of every test in
`insights.statistics` (several check-ins on one day are one observation, never several), and
the same summary gives the per-factor effects the similar-minds vector carries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from hugmood.domain.vocabulary import MOODS

MIN_DAYS = 3
"""Days with a factor, and days without it, before it is looked at (Bearable's rule)."""
PARTS_OF_DAY = ("at night", "in the morning", "in the afternoon", "in the evening")
UPBEAT = 0.3
"""A note's device sentiment at least this far from 0 makes its day upbeat or downcast."""

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One check-in as the analysis needs it: no note text, only what the device derived."""

    at: datetime
    mood: str
    intensity: float
    factors: frozenset[str] = frozenset()
    """Labels such as `place:home`, `weather:sunny`, `company:friends`, `tag:walk`."""
    sentiment: float | None = None
    """The device's VADER score of the note, when it computed one."""


def factor_labels(
    location: str | None, weather: str | None, company: str | None, tags: Iterable[str]
) -> frozenset[str]:
    labels = {f"tag:{t.strip().lower()}" for t in tags if t.strip()}
    for kind, value in (("place", location), ("weather", weather), ("company", company)):
        if value and value.strip():
            labels.add(f"{kind}:{value.strip().lower()}")
    return frozenset(labels)


@dataclass(frozen=True, slots=True)
class DayTable:
    """One row per day with check-ins (oldest first) and one column per factor label."""

    days: Ints
    """Each day's proleptic ordinal (`date.toordinal`)."""
    measures: Floats
    """Shape (days, 2): the day's mean pleasantness and energy (each in -1..1)."""
    labels: tuple[str, ...]
    has: Bools
    """Shape (days, labels): whether the day had the factor (on any of its check-ins)."""
    cell_parts: Ints
    """One entry per (day, part of the day) with check-ins: the part (0-3)…"""
    cell_measures: Floats
    """…and that part of that day's mean pleasantness and energy, shape (cells, 2)."""

    def __len__(self) -> int:
        return len(self.days)

    def last_day(self) -> date:
        return date.fromordinal(int(self.days[-1]))


def day_table(checkins: Sequence[CheckIn]) -> DayTable:
    """The check-ins summarised per day (UTC), leaving out words of a person's own (they
    have no place on the axes)."""
    return day_table_of(
        [round(c.at.timestamp() * 1000) for c in checkins],
        [c.mood for c in checkins],
        [c.intensity for c in checkins],
        [c.factors for c in checkins],
        [c.sentiment for c in checkins],
    )


def context_labels(context: Mapping[str, Any]) -> frozenset[str]:
    """`factor_labels` of a check-in's context as stored (`ContextFactors.to_data()`)."""
    return factor_labels(
        context.get("location"),
        context.get("weather"),
        context.get("socialContext"),
        context.get("tags") or (),
    )


_DAY_MS = 86_400_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_table_of(
    moments_ms: Sequence[int],
    moods: Sequence[str],
    intensities: Sequence[float],
    factors: Sequence[frozenset[str]],
    sentiments: Sequence[float | None],
) -> DayTable:
    """`day_table` from the check-ins' columns (milliseconds since the epoch, UTC)."""
    known = [i for i, mood in enumerate(moods) if mood in MOODS]
    if not known:
        empty = np.zeros((0, 2))
        return DayTable(
            np.zeros(0, np.int64), empty, (), np.zeros((0, 0), bool), np.zeros(0, np.int64), empty
        )
    at = np.array([moments_ms[i] for i in known], dtype=np.int64)
    intensity = np.array([intensities[i] for i in known], dtype=np.float64)
    words = [MOODS[moods[i]] for i in known]
    values = np.stack(
        [
            np.array([w.pleasantness for w in words]) * intensity,
            np.array([w.energy for w in words]) * intensity,
        ],
        axis=1,
    )
    day_of = at // _DAY_MS + _EPOCH_ORDINAL
    hour = (at % _DAY_MS) // 3_600_000
    parts = np.select([(hour < 5) | (hour >= 22), hour < 12, hour < 17], [0, 1, 2], 3)
    days, row = np.unique(day_of, return_inverse=True)
    measures = _means(row, values, len(days))
    # Cells: a part of a day; several check-ins in the same part of the same day are one.
    cells, cell_row = np.unique(row * 4 + parts, return_inverse=True)
    cell_measures = _means(cell_row, values, len(cells))
    labels_of: list[set[str]] = [set() for _ in range(len(days))]
    for position, i in enumerate(known):
        sentiment = sentiments[i]
        if factors[i] or sentiment is not None:
            found = labels_of[row[position]]
            found |= factors[i]
            if sentiment is not None and abs(sentiment) >= UPBEAT:
                found.add("note:upbeat" if sentiment > 0 else "note:downcast")
    labels = tuple(sorted(set().union(*labels_of)))
    column = {label: i for i, label in enumerate(labels)}
    has = np.zeros((len(days), len(labels)), dtype=bool)
    for i, found in enumerate(labels_of):
        for label in found:
            has[i, column[label]] = True
    return DayTable(days.astype(np.int64), measures, labels, has, cells % 4, cell_measures)


def _means(group: Ints, values: Floats, groups: int) -> Floats:
    counts = np.bincount(group, minlength=groups).astype(np.float64)
    return np.stack(
        [np.bincount(group, weights=values[:, k], minlength=groups) / counts for k in range(2)],
        axis=1,
    )


@dataclass(frozen=True, slots=True)
class Groups:
    """For each factor label, the days with it against the days without it (one measure
    per day, possibly the next day's), as counts, means and sample variances."""

    n_with: Ints
    n_without: Ints
    mean_with: Floats
    mean_without: Floats
    var_with: Floats
    var_without: Floats
    """Arrays of shape (labels, 2): pleasantness, energy."""


def compare(table: DayTable, lag: int) -> Groups:
    """Days with each factor against days without, measured `lag` days later (0: the same
    day). A day counts only when the day `lag` later has check-ins too."""
    if lag == 0:
        has, measures = table.has, table.measures
    else:
        later = np.searchsorted(table.days, table.days + lag)
        found = later < len(table.days)
        found[found] = table.days[later[found]] == table.days[found] + lag
        has, measures = table.has[found], table.measures[later[found]]
    weights = has.astype(np.float64)
    n_with = has.sum(axis=0).astype(np.int64)
    n_without = len(measures) - n_with
    sums, squares = weights.T @ measures, weights.T @ measures**2
    total, total_squares = measures.sum(axis=0), (measures**2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = n_with[:, None].astype(np.float64), n_without[:, None].astype(np.float64)
        mean_with, mean_without = sums / a, (total - sums) / b
        var_with = np.maximum(0.0, squares - a * mean_with**2) / (a - 1)
        var_without = np.maximum(0.0, (total_squares - squares) - b * mean_without**2) / (b - 1)
    return Groups(n_with, n_without, mean_with, mean_without, var_with, var_without)


def pleasantness_effects(table: DayTable) -> dict[str, float]:
    """Each factor's difference in mean pleasantness, days with it minus days without, the
    same day; only factors with at least `MIN_DAYS` days on each side."""
    groups = compare(table, 0)
    usable = (groups.n_with >= MIN_DAYS) & (groups.n_without >= MIN_DAYS)
    difference = groups.mean_with[:, 0] - groups.mean_without[:, 0]
    return {label: float(difference[i]) for i, label in enumerate(table.labels) if usable[i]}
