"""The pure parts of community mood and similar minds: mood-pattern vectors, the usearch
index against exact search, cohort validation and the OpenDP release."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from hugmood.analytics.columnstore import QUADRANTS, CohortSums
from hugmood.analytics.pseudonyms import iso_week, keyed_hash
from hugmood.analytics.release import check_cohort, noisy_release
from hugmood.analytics.vectors import (
    DIMENSIONS,
    FACTORS,
    MindIndex,
    factor_effects,
    mood_vector,
    recall,
)
from hugmood.application.queries.minds import MIN_CHECK_INS, MoodCounts
from hugmood.domain.errors import ValidationFailed


def unit_vectors(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = rng.dirichlet(np.ones(DIMENSIONS) * 0.3, size=n).astype(np.float32)
    vectors: np.ndarray = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    return vectors


def test_a_vector_needs_enough_check_ins_and_has_unit_length() -> None:
    assert mood_vector(MoodCounts({"calm": MIN_CHECK_INS - 1}, 0.5)) is None
    vector = mood_vector(MoodCounts({"calm": 3, "angry": 2}, 0.5))
    assert vector is not None and vector.shape == (DIMENSIONS,)
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)


def test_similar_patterns_are_nearer_than_opposite_ones() -> None:
    calm = mood_vector(MoodCounts({"calm": 4, "content": 2}, 0.5))
    calmer = mood_vector(MoodCounts({"calm": 5, "relaxed": 1}, 0.4))
    angry = mood_vector(MoodCounts({"angry": 4, "stressed": 2}, 0.9))
    assert calm is not None and calmer is not None and angry is not None
    assert float(calm @ calmer) > float(calm @ angry)


def test_a_vector_carries_the_factor_effects_of_its_vocabulary() -> None:
    effects = {"company:friends": 0.3, "weather:rainy": -0.2, "tag:walk": 0.1, "place:home": 0.4}
    vector = mood_vector(MoodCounts({"calm": 3, "angry": 2}, 0.5, effects))
    assert vector is not None
    carried = factor_effects(vector)
    assert set(carried) == set(FACTORS)
    assert carried["company:friends"] == pytest.approx(0.3, abs=1e-5)
    assert carried["weather:rainy"] == pytest.approx(-0.2, abs=1e-5)
    assert carried["tag:walk"] == pytest.approx(0.1, abs=1e-5)
    assert carried["company:alone"] == 0.0  # unknown: 0; places are free words, not carried
    # Alike in words, unlike in what helps: less similar than alike in both.
    same = mood_vector(MoodCounts({"calm": 3, "angry": 2}, 0.5, effects))
    opposite = mood_vector(
        MoodCounts({"calm": 3, "angry": 2}, 0.5, {k: -v for k, v in effects.items()})
    )
    assert same is not None and opposite is not None
    assert float(vector @ same) > float(vector @ opposite)


def test_hnsw_recall_at_5_against_exact_search() -> None:
    vectors = unit_vectors(5000)
    index = MindIndex()
    index.add_many(np.arange(len(vectors), dtype=np.uint64), vectors)
    queries = vectors[:200]
    found = [recall(index.search(q, 5), index.exact(q, 5)) for q in queries]
    assert float(np.mean(found)) >= 0.95
    exact = index.exact(queries[0], 1)
    assert exact[0].key == 0 and exact[0].similarity == pytest.approx(1.0, abs=1e-5)


def test_removed_and_replaced_vectors_are_found_as_they_are_now() -> None:
    vectors = unit_vectors(300)
    index = MindIndex()
    index.add_many(np.arange(300, dtype=np.uint64), vectors)
    index.remove(7)
    assert 7 not in index and len(index) == 299
    assert 7 not in {n.key for n in index.search(vectors[7], 10)}
    assert 7 not in {n.key for n in index.exact(vectors[7], 10)}
    index.put(7, vectors[8])
    assert {n.key for n in index.exact(vectors[8], 2)} == {7, 8}
    assert {n.key for n in index.search(vectors[8], 2)} == {7, 8}
    index.put(8, vectors[9])  # replacing moves the vector, not adds a second
    assert len(index) == 300


def test_pseudonyms_differ_by_salt_and_weeks_are_iso() -> None:
    assert keyed_hash(b"a" * 32, "user") != keyed_hash(b"b" * 32, "user")
    assert keyed_hash(b"a" * 32, "user") == keyed_hash(b"a" * 32, "user")
    assert iso_week(date(2026, 12, 31)) == "2026-W53"
    assert iso_week(date(2027, 1, 4)) == "2027-W01"


@pytest.mark.parametrize(
    ("region", "week", "field"),
    [
        ("nowhere", "2026-W10", "region"),
        ("eu-west", "2026-10", "week"),
        ("eu-west", "2026-W99", "week"),
        ("eu-west", "2026-W50", "week"),  # after "today" below
        ("eu-west", "1999-W10", "week"),
    ],
)
def test_bad_cohorts_name_their_field(region: str, week: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_cohort(region, week, date(2026, 12, 1))
    assert refused.value.field == field


def test_a_cohort_is_normalised() -> None:
    assert check_cohort(" EU-West ", "2026-W01", date(2026, 12, 1)) == ("eu-west", "2026-W01")


def test_the_release_is_noisy_around_the_truth_and_checked_by_opendp() -> None:
    sums = CohortSums(
        1000, 300.0, -200.0, 500.0, dict(zip(QUADRANTS, (400, 300, 200, 100), strict=True))
    )
    releases = [noisy_release(sums, 1.0) for _ in range(30)]
    people = [r["people"] for r in releases]
    assert len(set(people)) > 1  # noise is there
    assert abs(float(np.mean(people)) - 1000) < 10
    assert abs(float(np.mean([r["energy"] for r in releases])) - 0.3) < 0.05
    assert abs(float(np.mean([r["pleasantness"] for r in releases])) + 0.2) < 0.05
    shares = releases[0]["quadrants"]
    assert sum(shares.values()) == pytest.approx(1.0)
    assert releases[0]["scales"]["people"] == pytest.approx(5.0)  # 1 / (ε / 5)
    with pytest.raises(ValueError, match="epsilon"):
        noisy_release(sums, 0.0)
