"""The mood vocabulary: emotion words placed on energy × pleasantness axes, plus context words.

Like How We Feel and the mood meter it grew from, each word sits in one of four quadrants:
high-energy unpleasant (red), high-energy pleasant (yellow), low-energy unpleasant (blue) and
low-energy pleasant (green). Coordinates are in -1..1 on both axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Quadrant(StrEnum):
    HIGH_ENERGY_UNPLEASANT = "high-energy-unpleasant"
    HIGH_ENERGY_PLEASANT = "high-energy-pleasant"
    LOW_ENERGY_UNPLEASANT = "low-energy-unpleasant"
    LOW_ENERGY_PLEASANT = "low-energy-pleasant"


@dataclass(frozen=True, slots=True)
class MoodWord:
    word: str
    energy: float
    pleasantness: float

    @property
    def quadrant(self) -> Quadrant:
        if self.energy >= 0:
            return (
                Quadrant.HIGH_ENERGY_PLEASANT
                if self.pleasantness >= 0
                else Quadrant.HIGH_ENERGY_UNPLEASANT
            )
        return (
            Quadrant.LOW_ENERGY_PLEASANT
            if self.pleasantness >= 0
            else Quadrant.LOW_ENERGY_UNPLEASANT
        )


_WORDS: tuple[tuple[str, float, float], ...] = (
    # high energy, unpleasant
    ("enraged", 0.95, -0.95),
    ("angry", 0.8, -0.8),
    ("anxious", 0.7, -0.6),
    ("stressed", 0.7, -0.7),
    ("frustrated", 0.6, -0.7),
    ("overwhelmed", 0.75, -0.65),
    ("nervous", 0.55, -0.45),
    ("irritated", 0.5, -0.5),
    ("restless", 0.45, -0.3),
    ("jealous", 0.45, -0.6),
    # high energy, pleasant
    ("ecstatic", 0.95, 0.95),
    ("excited", 0.8, 0.8),
    ("joyful", 0.7, 0.9),
    ("energized", 0.85, 0.6),
    ("proud", 0.5, 0.75),
    ("inspired", 0.6, 0.7),
    ("happy", 0.45, 0.8),
    ("hopeful", 0.3, 0.6),
    ("playful", 0.6, 0.65),
    ("motivated", 0.65, 0.55),
    # low energy, unpleasant
    ("sad", -0.5, -0.75),
    ("lonely", -0.45, -0.7),
    ("disappointed", -0.35, -0.6),
    ("tired", -0.75, -0.3),
    ("bored", -0.6, -0.35),
    ("drained", -0.85, -0.55),
    ("hopeless", -0.7, -0.9),
    ("down", -0.45, -0.5),
    ("guilty", -0.3, -0.65),
    ("numb", -0.8, -0.4),
    # low energy, pleasant
    ("calm", -0.55, 0.6),
    ("content", -0.35, 0.7),
    ("relaxed", -0.6, 0.65),
    ("grateful", -0.2, 0.8),
    ("peaceful", -0.7, 0.75),
    ("relieved", -0.4, 0.55),
    ("loved", -0.15, 0.9),
    ("secure", -0.3, 0.6),
    ("thoughtful", -0.25, 0.35),
    ("sleepy", -0.9, 0.2),
)

MOODS: dict[str, MoodWord] = {w: MoodWord(w, e, p) for w, e, p in _WORDS}
"""Every accepted mood type, keyed by its word."""

WEATHER: frozenset[str] = frozenset(
    {"sunny", "cloudy", "rainy", "stormy", "snowy", "windy", "foggy", "hot", "cold"}
)
SOCIAL_CONTEXTS: frozenset[str] = frozenset(
    {"alone", "partner", "family", "friends", "colleagues", "strangers", "online"}
)
REGIONS: frozenset[str] = frozenset({"us-east", "us-west", "eu-west", "ap-southeast", "sa-east"})
"""Home regions: where a user's data is kept (the vision's regional deployments)."""
