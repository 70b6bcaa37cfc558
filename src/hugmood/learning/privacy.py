"""Differential privacy for federated rounds: each update clipped to a norm bound, Gaussian
noise on the aggregate (central), and Google's `dp-accounting` RDP accountant tracking
(epsilon, delta) over the rounds a model has seen.

Each person contributes at most one update a round, so the guarantee is per person. No
amplification by sampling is claimed (who takes part in a round is not a random sample the
coordinator draws), which makes the accounting conservative: `rounds` compositions of the
Gaussian mechanism with the same noise multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass

import dp_accounting
import numpy as np

from hugmood.learning.model import Vector

EPSILON_BUDGET = 8.0
"""No version is published whose training spent more than this."""


def clip(delta: Vector, norm_bound: float) -> Vector:
    """The update scaled down to norm at most `norm_bound` (unchanged if already within)."""
    norm = float(np.linalg.norm(delta))
    return delta if norm <= norm_bound else delta * (norm_bound / norm)


def delta_for(participants: int) -> float:
    """The delta the accounting uses: 1/participants, as the budget rule allows at most."""
    if participants < 1:
        raise ValueError("need at least one participant")
    return 1.0 / participants


def epsilon(noise_multiplier: float, rounds: int, delta: float) -> float:
    """Epsilon spent after `rounds` Gaussian-mechanism rounds with this noise multiplier."""
    if rounds == 0:
        return 0.0
    accountant = dp_accounting.rdp.RdpAccountant()
    event = dp_accounting.GaussianDpEvent(noise_multiplier)
    accountant.compose(dp_accounting.SelfComposedDpEvent(event, rounds))
    return float(accountant.get_epsilon(delta))


@dataclass(frozen=True, slots=True)
class GaussianAggregate:
    """Weighted, clipped updates summed with Gaussian noise, the weights' sum noised alike.

    A client's row is (w·clip(Δ, C), w·C) with its weight w = min(samples, weight_cap) /
    weight_cap in (0, 1], so one person moves the summed row by at most √2·C: the noise's
    standard deviation is the noise multiplier times that. The mean is the noisy sum over the
    noisy total weight, which keeps FedAvg's weighting by sample counts under DP.
    """

    norm_bound: float
    noise_multiplier: float
    weight_cap: int = 50

    def row(self, delta: Vector, samples: int) -> Vector:
        """What one client contributes to the (securely) summed vector."""
        weight = min(samples, self.weight_cap) / self.weight_cap
        return np.concatenate([weight * clip(delta, self.norm_bound), [weight * self.norm_bound]])

    def sensitivity(self) -> float:
        return float(np.sqrt(2.0) * self.norm_bound)

    def noised_mean(self, summed_rows: Vector, rng: np.random.Generator) -> Vector:
        """The mean update from the sum of `row`s, with the noise added to the sum."""
        noisy = summed_rows + rng.normal(
            0.0, self.noise_multiplier * self.sensitivity(), size=summed_rows.shape
        )
        total_weight = max(float(noisy[-1]) / self.norm_bound, 1.0)
        return noisy[:-1] / total_weight
