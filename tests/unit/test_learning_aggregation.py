"""Federated averaging, update validation, the robust options and the round threshold."""

from __future__ import annotations

import numpy as np
import pytest

from hugmood.learning.aggregation import (
    Update,
    UpdateRejected,
    aggregation_threshold,
    fedavg,
    median,
    trimmed_mean,
    validate,
)
from hugmood.learning.model import PARAMETERS


def test_fedavg_weights_each_update_by_its_sample_count() -> None:
    a, b = np.array([1.0, 0.0]), np.array([0.0, 4.0])
    # 30 samples and 10 samples: (30*[1,0] + 10*[0,4]) / 40 = [0.75, 1.0]
    assert np.allclose(fedavg([a, b], [30, 10]), [0.75, 1.0])


def test_robust_options_ignore_a_wild_minority() -> None:
    honest = [np.array([1.0, 2.0]) + 0.01 * i for i in range(9)]
    deltas = [*honest, np.array([1000.0, -1000.0])]
    assert abs(trimmed_mean(deltas, 0.1)[0] - 1.04) < 0.05
    assert abs(median(deltas)[1] - 2.045) < 0.01
    assert fedavg(deltas, [1] * 10)[0] > 90  # the plain mean is dragged away


def _update(delta: np.ndarray, *, version: int = 3, samples: int = 5) -> Update:
    return Update("device-a", version, delta, samples)


@pytest.mark.parametrize(
    ("update", "code"),
    [
        (_update(np.zeros(PARAMETERS), version=2), "STALE_VERSION"),
        (_update(np.zeros(PARAMETERS - 1)), "BAD_SHAPE"),
        (_update(np.full(PARAMETERS, np.nan)), "NOT_FINITE"),
        (_update(np.full(PARAMETERS, np.inf)), "NOT_FINITE"),
        (_update(np.zeros(PARAMETERS), samples=0), "NO_SAMPLES"),
        (_update(np.ones(PARAMETERS)), "NORM_TOO_LARGE"),
    ],
)
def test_a_bad_update_is_refused_with_a_reason(update: Update, code: str) -> None:
    with pytest.raises(UpdateRejected) as refused:
        validate(update, version=3, norm_bound=5.0)
    assert refused.value.code == code


def test_a_round_needs_ten_updates_or_a_fifth_of_the_registered_whichever_is_less() -> None:
    assert aggregation_threshold(1000) == 10
    assert aggregation_threshold(30) == 6
    assert aggregation_threshold(3) == 1
