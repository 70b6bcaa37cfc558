"""Community cohorts: devices' encrypted contributions, checked one by one, released noisy.

A contribution is one record under the decryption service's key: intensity, energy,
pleasantness, a count of 1, a one-hot mood quadrant, and a random tag with its SHA-256 check
(`contribute`). The server holds no key: it keeps the ciphertexts of each cohort (region ×
day). Only the decryption service opens them; it opens each contribution and keeps only the
well-formed ones (`open_contribution`), at most one per tag, so a contribution cannot weigh
more than one person's check-in, then releases sums of at least k valid contributions with
Laplace noise from OpenDP (`release`). Why one by one and not the homomorphic sum: decision
0020, "Bounded contributions".
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import opendp.prelude as dp

from hugmood.domain.vocabulary import MOODS, Quadrant
from hugmood.privacy.he.ciphertexts import Ciphertext
from hugmood.privacy.he.errors import (
    InvalidContribution,
    SlotOverflow,
    ValueOutOfRange,
)
from hugmood.privacy.he.packing import FieldSpec, RecordLayout
from hugmood.privacy.he.sealing import Sealer

MIN_COHORT = 20
MAX_CONTRIBUTIONS = 20_000
"""The most contributions one release may carry (each is one decryption, ~5–10 ms)."""
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
TAG_BITS = 128
CHECK_BITS = 128
_DOMAIN = b"hugmood/community-contribution/v1"


def contribution_check(cohort: str, record: int, tag: int) -> int:
    """SHA-256 over the cohort, the record and the tag, cut to CHECK_BITS."""
    digest = hashlib.sha256(
        b"\0".join(
            (
                _DOMAIN,
                cohort.encode("utf-8"),
                record.to_bytes((COHORT_RECORD.record_bits + 7) // 8, "big"),
                tag.to_bytes(TAG_BITS // 8, "big"),
            )
        )
    ).digest()
    return int.from_bytes(digest[: CHECK_BITS // 8], "big")


def contribution_plaintext(cohort: str, *, mood_type: str, intensity: float) -> int:
    """The plaintext of one check-in's contribution: record | tag | check, lowest bits first."""
    word = MOODS.get(mood_type)
    if word is None:
        raise ValueOutOfRange(f"{mood_type!r} is not in the mood vocabulary")
    values: dict[str, float] = {q.value: 0 for q in QUADRANTS}
    values[word.quadrant.value] = 1
    values.update(intensity=intensity, energy=word.energy, pleasantness=word.pleasantness, count=1)
    record = COHORT_RECORD.encode(values)
    tag = secrets.randbits(TAG_BITS)
    bits = COHORT_RECORD.record_bits
    return record | tag << bits | contribution_check(cohort, record, tag) << (bits + TAG_BITS)


def contribute(sealer: Sealer, cohort: str, *, mood_type: str, intensity: float) -> Ciphertext:
    """A device's encrypted contribution of one check-in to `cohort`."""
    return sealer.seal(contribution_plaintext(cohort, mood_type=mood_type, intensity=intensity))


def open_contribution(cohort: str, plaintext: int) -> tuple[int, dict[str, int]]:
    """(tag, raw slots) of one decrypted contribution, or InvalidContribution.

    Valid means: nothing above the check, the check matches the cohort, record and tag, a
    count of exactly 1, exactly one quadrant, and every score within its range. Paillier is
    malleable: from a ciphertext it did not make, anyone can make the encryption of a·m + δ
    for a and δ of their choosing (powers and products), but nothing else. a ≠ 1 gives a
    count ≠ 1; δ ≠ 0 changes the record or the tag, and the check that goes with them is a
    SHA-256 output of a random tag nobody but the device knew (a chance of 2^-128 to hit).
    A contribution encrypted with a value out of range by its own device fails the range
    checks. So what survives is an unaltered honest-format record; copies of it share a tag.
    """
    bits = COHORT_RECORD.record_bits
    record = plaintext & ((1 << bits) - 1)
    tag = (plaintext >> bits) & ((1 << TAG_BITS) - 1)
    check = plaintext >> (bits + TAG_BITS)
    if check != contribution_check(cohort, record, tag):
        raise InvalidContribution("the contribution's check does not match (altered or forged)")
    raw = COHORT_RECORD.decode(record)
    if raw["count"] != 1:
        raise InvalidContribution(f"a contribution counts 1, not {raw['count']}")
    if sorted(raw[q.value] for q in QUADRANTS) != [0] * (len(QUADRANTS) - 1) + [1]:
        raise InvalidContribution("a contribution names exactly one mood quadrant")
    for spec in COHORT_RECORD.fields:
        if raw[spec.name] > spec.max_encoded:
            raise InvalidContribution(f"{spec.name} is out of range")
    return tag, raw


@dataclass(frozen=True, slots=True)
class CohortTally:
    """The clear sums of a cohort's valid contributions, and what was dropped and why."""

    sums: dict[str, int]
    valid: int
    invalid: int
    duplicates: int


class Tally:
    """Adds up decrypted contributions as they come (a release may arrive in parts): the valid
    ones, each tag once (copies of one contribution count once)."""

    def __init__(self, cohort: str) -> None:
        self.cohort = cohort
        self._sums = {spec.name: 0 for spec in COHORT_RECORD.fields}
        self._seen: set[int] = set()
        self._invalid = self._duplicates = 0

    @property
    def opened(self) -> int:
        return len(self._seen) + self._invalid + self._duplicates

    def add(self, plaintexts: Iterable[int]) -> None:
        for plaintext in plaintexts:
            try:
                tag, raw = open_contribution(self.cohort, plaintext)
            except (InvalidContribution, SlotOverflow):
                self._invalid += 1
                continue
            if tag in self._seen:
                self._duplicates += 1
                continue
            self._seen.add(tag)
            for name, value in raw.items():
                self._sums[name] += value

    def result(self) -> CohortTally:
        return CohortTally(dict(self._sums), len(self._seen), self._invalid, self._duplicates)


def tally(cohort: str, plaintexts: Iterable[int]) -> CohortTally:
    """Sum the valid contributions of a whole cohort at once (`Tally`)."""
    counting = Tally(cohort)
    counting.add(plaintexts)
    return counting.result()


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
