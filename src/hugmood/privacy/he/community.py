"""Community cohorts: devices' encrypted contributions, summed by the server, released noisy.

A contribution is one packed record under the decryption service's key: intensity, energy,
pleasantness, a count of 1 and a one-hot mood quadrant. The server multiplies the
ciphertexts of a cohort (region × day) and never holds a key. Only the decryption service
can open a cohort sum, and it releases only sums of at least k contributions, with Laplace
noise from OpenDP (`release`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import opendp.prelude as dp

from hugmood.domain.vocabulary import MOODS, Quadrant
from hugmood.privacy.he import aggregate
from hugmood.privacy.he.ciphertexts import Ciphertext, from_wire
from hugmood.privacy.he.errors import SlotOverflow, ValueOutOfRange
from hugmood.privacy.he.keys import PublicKey
from hugmood.privacy.he.packing import FieldSpec, RecordLayout
from hugmood.privacy.he.sealing import Sealer

MIN_COHORT = 20
SCALE = 10_000
QUADRANTS = tuple(Quadrant)
COHORT_RECORD = RecordLayout(
    (
        FieldSpec("intensity", 36, SCALE, 0.0, 1.0),
        FieldSpec("energy", 36, SCALE, -1.0, 1.0),
        FieldSpec("pleasantness", 36, SCALE, -1.0, 1.0),
        FieldSpec("count", 24, 1, 0.0, 1.0),
        *(FieldSpec(q.value, 24, 1, 0.0, 1.0) for q in QUADRANTS),
    )
)


def contribute(sealer: Sealer, *, mood_type: str, intensity: float) -> Ciphertext:
    """A device's encrypted contribution of one check-in to its cohort."""
    word = MOODS.get(mood_type)
    if word is None:
        raise ValueOutOfRange(f"{mood_type!r} is not in the mood vocabulary")
    values: dict[str, float] = {q.value: 0 for q in QUADRANTS}
    values[word.quadrant.value] = 1
    values.update(intensity=intensity, energy=word.energy, pleasantness=word.pleasantness, count=1)
    return sealer.seal(COHORT_RECORD.encode(values))


@dataclass(slots=True)
class _Cohort:
    product: int = 1
    contributions: int = 0


class CohortSums:
    """The server's running product per cohort; it keeps no single contribution."""

    def __init__(self, public_key: PublicKey) -> None:
        self.public_key = public_key
        self._cohorts: dict[str, _Cohort] = {}
        self._lock = threading.Lock()

    def add(self, cohort: str, wire: Any) -> int:
        """Add one contribution (checked: the service's key, in range); the new count."""
        value = from_wire(self.public_key, wire).value
        with self._lock:
            state = self._cohorts.setdefault(cohort, _Cohort())
            if state.contributions >= COHORT_RECORD.max_additions:
                raise SlotOverflow(f"cohort {cohort!r} is full")
            state.product = aggregate.add(self.public_key.nsquare, (state.product, value))
            state.contributions += 1
            return state.contributions

    def ready(self, k: int = MIN_COHORT) -> dict[str, tuple[int, int]]:
        """Cohorts with at least k contributions: name → (sum ciphertext, contributions)."""
        with self._lock:
            return {
                name: (c.product, c.contributions)
                for name, c in self._cohorts.items()
                if c.contributions >= k
            }

    def get(self, cohort: str) -> tuple[int, int]:
        with self._lock:
            state = self._cohorts.get(cohort, _Cohort())
            return state.product, state.contributions


@dataclass(frozen=True, slots=True)
class Release:
    """What leaves the decryption service: noisy sums, their noise scales, derived means."""

    cohort: str
    sums: dict[str, float]
    noise_scale: dict[str, float]
    epsilon: float

    @property
    def count(self) -> float:
        return self.sums["count"]

    def mean(self, name: str) -> float:
        low = COHORT_RECORD.index(name).low
        return self.sums[name] / max(self.sums["count"], 1.0) + low

    def to_json(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "sums": self.sums,
            "noiseScale": self.noise_scale,
            "epsilon": self.epsilon,
            "means": {n: self.mean(n) for n in ("intensity", "energy", "pleasantness")},
        }


_SCORES = ("intensity", "energy", "pleasantness")
_SHARES = ("count", *(q.value for q in QUADRANTS))


def release(cohort: str, raw: dict[str, int], epsilon: float) -> Release:
    """Laplace noise (OpenDP) on the decrypted raw sums, ε split evenly over four parts.

    Adding or removing one person's contribution moves each score sum by at most its
    range (intensity 1, energy and pleasantness 2, in value units), the count by 1 and the
    quadrant counts by 1 in total (one quadrant); each part gets ε/4 (basic composition).
    Score sums are released with the offset removed from the noisy sum relative to the
    (noisy) count, so `Release.mean` adds it back.
    """
    if not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueOutOfRange("epsilon must be a positive number")
    dp.enable_features("contrib")
    part = epsilon / 4
    sums: dict[str, float] = {}
    scales: dict[str, float] = {}
    for name in _SCORES:
        spec = COHORT_RECORD.index(name)
        sensitivity = spec.max_encoded
        scale = sensitivity / part
        noise = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale)
        if noise.map(sensitivity) > part + 1e-9:  # type: ignore[no-untyped-call]
            raise ValueOutOfRange("OpenDP reports more privacy loss than budgeted")
        sums[name] = noise(raw[name]) / spec.scale
        scales[name] = scale / spec.scale
    count_noise = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), 1 / part)
    sums["count"] = float(count_noise(raw["count"]))
    scales["count"] = 1 / part
    shares = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), 1 / part
    )
    for name, value in zip(_SHARES[1:], shares([raw[n] for n in _SHARES[1:]]), strict=True):
        sums[name] = float(value)
        scales[name] = 1 / part
    return Release(cohort, sums, scales, epsilon)
