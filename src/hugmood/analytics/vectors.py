"""Mood-pattern vectors for similar minds, and the index that finds near ones: usearch's HNSW
for speed, with the exact NumPy search beside it as the check (and the fallback).

A vector is built from a person's check-ins alone: how their check-ins spread over the mood
words, the mean and spread of the energy and pleasantness those words carry, their mean
intensity, and their factor effects: for each factor of a fixed vocabulary (every weather and
company, and a few common tags), how much more pleasant their days with it were than their
days without (0 where there are not `MIN_DAYS` of each). Nothing from notes goes in. Vectors
are unit length, so the inner product is the cosine similarity.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson
from usearch.index import Index

from hugmood.application.queries.minds import (
    MIN_CHECK_INS,
    CheckInRow,
    MoodCounts,
    Vector,
    mood_rows,
)
from hugmood.domain.vocabulary import MOODS, SOCIAL_CONTEXTS, WEATHER
from hugmood.insights.days import context_labels, day_table_of, pleasantness_effects
from hugmood.sql.database import SqlDatabase

WORDS: tuple[str, ...] = tuple(MOODS)
_ENERGY = np.array([MOODS[w].energy for w in WORDS], dtype=np.float64)
_PLEASANTNESS = np.array([MOODS[w].pleasantness for w in WORDS], dtype=np.float64)
STATS = ("energy mean", "energy spread", "pleasantness mean", "pleasantness spread", "intensity")
COMMON_TAGS = (
    "walk",
    "exercise",
    "outdoors",
    "nature",
    "sleep",
    "meditation",
    "music",
    "reading",
    "work",
    "cooking",
)
"""Tags are free words: these common ones have a place in the vector, the rest do not."""
FACTORS: tuple[str, ...] = (
    *(f"weather:{w}" for w in sorted(WEATHER)),
    *(f"company:{c}" for c in sorted(SOCIAL_CONTEXTS)),
    *(f"tag:{t}" for t in COMMON_TAGS),
)
"""The fixed factor vocabulary of the vector's effects (labels as `insights.days` makes them)."""
_EFFECTS_AT = len(WORDS) + len(STATS)
DIMENSIONS = _EFFECTS_AT + len(FACTORS)
STATS_WEIGHT = 0.5
"""How much the five statistics weigh against the word distribution (which has length 1)."""
EFFECTS_WEIGHT = 1.0
"""How much the factor effects (differences of mean pleasantness, mostly within ±0.5) weigh."""


IN_LOOP = 20
"""Up to this many people's counts are worked out on the event loop (a query's own refresh);
more (loading the index) in a thread."""


async def mood_counts(db: SqlDatabase, user_ids: Sequence[str]) -> dict[str, MoodCounts]:
    """Each person's check-ins per mood word, mean intensity and factor effects."""
    rows_of = await mood_rows(db, user_ids)
    if len(rows_of) <= IN_LOOP:
        return {user: counts_of(rows) for user, rows in rows_of.items()}
    # Every discoverable person at start: summarising their days takes a while, off the loop.
    return await asyncio.to_thread(lambda: {u: counts_of(r) for u, r in rows_of.items()})


def counts_of(rows: list[CheckInRow]) -> MoodCounts:
    words: dict[str, int] = {}
    for _, word, _, _ in rows:
        words[word] = words.get(word, 0) + 1
    table = day_table_of(
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [context_labels(orjson.loads(r[3])) if r[3] else frozenset() for r in rows],
        [None] * len(rows),
    )
    return MoodCounts(
        words, sum(r[2] for r in rows) / max(1, len(rows)), pleasantness_effects(table)
    )


def mood_vector(counts: MoodCounts) -> Vector | None:
    """The person's unit vector, or None with fewer than `MIN_CHECK_INS` check-ins."""
    n = np.array([counts.words.get(w, 0) for w in WORDS], dtype=np.float64)
    total = n.sum()
    if total < MIN_CHECK_INS:
        return None
    share = n / total
    energy_mean = float(share @ _ENERGY)
    pleasantness_mean = float(share @ _PLEASANTNESS)
    energy_spread = math.sqrt(max(0.0, float(share @ _ENERGY**2) - energy_mean**2))
    pleasantness_spread = math.sqrt(
        max(0.0, float(share @ _PLEASANTNESS**2) - pleasantness_mean**2)
    )
    intensity = min(1.0, max(0.0, counts.mean_intensity))
    # Square roots of the shares have length 1 (a Hellinger embedding: the inner product of
    # two is the Bhattacharyya coefficient of the distributions).
    stats = np.array(
        [energy_mean, energy_spread, pleasantness_mean, pleasantness_spread, intensity]
    )
    effects = np.array([counts.factor_effects.get(f, 0.0) for f in FACTORS])
    vector = np.concatenate([np.sqrt(share), STATS_WEIGHT * stats, EFFECTS_WEIGHT * effects])
    unit: Vector = (vector / np.linalg.norm(vector)).astype(np.float32)
    return unit


def factor_effects(vector: Vector) -> dict[str, float]:
    """The factor effects a vector of `mood_vector` carries, as they were (the word part had
    length 1 before the vector was scaled to unit length, which undoes the scaling)."""
    scale = float(np.linalg.norm(vector[: len(WORDS)])) * EFFECTS_WEIGHT
    return {f: float(v) / scale for f, v in zip(FACTORS, vector[_EFFECTS_AT:], strict=True)}


@dataclass(frozen=True, slots=True)
class Neighbour:
    key: int
    similarity: float
    """Cosine similarity, from -1 to 1 (1: the same patterns)."""


class MindIndex:
    """Unit vectors by integer key: approximate search with usearch (HNSW, inner product) and
    the exact search over the same vectors in a NumPy matrix. Searching expands 128 candidates:
    with the factor effects in the vector, 64 found only 93% of the exact top 5 among 100,000
    people (bench/analytics.py), 128 finds 97-98%."""

    def __init__(self, *, connectivity: int = 16, expansion_search: int = 128) -> None:
        self._index = Index(
            ndim=DIMENSIONS,
            metric="ip",
            dtype="f32",
            connectivity=connectivity,
            expansion_add=128,
            expansion_search=expansion_search,
        )
        self._rows: dict[int, int] = {}
        self._keys: list[int] = []
        self._matrix = np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._size = 0

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: int) -> bool:
        return key in self._rows

    def add_many(self, keys: npt.NDArray[np.uint64], vectors: Vector) -> None:
        """Add (or replace) many vectors at once (a rebuild, the benchmark)."""
        for key in keys.tolist():
            self.remove(int(key))
        self._index.add(keys, vectors)
        for key, vector in zip(keys.tolist(), vectors, strict=True):
            self._put_row(int(key), vector)

    def put(self, key: int, vector: Vector) -> None:
        self.remove(key)
        self._index.add(key, vector)
        self._put_row(key, vector)

    def remove(self, key: int) -> None:
        row = self._rows.pop(key, None)
        if row is None:
            return
        self._index.remove(key)
        # Keep the matrix dense: the last row moves into the freed one.
        last = self._size - 1
        if row != last:
            moved = self._keys[last]
            self._matrix[row] = self._matrix[last]
            self._keys[row] = moved
            self._rows[moved] = row
        self._keys.pop()
        self._size -= 1

    def _put_row(self, key: int, vector: Vector) -> None:
        if self._size == len(self._matrix):
            grown = np.zeros((max(64, 2 * self._size), DIMENSIONS), dtype=np.float32)
            grown[: self._size] = self._matrix[: self._size]
            self._matrix = grown
        self._matrix[self._size] = vector
        self._rows[key] = self._size
        self._keys.append(key)
        self._size += 1

    def vector(self, key: int) -> Vector | None:
        row = self._rows.get(key)
        return None if row is None else self._matrix[row].copy()

    def search(self, query: Vector, count: int) -> list[Neighbour]:
        """Up to `count` nearest by HNSW (approximate), most similar first."""
        if not self._rows or count <= 0:
            return []
        # One query is one thread's work: usearch's default hands it to a pool sized to the
        # machine, whose wake-ups made the tail ten times the median (p99 10 ms vs 1.3 ms
        # with one thread, at 100,000 vectors on 2 busy cores).
        found = self._index.search(query, min(count, len(self._rows)), threads=1)
        return [
            Neighbour(int(k), 1.0 - float(d))
            for k, d in zip(found.keys, found.distances, strict=True)
        ]

    def exact(self, query: Vector, count: int) -> list[Neighbour]:
        """Up to `count` nearest by comparing with every vector: the check on `search`."""
        if not self._rows or count <= 0:
            return []
        scores = self._matrix[: self._size] @ query
        count = min(count, self._size)
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Neighbour(self._keys[i], float(scores[i])) for i in top.tolist()]


def recall(approximate: Iterable[Neighbour], exact: Iterable[Neighbour]) -> float:
    """The share of the exact neighbours the approximate search found."""
    truth = {n.key for n in exact}
    if not truth:
        return 1.0
    return len(truth & {n.key for n in approximate}) / len(truth)
