"""A simulated population for the learning loop: people with their own diaries, reproducible
from a seed. Each person has their own baseline mood, their own effect of every factor (the
population's effect plus a personal deviation), their own daily rhythm and weekend lift, and
their own habits (which weather, company and tags their days have, when they check in, how
often they write a note). A check-in's pleasantness and energy come from these plus noise; its
quadrant and intensity are what the model learns to predict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hugmood.analytics.vectors import COMMON_TAGS
from hugmood.domain.vocabulary import SOCIAL_CONTEXTS, WEATHER, MoodWord
from hugmood.learning.features import QUADRANTS, Context, encode_all
from hugmood.learning.model import Examples

_WEATHER = tuple(sorted(WEATHER))
_COMPANY = tuple(sorted(SOCIAL_CONTEXTS))
_FACTORS = (
    *(f"weather:{w}" for w in _WEATHER),
    *(f"company:{c}" for c in _COMPANY),
    *(f"tag:{t}" for t in COMMON_TAGS),
)
_EMOTIONS_BY_QUADRANT = (
    ("anger", "fear", "disgust"),  # in the order of QUADRANTS
    ("joy", "anticipation", "surprise"),
    ("sadness", "disgust", "fear"),
    ("trust", "joy"),
)
HELD_OUT = 0.25
"""The share of each person's latest check-ins kept for evaluation on their device."""


@dataclass(frozen=True, slots=True)
class Person:
    key: int
    train: Examples
    held_out: Examples


@dataclass(frozen=True, slots=True)
class Population:
    people: tuple[Person, ...]
    validation: Examples
    """Check-ins of other simulated people: the coordinator's fixed validation set."""

    def pooled_train(self) -> Examples:
        return Examples.concat([p.train for p in self.people])

    def pooled_held_out(self) -> Examples:
        return Examples.concat([p.held_out for p in self.people])


def _diary(
    rng: np.random.Generator, effects: np.ndarray, check_ins: int
) -> tuple[list[Context], np.ndarray, np.ndarray]:
    """One person's check-ins under `effects` (factor × (pleasantness, energy))."""
    base = rng.normal([0.1, 0.0], 0.25)
    weather_habit = rng.dirichlet(np.full(len(_WEATHER), 0.8))
    company_habit = rng.dirichlet(np.full(len(_COMPANY), 0.6))
    tag_habit = rng.beta(0.6, 2.5, size=len(COMMON_TAGS))
    favourite_hours = rng.choice(24, size=rng.integers(1, 4), replace=False)
    rhythm_peak, rhythm = rng.uniform(0, 24), rng.uniform(0.0, 0.3)
    weekend_lift = rng.normal(0.1, 0.15)
    note_habit = rng.beta(2, 2)
    contexts: list[Context] = []
    quadrants = np.zeros(check_ins, dtype=np.int64)
    intensities = np.zeros(check_ins, dtype=np.float64)
    for n in range(check_ins):
        hour = int((rng.choice(favourite_hours) + rng.integers(-2, 3)) % 24)
        weekday = int(rng.integers(7))
        weather = _WEATHER[rng.choice(len(_WEATHER), p=weather_habit)]
        company = _COMPANY[rng.choice(len(_COMPANY), p=company_habit)]
        tags = frozenset(t for t, p in zip(COMMON_TAGS, tag_habit, strict=True) if rng.random() < p)
        active = [_FACTORS.index(f"weather:{weather}"), _FACTORS.index(f"company:{company}")]
        active += [_FACTORS.index(f"tag:{t}") for t in tags]
        mood = base + effects[active].sum(axis=0) + rng.normal(0.0, 0.3, size=2)
        mood[0] += rhythm * math.cos(2 * math.pi * (hour - rhythm_peak) / 24)
        mood[0] += weekend_lift if weekday >= 5 else 0.0
        pleasantness, energy = float(mood[0]), float(mood[1])
        quadrant = QUADRANTS.index(MoodWord("", energy, pleasantness).quadrant)
        sentiment: float | None = None
        emotions: tuple[str, ...] = ()
        if rng.random() < note_habit:
            sentiment = float(np.tanh(1.5 * pleasantness + rng.normal(0.0, 0.4)))
            typical = _EMOTIONS_BY_QUADRANT[quadrant]
            emotions = tuple(e for e in typical if rng.random() < 0.35)
        contexts.append(Context(hour, weekday, weather, company, tags, sentiment, emotions))
        quadrants[n] = quadrant
        strength = math.hypot(pleasantness, energy)
        intensities[n] = float(np.clip(0.25 + 0.45 * strength + rng.normal(0.0, 0.08), 0, 1))
    return contexts, quadrants, intensities


def _examples(contexts: list[Context], quadrants: np.ndarray, intensity: np.ndarray) -> Examples:
    return Examples(encode_all(contexts), quadrants, intensity)


def simulate(
    people: int, *, seed: int = 19, validation_people: int = 50, mean_check_ins: int = 80
) -> Population:
    """`people` diaries (and `validation_people` more for the validation set), the same for
    the same arguments."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0.0, 0.25, size=(len(_FACTORS), 2))
    out: list[Person] = []
    validation: list[Examples] = []
    for key in range(people + validation_people):
        personal = shared + rng.normal(0.0, 0.12, size=shared.shape)
        check_ins = max(8, int(rng.poisson(mean_check_ins)))
        contexts, quadrants, intensity = _diary(rng, personal, check_ins)
        if key >= people:
            validation.append(_examples(contexts, quadrants, intensity))
            continue
        cut = check_ins - max(2, int(HELD_OUT * check_ins))
        out.append(
            Person(
                key,
                _examples(contexts[:cut], quadrants[:cut], intensity[:cut]),
                _examples(contexts[cut:], quadrants[cut:], intensity[cut:]),
            )
        )
    return Population(tuple(out), Examples.concat(validation))
