"""The simulated population: reproducible from its seed, and people who differ."""

from __future__ import annotations

import numpy as np

from hugmood.learning.simulation import simulate


def test_the_same_seed_gives_the_same_people_and_another_seed_other_people() -> None:
    a, b = simulate(12, validation_people=3, seed=8), simulate(12, validation_people=3, seed=8)
    assert all(
        np.array_equal(p.train.x, q.train.x)
        and np.array_equal(p.held_out.quadrant, q.held_out.quadrant)
        for p, q in zip(a.people, b.people, strict=True)
    )
    c = simulate(12, validation_people=3, seed=9)
    assert not np.array_equal(a.people[0].train.x, c.people[0].train.x)


def test_people_have_diaries_of_their_own_and_keep_their_latest_check_ins_aside() -> None:
    population = simulate(30, validation_people=5, seed=8)
    shares = [np.bincount(p.train.quadrant, minlength=4) / len(p.train) for p in population.people]
    assert np.std([s[1] for s in shares]) > 0.05  # how often each is in high spirits differs
    for person in population.people:
        assert len(person.held_out) >= 2
        assert len(person.held_out) < len(person.train)
    assert len(population.validation) > 0
