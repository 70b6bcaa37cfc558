"""The statistics behind personal insights, on data with known effects: a planted factor is
found with the right sign and an interval covering the truth; pure noise reports a factor in
no more than the stated share of people, also when people check in several times a day."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from hugmood.insights.statistics import ALPHA, CheckIn, findings, welch

START = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday
HAPPY_PLEASANTNESS = 0.8  # "happy" sits at pleasantness 0.8: pleasantness = 0.8 × intensity
FACTORS = ("tag:walk", "company:friends", "weather:sunny", "place:home", "tag:work")
WORDS = ("happy", "calm", "tired", "anxious", "sad", "excited")


def diary(days: int, rng: random.Random, walk_lift: float = 0.0) -> list[CheckIn]:
    """One check-in a day; on random days a walk, in company or not, sunny or not."""
    checkins = []
    for n in range(days):
        factors = {
            f for f in ("tag:walk", "company:friends", "weather:sunny") if rng.random() < 0.4
        }
        intensity = rng.uniform(0.2, 0.7) + (walk_lift if "tag:walk" in factors else 0.0)
        checkins.append(
            CheckIn(START + timedelta(days=n), "happy", min(1.0, intensity), frozenset(factors))
        )
    return checkins


def test_a_planted_factor_is_found_with_the_right_sign_and_an_interval_covering_it() -> None:
    lift = 0.25
    truth = HAPPY_PLEASANTNESS * lift
    found = findings(diary(90, random.Random(1), walk_lift=lift))

    walk = [f for f in found if f.key == "factor:tag:walk:pleasantness:same-day"]
    assert walk, [f.key for f in found]
    numbers = walk[0].numbers
    assert float(numbers["difference"]) > 0
    assert float(numbers["low"]) <= truth <= float(numbers["high"])
    assert "more pleasant" in walk[0].sentence and "walk" in walk[0].sentence
    assert found[0].key == walk[0].key, "the strongest effect comes first"


def test_pure_noise_reports_a_factor_in_at_most_the_stated_share_of_people() -> None:
    rng = random.Random(2)
    people = 100
    with_a_factor = sum(
        any(f.kind == "factor" for f in findings(diary(45, rng))) for _ in range(people)
    )
    # Benjamini-Hochberg keeps the share at ALPHA (5%) when nothing is real; allow for
    # sampling error (two standard errors of a share of 100).
    assert with_a_factor / people <= ALPHA + 0.045, with_a_factor


def test_a_factor_needs_three_days_with_it_and_three_without() -> None:
    rng = random.Random(3)
    checkins = diary(30, rng, walk_lift=0.3)
    only_twice = [
        c if i in (0, 1) else CheckIn(c.at, c.mood, c.intensity, c.factors - {"tag:walk"})
        for i, c in enumerate(checkins)
    ]
    assert not [f for f in findings(only_twice) if "tag:walk" in f.key]


def test_a_weekday_pattern_and_a_trend_are_found_when_they_are_there() -> None:
    rng = random.Random(4)
    checkins = []
    for n in range(56):
        moment = START + timedelta(days=n)
        intensity = rng.uniform(0.3, 0.5) + (0.4 if moment.weekday() >= 5 else 0.0)
        intensity += 0.3 if n >= 42 else 0.0  # the last two weeks lift
        checkins.append(CheckIn(moment, "happy", min(1.0, intensity)))
    kinds = {f.key: f for f in findings(checkins)}

    assert "weekday:pleasantness" in kinds
    by_weekday = [
        [HAPPY_PLEASANTNESS * c.intensity for c in checkins if c.at.weekday() == day]
        for day in range(7)
    ]
    assert float(kinds["weekday:pleasantness"].numbers["pValue"]) == pytest.approx(
        stats.f_oneway(*by_weekday).pvalue, rel=1e-4, abs=1e-6
    )
    assert kinds["weekday:pleasantness"].numbers["best"] in ("Saturdays", "Sundays")
    assert "trend:pleasantness" in kinds
    assert float(kinds["trend:pleasantness"].numbers["difference"]) > 0


def test_nothing_to_say_about_nothing() -> None:
    assert findings([]) == []
    assert findings([CheckIn(START, "a word of my own", 0.5)]) == []


def test_the_tests_give_scipys_numbers() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        a = rng.normal(0.1, rng.uniform(0.1, 0.5), size=int(rng.integers(3, 40)))
        b = rng.normal(0.0, rng.uniform(0.1, 0.5), size=int(rng.integers(3, 40)))
        ours = welch(
            *(np.array(x, dtype=np.float64) for x in (len(a), a.mean(), a.var(ddof=1))),
            *(np.array(x, dtype=np.float64) for x in (len(b), b.mean(), b.var(ddof=1))),
        )
        theirs = stats.ttest_ind(a, b, equal_var=False)
        low, high = ours.interval(0.9)
        interval = theirs.confidence_interval(0.9)
        assert float(ours.p_value) == pytest.approx(theirs.pvalue, rel=1e-9)
        assert (float(low), float(high)) == pytest.approx((interval.low, interval.high))


def several_a_day(days: int, rng: random.Random) -> list[CheckIn]:
    """Pure noise as people really log it: one to five check-ins a day, mostly close together
    (one sitting, or two), each with its own factors, and a mood of the day that all of that
    day's check-ins share, so they are not independent observations."""
    checkins = []
    for n in range(days):
        mood_of_the_day, word_of_the_day = rng.gauss(0, 0.3), rng.choice(WORDS)
        sittings = [rng.randint(0, 21) for _ in range(rng.randint(1, 2))]
        for _ in range(rng.randint(1, 5)):
            factors = frozenset(f for f in FACTORS if rng.random() < 0.3)
            intensity = min(1.0, max(0.05, rng.uniform(0.3, 0.7) + mood_of_the_day))
            minutes = 60 * rng.choice(sittings) + rng.randint(0, 90)
            at = START + timedelta(days=n, minutes=minutes)
            word = word_of_the_day if rng.random() < 0.8 else rng.choice(WORDS)
            checkins.append(CheckIn(at, word, intensity, factors))
    return checkins


def test_noise_logged_several_times_a_day_is_told_at_no_more_than_the_stated_rates() -> None:
    rng = random.Random(7)
    people = 400
    said: dict[str, int] = {}
    for _ in range(people):
        for kind in {f.kind for f in findings(several_a_day(60, rng))}:
            said[kind] = said.get(kind, 0) + 1
    # The stated rates on pure noise: any factor at ALPHA (Benjamini-Hochberg over every
    # test); a weekday or a time-of-day pattern at ALPHA / 2 (two ANOVAs at ALPHA / 4 each);
    # a trend at ALPHA (two measures at ALPHA / 2). Each with two standard errors of a share
    # of 400 for the sampling. (Counting check-ins rather than days, the same people were
    # told a time-of-day pattern in 31% of cases.)
    stated = {"factor": ALPHA, "weekday": ALPHA / 2, "time_of_day": ALPHA / 2, "trend": ALPHA}
    for kind, rate in stated.items():
        margin = 2 * math.sqrt(rate * (1 - rate) / people)
        assert said.get(kind, 0) / people <= rate + margin, (kind, said)
