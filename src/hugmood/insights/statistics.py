"""What a person's own check-ins say about them, with the numbers behind each sentence.

Pure functions over a person's check-ins (no storage, no clock): `findings(checkins)`. The
statistics are SciPy's: Welch's t-test and its confidence interval for differences of means,
one-way ANOVA for weekday and time-of-day patterns. Factors are chosen by Benjamini-Hochberg
over every test (so on data with no real effect a person is told a spurious factor in at most
`ALPHA`, 5%, of cases, whatever the number of factors they use) and their intervals are the
matching false-coverage-adjusted ones; patterns and trends are Bonferroni-corrected.

Kinds of finding:
- `factor`: a context factor (place, weather, company, tag, or what the device found in the
  note) with at least `MIN_DAYS` days with it and as many without, whose difference in mean
  pleasantness or energy has an interval that excludes zero, the same day or the next;
- `weekday` and `time_of_day`: days or parts of the day that differ beyond noise;
- `trend`: the last two weeks against the two before.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
from scipy import stats

from hugmood.domain.vocabulary import MOODS

ALPHA = 0.05
MIN_DAYS = 3
"""Days with a factor, and days without it, before it is looked at (Bearable's rule)."""
TREND_DAYS = 14
MEASURES = ("pleasantness", "energy")
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
PARTS_OF_DAY = ("at night", "in the morning", "in the afternoon", "in the evening")


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


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    key: str
    """What it is about (`factor:place:home:pleasantness:same-day`, `weekday:pleasantness`,
    …): the same finding on new data has the same key."""
    sentence: str
    numbers: dict[str, float | int | str] = field(default_factory=dict)
    strength: float = 0.0
    """For ordering: the effect's size on the -1..1 scale."""


@dataclass(frozen=True, slots=True)
class _Day:
    day: date
    pleasantness: float
    energy: float
    factors: frozenset[str]


def factor_labels(
    location: str | None, weather: str | None, company: str | None, tags: Iterable[str]
) -> frozenset[str]:
    labels = {f"tag:{t.strip().lower()}" for t in tags if t.strip()}
    for kind, value in (("place", location), ("weather", weather), ("company", company)):
        if value and value.strip():
            labels.add(f"{kind}:{value.strip().lower()}")
    return frozenset(labels)


def _coordinates(c: CheckIn) -> tuple[float, float] | None:
    word = MOODS.get(c.mood)
    if word is None:
        return None  # a word of the person's own: no place on the axes
    return word.pleasantness * c.intensity, word.energy * c.intensity


def _days(checkins: Sequence[CheckIn]) -> list[_Day]:
    by_day: dict[date, list[tuple[float, float]]] = defaultdict(list)
    labels: dict[date, set[str]] = defaultdict(set)
    for c in checkins:
        point = _coordinates(c)
        if point is None:
            continue
        day = c.at.astimezone(UTC).date()
        by_day[day].append(point)
        labels[day] |= c.factors
        if c.sentiment is not None and abs(c.sentiment) >= 0.3:
            labels[day].add("note:upbeat" if c.sentiment > 0 else "note:downcast")
    return [
        _Day(
            day,
            sum(p for p, _ in points) / len(points),
            sum(e for _, e in points) / len(points),
            frozenset(labels[day]),
        )
        for day, points in sorted(by_day.items())
    ]


def _describe(label: str, next_day: bool) -> str:
    """How a sentence names a factor: `at home` / `the day after being at home`."""
    kind, _, value = label.partition(":")
    upbeat = value == "upbeat"
    same, after = {
        "place": (f"at {value}", f"the day after being at {value}"),
        "weather": (f"when it is {value}", f"the day after a {value} day"),
        "company": (f"with {value}", f"the day after being with {value}"),
        "tag": (f"with “{value}”", f"the day after “{value}”"),
        "note": (
            "when your notes are upbeat" if upbeat else "when your notes are low",
            "the day after upbeat notes" if upbeat else "the day after low notes",
        ),
    }.get(kind, (label, f"the day after {label}"))
    return after if next_day else same


def _welch(
    with_: Sequence[float] | np.ndarray, without: Sequence[float] | np.ndarray, confidence: float
) -> tuple[float, float, float, float]:
    """Difference of means, its interval at `confidence`, and the p-value (Welch)."""
    result = stats.ttest_ind(with_, without, equal_var=False)
    interval = result.confidence_interval(confidence_level=confidence)
    return (
        float(np.mean(with_) - np.mean(without)),
        float(interval.low),
        float(interval.high),
        float(result.pvalue),
    )


def _factor_findings(days: list[_Day]) -> list[Finding]:
    index = {d.day: i for i, d in enumerate(days)}
    values = {m: np.array([getattr(d, m) for d in days]) for m in MEASURES}
    labels = sorted({f for d in days for f in d.factors})
    tests: list[tuple[str, str, str, np.ndarray, np.ndarray]] = []
    for lag, name in ((0, "same-day"), (1, "next-day")):
        # Each day with a factor (or not) against the measure that day, or the next.
        pairs = [
            (i, index[d.day + timedelta(days=lag)])
            for i, d in enumerate(days)
            if d.day + timedelta(days=lag) in index
        ]
        later = np.array([j for _, j in pairs], dtype=int)
        for label in labels:
            mask = np.array([label in days[i].factors for i, _ in pairs], dtype=bool)
            if mask.sum() < MIN_DAYS or (~mask).sum() < MIN_DAYS:
                continue
            for measure in MEASURES:
                series = values[measure][later]
                tests.append((label, name, measure, series[mask], series[~mask]))
    # No spread at all on either side: Welch's test is undefined.
    tests = [t for t in tests if np.var(t[3]) > 0 or np.var(t[4]) > 0]
    if not tests:
        return []
    pvalues = np.array(
        [stats.ttest_ind(t[3], t[4], equal_var=False).pvalue for t in tests], dtype=float
    )
    pvalues = np.nan_to_num(pvalues, nan=1.0)
    # Benjamini-Hochberg across every test: with no real effect anywhere this is the
    # family-wise rate ALPHA, and with some it finds more than Bonferroni would. The chosen
    # effects get intervals at the false-coverage level that matches (Benjamini & Yekutieli
    # 2005): 1 - R * ALPHA / m for R chosen among m.
    chosen = np.flatnonzero(stats.false_discovery_control(pvalues) < ALPHA)
    confidence = 1 - len(chosen) * ALPHA / len(tests)
    found = []
    for test in chosen:
        label, lag_name, measure, with_, without = tests[int(test)]
        diff, low, high, p = _welch(with_, without, confidence)
        if math.isnan(low) or (low <= 0 <= high):
            continue
        more = "more" if diff > 0 else "less"
        word = "pleasant" if measure == "pleasantness" else "energetic"
        sentence = (
            f"You tend to feel {more} {word} {_describe(label, lag_name == 'next-day')} "
            f"({abs(diff):.2f} on a scale of -1 to 1, over {len(with_)} days with it and "
            f"{len(without)} without)."
        )
        found.append(
            Finding(
                "factor",
                f"factor:{label}:{measure}:{lag_name}",
                sentence,
                {
                    "factor": label,
                    "measure": measure,
                    "lag": lag_name,
                    "difference": round(diff, 4),
                    "low": round(low, 4),
                    "high": round(high, 4),
                    "confidence": round(confidence, 5),
                    "pValue": round(p, 6),
                    "daysWith": len(with_),
                    "daysWithout": len(without),
                },
                strength=diff,
            )
        )
    return found


def _pattern(
    kind: str, names: Sequence[str], groups: dict[int, list[float]], measure: str, tests: int
) -> Finding | None:
    usable = {k: v for k, v in groups.items() if len(v) >= MIN_DAYS}
    if len(usable) < 2 or all(np.var(v) == 0 for v in usable.values()):
        return None
    p = float(stats.f_oneway(*usable.values()).pvalue)
    if math.isnan(p) or p >= ALPHA / tests:
        return None
    means = {k: float(np.mean(v)) for k, v in usable.items()}
    best, worst = max(means, key=means.__getitem__), min(means, key=means.__getitem__)
    word = "pleasant" if measure == "pleasantness" else "energetic"
    return Finding(
        kind,
        f"{kind}:{measure}",
        f"You feel most {word} {names[best]} and least {names[worst]} "
        f"({means[best]:.2f} against {means[worst]:.2f}).",
        {
            "measure": measure,
            "best": names[best],
            "worst": names[worst],
            "bestMean": round(means[best], 4),
            "worstMean": round(means[worst], 4),
            "pValue": round(p, 6),
            **{f"n:{names[k]}": len(v) for k, v in usable.items()},
        },
        strength=means[best] - means[worst],
    )


def _part_of_day(moment: datetime) -> int:
    hour = moment.astimezone(UTC).hour
    return 0 if hour < 5 or hour >= 22 else 1 if hour < 12 else 2 if hour < 17 else 3


def _trend(days: list[_Day], today: date) -> list[Finding]:
    recent = [d for d in days if today - d.day < timedelta(days=TREND_DAYS)]
    before = [
        d for d in days if timedelta(days=TREND_DAYS) <= today - d.day < timedelta(TREND_DAYS * 2)
    ]
    found = []
    for measure in MEASURES:
        a = [getattr(d, measure) for d in recent]
        b = [getattr(d, measure) for d in before]
        if len(a) < MIN_DAYS or len(b) < MIN_DAYS or (np.var(a) == 0 and np.var(b) == 0):
            continue
        diff, low, high, p = _welch(a, b, 1 - ALPHA / len(MEASURES))
        if math.isnan(low) or low <= 0 <= high:
            continue
        word = "pleasant" if measure == "pleasantness" else "energetic"
        direction = "more" if diff > 0 else "less"
        found.append(
            Finding(
                "trend",
                f"trend:{measure}",
                f"Your last two weeks were {direction} {word} than the two before "
                f"({abs(diff):.2f} on a scale of -1 to 1).",
                {
                    "measure": measure,
                    "difference": round(diff, 4),
                    "low": round(low, 4),
                    "high": round(high, 4),
                    "pValue": round(p, 6),
                    "recentDays": len(a),
                    "earlierDays": len(b),
                },
                strength=diff,
            )
        )
    return found


def findings(checkins: Sequence[CheckIn], *, today: date | None = None) -> list[Finding]:
    """Everything worth saying about these check-ins, strongest first within each kind."""
    days = _days(checkins)
    if not days:
        return []
    factors = sorted(_factor_findings(days), key=lambda f: -abs(f.strength))
    patterns: list[Finding] = []
    for measure in MEASURES:
        by_weekday: dict[int, list[float]] = defaultdict(list)
        for d in days:
            by_weekday[d.day.weekday()].append(getattr(d, measure))
        by_part: dict[int, list[float]] = defaultdict(list)
        for c in checkins:
            point = _coordinates(c)
            if point is not None:
                by_part[_part_of_day(c.at)].append(point[0 if measure == "pleasantness" else 1])
        tests = 2 * len(MEASURES)
        for finding in (
            _pattern("weekday", WEEKDAYS, by_weekday, measure, tests),
            _pattern("time_of_day", PARTS_OF_DAY, by_part, measure, tests),
        ):
            if finding is not None:
                patterns.append(finding)
    return factors + patterns + _trend(days, today or days[-1].day)
