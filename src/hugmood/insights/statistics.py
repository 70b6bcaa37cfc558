"""What a person's own check-ins say about them, with the numbers behind each sentence.

Pure functions over a person's check-ins (no storage, no clock): `findings(checkins)`. The
unit of every test is a day (`insights.days`): several check-ins on one day are averaged into
one observation, and for time-of-day patterns several in the same part of one day are one.
Factors are compared by Welch's t-test, computed for every factor at once with NumPy and
SciPy's t distribution (the same numbers as `scipy.stats.ttest_ind(equal_var=False)`, checked
by the unit tests); patterns use SciPy's one-way ANOVA. Factors are chosen by
Benjamini-Hochberg over every test at `ALPHA` (so on data with no real effect a person is told
a spurious factor in at most 5% of cases, whatever the number of factors they use) and their
intervals are the matching false-coverage-adjusted ones; patterns and trends are
Bonferroni-corrected.

Kinds of finding:
- `factor`: a context factor (place, weather, company, tag, or what the device found in the
  note) with at least `MIN_DAYS` days with it and as many without, whose difference in mean
  pleasantness or energy has an interval that excludes zero, the same day or the next;
- `weekday` and `time_of_day`: days or parts of the day that differ beyond noise;
- `trend`: the last two weeks against the two before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from scipy import stats

from hugmood.insights.days import (
    MIN_DAYS,
    PARTS_OF_DAY,
    CheckIn,
    DayTable,
    Floats,
    Groups,
    Ints,
    compare,
    day_table,
    factor_labels,
)

__all__ = ["ALPHA", "MIN_DAYS", "CheckIn", "Finding", "factor_labels", "findings", "welch"]

ALPHA = 0.05
TREND_DAYS = 14
MEASURES = ("pleasantness", "energy")
LAGS = ("same-day", "next-day")
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
_FLAT = 1e-12
"""A variance below this is no spread at all (sums of squares leave rounding dust)."""


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
class Welch:
    """Welch's t-test for many pairs of samples at once (arrays of one shape)."""

    difference: Floats
    standard_error: Floats
    freedom: Floats
    p_value: Floats

    def interval(self, confidence: float) -> tuple[Floats, Floats]:
        half = stats.t.ppf(0.5 + confidence / 2, self.freedom) * self.standard_error
        return self.difference - half, self.difference + half


def welch(
    n_a: Floats, mean_a: Floats, var_a: Floats, n_b: Floats, mean_b: Floats, var_b: Floats
) -> Welch:
    """From each side's count, mean and sample variance: the difference of means a - b, its
    standard error, the Welch-Satterthwaite degrees of freedom and the two-sided p-value."""
    with np.errstate(invalid="ignore", divide="ignore"):
        share_a, share_b = var_a / n_a, var_b / n_b
        squared = share_a + share_b
        freedom = squared**2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
        error = np.sqrt(squared)
        difference = mean_a - mean_b
        p_value = 2 * stats.t.sf(np.abs(difference / error), freedom)
    return Welch(difference, error, freedom, p_value)


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


def _factor_findings(table: DayTable) -> list[Finding]:
    # Every test (lag x factor x measure) as one flat array, in that order.
    compared: list[Groups] = [compare(table, lag) for lag in range(len(LAGS))]

    def flat(name: str) -> Floats:
        return np.concatenate(
            [np.asarray(getattr(g, name), np.float64).reshape(-1) for g in compared]
        )

    def counts(name: str) -> Floats:
        return np.concatenate(
            [np.repeat(np.asarray(getattr(g, name), np.float64), len(MEASURES)) for g in compared]
        )

    n_with, n_without = counts("n_with"), counts("n_without")
    var_with, var_without = flat("var_with"), flat("var_without")
    # At least MIN_DAYS on each side, and some spread (Welch's test is undefined without).
    usable = (n_with >= MIN_DAYS) & (n_without >= MIN_DAYS)
    usable &= (var_with > _FLAT) | (var_without > _FLAT)
    tests = np.flatnonzero(usable)
    if not len(tests):
        return []
    result = welch(
        n_with[tests],
        flat("mean_with")[tests],
        np.where(var_with[tests] > _FLAT, var_with[tests], 0.0),
        n_without[tests],
        flat("mean_without")[tests],
        np.where(var_without[tests] > _FLAT, var_without[tests], 0.0),
    )
    p_values = np.nan_to_num(result.p_value, nan=1.0)
    # Benjamini-Hochberg across every test: with no real effect anywhere this is the
    # family-wise rate ALPHA, and with some it finds more than Bonferroni would. The chosen
    # effects get intervals at the false-coverage level that matches (Benjamini & Yekutieli
    # 2005): 1 - R * ALPHA / m for R chosen among m.
    chosen = np.flatnonzero(stats.false_discovery_control(p_values) < ALPHA)
    if not len(chosen):
        return []
    confidence = 1 - len(chosen) * ALPHA / len(tests)
    low, high = result.interval(confidence)
    per_lag = len(table.labels) * len(MEASURES)
    found = []
    for i in chosen.tolist():
        if math.isnan(low[i]) or low[i] <= 0 <= high[i]:
            continue
        test = int(tests[i])
        lag, rest = divmod(test, per_lag)
        label, measure = table.labels[rest // len(MEASURES)], MEASURES[rest % len(MEASURES)]
        diff, days_with, days_without = float(result.difference[i]), n_with[test], n_without[test]
        more = "more" if diff > 0 else "less"
        word = "pleasant" if measure == "pleasantness" else "energetic"
        sentence = (
            f"You tend to feel {more} {word} {_describe(label, lag == 1)} "
            f"({abs(diff):.2f} on a scale of -1 to 1, over {days_with:.0f} days with it and "
            f"{days_without:.0f} without)."
        )
        found.append(
            Finding(
                "factor",
                f"factor:{label}:{measure}:{LAGS[lag]}",
                sentence,
                {
                    "factor": label,
                    "measure": measure,
                    "lag": LAGS[lag],
                    "difference": round(diff, 4),
                    "low": round(float(low[i]), 4),
                    "high": round(float(high[i]), 4),
                    "confidence": round(confidence, 5),
                    "pValue": round(float(p_values[i]), 6),
                    "daysWith": int(days_with),
                    "daysWithout": int(days_without),
                },
                strength=diff,
            )
        )
    return found


def _pattern(
    kind: str, names: Sequence[str], group: Ints, values: Floats, measure: str, tests: int
) -> Finding | None:
    """One-way ANOVA of `values` by `group` (indices into `names`), over the groups with at
    least `MIN_DAYS` values; said when its p-value is below ALPHA / `tests`. The F statistic
    from group sums (the same as `scipy.stats.f_oneway`), its p-value from SciPy's F."""
    counts = np.bincount(group, minlength=len(names))
    usable = counts >= MIN_DAYS
    if np.count_nonzero(usable) < 2:
        return None
    keep = usable[group]
    group, values = group[keep], values[keep]
    n = counts.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(group, weights=values, minlength=len(names)) / n
    within = float(((values - means[group]) ** 2).sum())
    if within <= _FLAT:
        return None
    between = float((n[usable] * (means[usable] - values.mean()) ** 2).sum())
    groups, total = int(np.count_nonzero(usable)), len(values)
    statistic = (between / (groups - 1)) / (within / (total - groups))
    p = float(stats.f.sf(statistic, groups - 1, total - groups))
    if math.isnan(p) or p >= ALPHA / tests:
        return None
    shown = {k: float(means[k]) for k in np.flatnonzero(usable).tolist()}
    best, worst = max(shown, key=shown.__getitem__), min(shown, key=shown.__getitem__)
    word = "pleasant" if measure == "pleasantness" else "energetic"
    return Finding(
        kind,
        f"{kind}:{measure}",
        f"You feel most {word} {names[best]} and least {names[worst]} "
        f"({shown[best]:.2f} against {shown[worst]:.2f}).",
        {
            "measure": measure,
            "best": names[best],
            "worst": names[worst],
            "bestMean": round(shown[best], 4),
            "worstMean": round(shown[worst], 4),
            "pValue": round(p, 6),
            **{f"n:{names[k]}": int(counts[k]) for k in shown},
        },
        strength=shown[best] - shown[worst],
    )


def _trend(table: DayTable, today: date) -> list[Finding]:
    ago = today.toordinal() - table.days
    recent = (ago >= 0) & (ago < TREND_DAYS)
    before = (ago >= TREND_DAYS) & (ago < 2 * TREND_DAYS)
    found = []
    for m, measure in enumerate(MEASURES):
        a, b = table.measures[recent, m], table.measures[before, m]
        if len(a) < MIN_DAYS or len(b) < MIN_DAYS or (np.var(a) == 0 and np.var(b) == 0):
            continue
        result = welch(
            np.array(len(a), np.float64),
            np.array(a.mean()),
            np.array(a.var(ddof=1)),
            np.array(len(b), np.float64),
            np.array(b.mean()),
            np.array(b.var(ddof=1)),
        )
        low, high = result.interval(1 - ALPHA / len(MEASURES))
        diff = float(result.difference)
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
                    "low": round(float(low), 4),
                    "high": round(float(high), 4),
                    "pValue": round(float(result.p_value), 6),
                    "recentDays": len(a),
                    "earlierDays": len(b),
                },
                strength=diff,
            )
        )
    return found


def findings(checkins: Sequence[CheckIn], *, today: date | None = None) -> list[Finding]:
    """Everything worth saying about these check-ins, strongest first within each kind."""
    return findings_of(day_table(checkins), today=today)


def findings_of(table: DayTable, *, today: date | None = None) -> list[Finding]:
    """`findings` from check-ins already summarised per day."""
    if not len(table):
        return []
    factors = sorted(_factor_findings(table), key=lambda f: -abs(f.strength))
    weekdays = (table.days - 1) % 7  # ordinal 1 (0001-01-01) was a Monday
    tests = 2 * len(MEASURES)
    patterns: list[Finding] = []
    for m, measure in enumerate(MEASURES):
        for finding in (
            _pattern("weekday", WEEKDAYS, weekdays, table.measures[:, m], measure, tests),
            _pattern(
                "time_of_day",
                PARTS_OF_DAY,
                table.cell_parts,
                table.cell_measures[:, m],
                measure,
                tests,
            ),
        ):
            if finding is not None:
                patterns.append(finding)
    return factors + patterns + _trend(table, today or table.last_day())
