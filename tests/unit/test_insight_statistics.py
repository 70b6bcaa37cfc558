"""The statistics behind personal insights, on data with known effects: a planted factor is
found with the right sign and an interval covering the truth; pure noise reports a factor in
no more than the stated share of people."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hugmood.insights.statistics import ALPHA, CheckIn, findings

START = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday
HAPPY_PLEASANTNESS = 0.8  # "happy" sits at pleasantness 0.8: pleasantness = 0.8 × intensity


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
    # Bonferroni keeps the family-wise rate at ALPHA (5%); allow for sampling error (two
    # standard errors of a share of 100).
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
    assert kinds["weekday:pleasantness"].numbers["best"] in ("Saturdays", "Sundays")
    assert "trend:pleasantness" in kinds
    assert float(kinds["trend:pleasantness"].numbers["difference"]) > 0


def test_nothing_to_say_about_nothing() -> None:
    assert findings([]) == []
    assert findings([CheckIn(START, "a word of my own", 0.5)]) == []
