"""How a round combines its updates (a module of its own so the CLI names the choices without
loading NumPy)."""

from enum import StrEnum


class Strategy(StrEnum):
    FEDAVG = "fedavg"
    """Federated averaging weighted by sample counts (the only one under DP and secure sums)."""
    TRIMMED_MEAN = "trimmed-mean"
    """Coordinate-wise mean without the highest and lowest 10%."""
    MEDIAN = "median"
    """Coordinate-wise median."""
