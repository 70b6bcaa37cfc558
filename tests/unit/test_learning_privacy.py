"""Clipping, the DP aggregate and the accountant (against dp-accounting called directly)."""

from __future__ import annotations

import dp_accounting
import numpy as np
import pytest

from hugmood.learning.privacy import GaussianAggregate, clip, delta_for, epsilon


@pytest.mark.parametrize(("sigma", "rounds", "participants"), [(4.0, 50, 1000), (1.1, 10, 60)])
def test_our_epsilon_is_the_rdp_accountants_for_the_same_mechanism(
    sigma: float, rounds: int, participants: int
) -> None:
    delta = delta_for(participants)
    accountant = dp_accounting.rdp.RdpAccountant()
    for _ in range(rounds):
        accountant.compose(dp_accounting.GaussianDpEvent(sigma))
    assert epsilon(sigma, rounds, delta) == pytest.approx(accountant.get_epsilon(delta))
    assert delta <= 1 / participants


def test_fifty_rounds_at_noise_multiplier_four_stay_within_epsilon_eight() -> None:
    assert epsilon(4.0, 50, delta_for(1000)) < 8.0
    assert epsilon(4.0, 0, 1e-3) == 0.0


def test_an_update_is_clipped_to_the_norm_bound_and_a_small_one_is_untouched() -> None:
    assert np.linalg.norm(clip(np.full(4, 10.0), 1.0)) == pytest.approx(1.0)
    small = np.array([0.1, 0.2])
    assert np.array_equal(clip(small, 1.0), small)


def test_the_noised_mean_keeps_sample_weighting_and_one_persons_row_is_bounded() -> None:
    dp = GaussianAggregate(norm_bound=1.0, noise_multiplier=1e-9, weight_cap=50)
    a, b = np.array([0.5, 0.0]), np.array([0.0, 0.5])
    rows = [dp.row(a, 50), dp.row(b, 25)]
    assert max(np.linalg.norm(dp.row(np.full(2, 9.0), 500)), np.linalg.norm(rows[0])) <= (
        dp.sensitivity() + 1e-12
    )
    mean = dp.noised_mean(np.sum(rows, axis=0), np.random.default_rng(0))
    assert np.allclose(mean, [0.5 * 2 / 3, 0.5 / 3])
