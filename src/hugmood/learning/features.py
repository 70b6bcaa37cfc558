"""The on-device model's input: a check-in's context encoded as a fixed-length vector.

Context is what a person chose (weather, company, tags from the similar-minds vector's fixed
vocabulary), when (hour of day, weekday) and the note's features computed on the device
(sentiment, emotion tags). The note's text never enters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hugmood.analytics.vectors import FACTORS
from hugmood.domain.vocabulary import Quadrant

EMOTIONS: tuple[str, ...] = (
    "joy",
    "trust",
    "fear",
    "surprise",
    "sadness",
    "disgust",
    "anger",
    "anticipation",
)
"""Plutchik's eight, the tags the device's analysis gives a note (`client/emotion_lexicon`;
named here so that learning does not depend on the client: a test keeps the two equal)."""
QUADRANTS: tuple[Quadrant, ...] = tuple(Quadrant)
"""The classes the model predicts, in the order of its outputs."""
WEEKDAYS = 7
_FACTOR_AT = {f: i for i, f in enumerate(FACTORS)}
_TIME_AT = len(FACTORS)  # sin and cos of the hour, then one weekday column each
_NOTE_AT = _TIME_AT + 2 + WEEKDAYS  # has a note, sentiment, then one column per emotion
_EMOTION_AT = {e: _NOTE_AT + 2 + i for i, e in enumerate(EMOTIONS)}
FEATURES = _NOTE_AT + 2 + len(EMOTIONS)
"""The length of an encoded context."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the model sees of one check-in: never the note, only what the device derived."""

    hour: int
    weekday: int
    """0 for Monday."""
    weather: str | None = None
    company: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    sentiment: float | None = None
    """VADER's compound score of the note (-1..1), None without a note."""
    emotions: tuple[str, ...] = ()


def encode(context: Context) -> npt.NDArray[np.float64]:
    """The context as a vector of `FEATURES` numbers; words outside the vocabularies are
    ignored (tags are free words, only the common ones have a column)."""
    if not 0 <= context.hour < 24 or not 0 <= context.weekday < WEEKDAYS:
        raise ValueError("hour must be 0..23 and weekday 0..6")
    x = np.zeros(FEATURES, dtype=np.float64)
    labels = [f"tag:{t}" for t in context.tags]
    if context.weather is not None:
        labels.append(f"weather:{context.weather}")
    if context.company is not None:
        labels.append(f"company:{context.company}")
    for label in labels:
        at = _FACTOR_AT.get(label)
        if at is not None:
            x[at] = 1.0
    angle = 2 * math.pi * context.hour / 24
    x[_TIME_AT] = math.sin(angle)
    x[_TIME_AT + 1] = math.cos(angle)
    x[_TIME_AT + 2 + context.weekday] = 1.0
    if context.sentiment is not None:
        x[_NOTE_AT] = 1.0
        x[_NOTE_AT + 1] = max(-1.0, min(1.0, context.sentiment))
    for emotion in context.emotions:
        at = _EMOTION_AT.get(emotion)
        if at is not None:
            x[at] = 1.0
    return x


def encode_all(contexts: list[Context]) -> npt.NDArray[np.float64]:
    """Many contexts as rows of one matrix."""
    if not contexts:
        return np.zeros((0, FEATURES), dtype=np.float64)
    return np.stack([encode(c) for c in contexts])
