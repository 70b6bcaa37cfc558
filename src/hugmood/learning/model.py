"""The on-device mood model: multinomial logistic regression for the quadrant and a linear
regression for the intensity, over the encoded context (`features`), in NumPy.

All parameters live in one flat vector, the unit that federated rounds average, clip, noise
and mask. Training is minibatch gradient descent; a personal copy is a few local epochs on top
of the global parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hugmood.domain.vocabulary import Quadrant
from hugmood.learning.features import FEATURES, QUADRANTS

Vector = npt.NDArray[np.float64]
CLASSES = len(QUADRANTS)
PARAMETERS = FEATURES * CLASSES + CLASSES + FEATURES + 1
"""Quadrant weights and biases, then intensity weights and bias."""
INTENSITY_WEIGHT = 1.0
"""How much the intensity's squared error weighs against the quadrant's cross-entropy."""
L2 = 1e-3


@dataclass(frozen=True, slots=True)
class Examples:
    """Encoded check-ins: features, the quadrant's index in `QUADRANTS`, intensity (0..1)."""

    x: npt.NDArray[np.float64]
    quadrant: npt.NDArray[np.int64]
    intensity: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def take(self, rows: npt.NDArray[np.int64] | slice) -> Examples:
        return Examples(self.x[rows], self.quadrant[rows], self.intensity[rows])

    @staticmethod
    def concat(parts: list[Examples]) -> Examples:
        return Examples(
            np.concatenate([p.x for p in parts]),
            np.concatenate([p.quadrant for p in parts]),
            np.concatenate([p.intensity for p in parts]),
        )


@dataclass(frozen=True, slots=True)
class Metrics:
    examples: int
    accuracy: float
    """Share of check-ins whose quadrant was the most likely one."""
    loss: float
    """Mean cross-entropy plus weighted squared intensity error (what training lowers)."""
    intensity_error: float
    """Mean absolute error of the intensity."""


@dataclass(frozen=True, slots=True)
class Prediction:
    probabilities: dict[Quadrant, float]
    intensity: float

    @property
    def quadrant(self) -> Quadrant:
        return max(self.probabilities, key=lambda q: self.probabilities[q])


def initial_parameters() -> Vector:
    """Version 0 of the global model: every quadrant equally likely, intensity 0.5."""
    theta = np.zeros(PARAMETERS, dtype=np.float64)
    theta[-1] = 0.5
    return theta


def _unpack(theta: Vector) -> tuple[Vector, Vector, Vector, float]:
    if theta.shape != (PARAMETERS,):
        raise ValueError(f"parameters must have shape ({PARAMETERS},), not {theta.shape}")
    w = theta[: FEATURES * CLASSES].reshape(FEATURES, CLASSES)
    b = theta[FEATURES * CLASSES : FEATURES * CLASSES + CLASSES]
    v = theta[FEATURES * CLASSES + CLASSES : -1]
    return w, b, v, float(theta[-1])


def _probabilities(theta: Vector, x: Vector) -> tuple[Vector, Vector]:
    w, b, v, c = _unpack(theta)
    logits = x @ w + b
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return p, x @ v + c


def loss_and_gradient(theta: Vector, data: Examples) -> tuple[float, Vector]:
    """The mean loss over `data` (with L2 on the weights) and its gradient."""
    n = len(data)
    if n == 0:
        return 0.0, np.zeros_like(theta)
    w, _, v, _ = _unpack(theta)
    p, intensity = _probabilities(theta, data.x)
    rows = np.arange(n)
    cross_entropy = -np.log(np.maximum(p[rows, data.quadrant], 1e-12)).mean()
    residual = intensity - data.intensity
    loss = cross_entropy + INTENSITY_WEIGHT * 0.5 * float(residual @ residual) / n
    loss += 0.5 * L2 * (float((w * w).sum()) + float(v @ v))
    d_logits = p.copy()
    d_logits[rows, data.quadrant] -= 1.0
    d_logits /= n
    d_intensity = INTENSITY_WEIGHT * residual / n
    gradient = np.concatenate(
        [
            (data.x.T @ d_logits + L2 * w).ravel(),
            d_logits.sum(axis=0),
            data.x.T @ d_intensity + L2 * v,
            [d_intensity.sum()],
        ]
    )
    return float(loss), gradient


def train(
    theta: Vector,
    data: Examples,
    *,
    epochs: int,
    learning_rate: float = 0.5,
    batch_size: int = 32,
    rng: np.random.Generator,
) -> Vector:
    """Parameters after `epochs` passes of minibatch gradient descent over shuffled `data`."""
    theta = theta.copy()
    n = len(data)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            _, gradient = loss_and_gradient(theta, data.take(order[start : start + batch_size]))
            theta -= learning_rate * gradient
    return theta


def evaluate(theta: Vector, data: Examples) -> Metrics:
    if len(data) == 0:
        return Metrics(0, 0.0, 0.0, 0.0)
    loss, _ = loss_and_gradient(theta, data)
    p, intensity = _probabilities(theta, data.x)
    accuracy = float((p.argmax(axis=1) == data.quadrant).mean())
    error = float(np.abs(np.clip(intensity, 0.0, 1.0) - data.intensity).mean())
    return Metrics(len(data), accuracy, loss, error)


def predict(theta: Vector, x: Vector) -> Prediction:
    """The quadrant probabilities and intensity for one encoded context."""
    p, intensity = _probabilities(theta, x.reshape(1, -1))
    return Prediction(
        {q: float(p[0, i]) for i, q in enumerate(QUADRANTS)},
        float(np.clip(intensity[0], 0.0, 1.0)),
    )


def fine_tune(
    global_theta: Vector, data: Examples, *, epochs: int = 3, rng: np.random.Generator
) -> Vector:
    """A personal copy: a few local epochs on the person's own check-ins, from the global model
    (a smaller step, so that a few dozen check-ins adjust it rather than replace it)."""
    return train(global_theta, data, epochs=epochs, learning_rate=0.2, rng=rng)
