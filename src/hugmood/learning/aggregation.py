"""Combining clients' model updates: validation, federated averaging weighted by sample
counts, and the robust options (coordinate-wise trimmed mean and median)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hugmood.learning.model import PARAMETERS, Vector
from hugmood.learning.strategy import Strategy


class UpdateRejected(ValueError):
    """An update that will not be counted, with a code a device can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Update:
    """One client's contribution to a round: its local parameters minus the global ones."""

    client: str
    version: int
    delta: Vector
    samples: int


def validate(update: Update, *, version: int, norm_bound: float) -> None:
    """Raise `UpdateRejected` unless the update is for `version`, has the model's shape, holds
    only finite numbers, counts at least one sample and stays within `norm_bound`."""
    if update.version != version:
        raise UpdateRejected(
            "STALE_VERSION", f"update is for version {update.version}, current is {version}"
        )
    if update.delta.shape != (PARAMETERS,):
        raise UpdateRejected(
            "BAD_SHAPE", f"update has shape {update.delta.shape}, expected ({PARAMETERS},)"
        )
    if not np.all(np.isfinite(update.delta)):
        raise UpdateRejected("NOT_FINITE", "update holds NaN or infinite values")
    if update.samples < 1:
        raise UpdateRejected("NO_SAMPLES", "update must count at least one sample")
    norm = float(np.linalg.norm(update.delta))
    if norm > norm_bound:
        raise UpdateRejected(
            "NORM_TOO_LARGE", f"update norm {norm:.3g} exceeds the bound {norm_bound:.3g}"
        )


def aggregation_threshold(registered: int) -> int:
    """How many updates a round needs: 10 or 20% of the registered clients, whichever is less
    (at least one)."""
    return max(1, min(10, math.ceil(0.2 * registered)))


def fedavg(deltas: Sequence[Vector], samples: Sequence[int]) -> Vector:
    """The mean of the updates weighted by each client's number of samples."""
    if not deltas or len(deltas) != len(samples):
        raise ValueError("need one sample count for each of at least one update")
    weights = np.asarray(samples, dtype=np.float64)
    mean: Vector = (weights @ np.stack(deltas)) / weights.sum()
    return mean


def trimmed_mean(deltas: Sequence[Vector], trim: float = 0.1) -> Vector:
    """For each coordinate, the mean after dropping the `trim` share of highest and lowest."""
    if not 0 <= trim < 0.5:
        raise ValueError("trim must be in [0, 0.5)")
    stacked = np.sort(np.stack(deltas), axis=0)
    cut = int(trim * len(deltas))
    mean: Vector = stacked[cut : len(deltas) - cut].mean(axis=0)
    return mean


def median(deltas: Sequence[Vector]) -> Vector:
    """The coordinate-wise median."""
    return np.median(np.stack(deltas), axis=0)


def aggregate(strategy: Strategy, deltas: Sequence[Vector], samples: Sequence[int]) -> Vector:
    if strategy is Strategy.FEDAVG:
        return fedavg(deltas, samples)
    if strategy is Strategy.TRIMMED_MEAN:
        return trimmed_mean(deltas)
    return median(deltas)
