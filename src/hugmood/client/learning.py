"""On-device learning: the mood model trained on this device's own check-ins (a personal
copy), a pre-suggested mood for a context, and gentle forecasts ("days with friends usually
lift you"). Everything stays in the vault: the parameters are a sealed vault setting.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import tzinfo

import numpy as np

from hugmood.analytics.vectors import FACTORS
from hugmood.client.records import LocalEntry
from hugmood.client.vault import Vault
from hugmood.domain.vocabulary import MOODS, Quadrant
from hugmood.learning import model
from hugmood.learning.features import QUADRANTS, Context, encode, encode_all
from hugmood.learning.model import Examples, Metrics, Prediction, Vector

PERSONAL_MODEL = "learning.personal-model"
"""The vault setting holding the personal parameters (base64 of little-endian float64)."""
GLOBAL_MODEL = "learning.global-model"
"""The latest global version this device received: `<number>:<base64 of float64>`."""
MIN_CHECK_INS = 10
"""Fewer check-ins than this teach the model nothing worth keeping."""
LIFT = 0.1
"""A factor is worth a forecast when it moves the chance of a pleasant mood this much."""
_PLEASANT = [
    QUADRANTS.index(Quadrant.HIGH_ENERGY_PLEASANT),
    QUADRANTS.index(Quadrant.LOW_ENERGY_PLEASANT),
]


class NotEnoughCheckIns(ValueError):
    """Training was asked for with too few check-ins in the vault."""


@dataclass(frozen=True, slots=True)
class LearnReport:
    check_ins: int
    held_out: int
    before: Metrics
    """The starting model on the latest check-ins, kept out of training."""
    after: Metrics
    """The personal model on the same check-ins."""


def context_of(entry: LocalEntry, zone: tzinfo | None = None) -> Context:
    """What the model sees of a check-in: its context and the note's derived features."""
    at = entry.recorded_at.astimezone(zone)
    tags = frozenset(str(t) for t in entry.context.get("tags") or ())
    insights = entry.insights
    return Context(
        hour=at.hour,
        weekday=at.weekday(),
        weather=entry.context.get("weather"),
        company=entry.context.get("socialContext"),
        tags=tags,
        sentiment=None if insights is None else insights.sentiment,
        emotions=() if insights is None else tuple(insights.emotions),
    )


def examples_of(entries: list[LocalEntry], zone: tzinfo | None = None) -> Examples:
    """Check-ins as training examples (oldest first); unknown mood words are left out."""
    kept = sorted((e for e in entries if e.mood_type in MOODS), key=lambda e: e.recorded_at_ms)
    return Examples(
        encode_all([context_of(e, zone) for e in kept]),
        np.array([QUADRANTS.index(MOODS[e.mood_type].quadrant) for e in kept], dtype=np.int64),
        np.array([e.intensity for e in kept], dtype=np.float64),
    )


def global_model(vault: Vault) -> tuple[int, Vector] | None:
    """The global version this device last received from federated rounds, if any."""
    raw = vault.setting(GLOBAL_MODEL)
    if raw is None:
        return None
    number, _, weights = raw.partition(":")
    theta = np.frombuffer(base64.b64decode(weights), dtype="<f8").astype(np.float64)
    return (int(number), theta) if theta.shape == (model.PARAMETERS,) else None


def load(vault: Vault) -> Vector | None:
    raw = vault.setting(PERSONAL_MODEL)
    if raw is None:
        return None
    theta = np.frombuffer(base64.b64decode(raw), dtype="<f8").astype(np.float64)
    return theta if theta.shape == (model.PARAMETERS,) else None


def learn(
    vault: Vault, *, epochs: int = 5, zone: tzinfo | None = None, seed: int | None = None
) -> LearnReport:
    """Train a personal copy on the vault's check-ins and keep it in the vault. The
    newest fifth is held out first to tell whether the copy predicts better than where it
    started; then the copy is trained on everything."""
    data = examples_of(vault.entries(newest_first=False), zone)
    if len(data) < MIN_CHECK_INS:
        raise NotEnoughCheckIns(
            f"learning needs at least {MIN_CHECK_INS} check-ins with a mood word "
            f"(this vault has {len(data)})"
        )
    # The personal copy starts from the global version this device received (its person's
    # check-ins counted in it at most as one noised, masked update), else from version 0.
    received = global_model(vault)
    start = model.initial_parameters() if received is None else received[1]
    rng = np.random.default_rng(seed)
    cut = len(data) - max(2, len(data) // 5)
    trial = model.fine_tune(start, data.take(slice(0, cut)), epochs=epochs, rng=rng)
    held_out = data.take(slice(cut, None))
    report = LearnReport(
        len(data), len(held_out), model.evaluate(start, held_out), model.evaluate(trial, held_out)
    )
    personal = model.fine_tune(start, data, epochs=epochs, rng=rng)
    vault.set_settings(
        {PERSONAL_MODEL: base64.b64encode(personal.astype("<f8").tobytes()).decode()}
    )
    return report


def suggest(theta: Vector, context: Context) -> Prediction:
    """The likely quadrant and intensity for a check-in about to be made in `context`."""
    return model.predict(theta, encode(context))


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What the personal model expects of a check-in about to be made."""

    mood: str
    """A word of the likely quadrant: the one nearest its middle."""
    likelihood: float
    """How likely that quadrant is (0..1)."""
    intensity: float


def suggestion_for(vault: Vault, context: Context) -> Suggestion | None:
    """The personal model's suggestion (None until `hugmood learn` made one on this device:
    the global version alone knows nothing of this person)."""
    theta = load(vault)
    if theta is None:
        return None
    predicted = suggest(theta, context)
    quadrant = predicted.quadrant
    words = [w for w in MOODS.values() if w.quadrant is quadrant]
    energy = 0.5 if quadrant.startswith("high") else -0.5
    pleasant = 0.5 if quadrant.endswith("-pleasant") else -0.5
    word = min(words, key=lambda w: (w.energy - energy) ** 2 + (w.pleasantness - pleasant) ** 2)
    intensity = round(min(1.0, max(0.0, predicted.intensity)), 2)
    return Suggestion(word.word, predicted.probabilities[quadrant], intensity)


def _pleasant(theta: Vector, context: Context) -> float:
    p = suggest(theta, context).probabilities
    return sum(p[QUADRANTS[i]] for i in _PLEASANT)


def forecasts(theta: Vector, *, hour: int = 18, weekday: int = 2) -> list[str]:
    """Sentences about the factors that most move the chance of a pleasant mood, each
    compared with the same moment without it (strongest first, at most three)."""
    plain = Context(hour, weekday)
    base = _pleasant(theta, plain)
    effects: list[tuple[float, str, bool]] = []
    for factor in FACTORS:
        kind, word = factor.split(":", 1)
        if kind == "weather":
            with_it, label, plural = Context(hour, weekday, weather=word), f"{word} days", True
        elif kind == "company":
            with_it = Context(hour, weekday, company=word)
            label = "time alone" if word == "alone" else f"time with {word}"
            plural = False
        else:
            with_it, label = Context(hour, weekday, tags=frozenset({word})), f"days of {word}"
            plural = True
        effects.append((_pleasant(theta, with_it) - base, label, plural))
    effects.sort(key=lambda e: -abs(e[0]))
    return [
        f"{label} usually {'lift' if plural else 'lifts'} you"
        if lift > 0
        else f"{label} {'tend' if plural else 'tends'} to weigh on you"
        for lift, label, plural in effects[:3]
        if abs(lift) >= LIFT
    ]
