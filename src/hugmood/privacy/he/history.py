"""Sealed mood history: per-check-in records, bucket sums on ciphertexts, decryption on device.

A sealed check-in is one ciphertext of one record: intensity, energy and pleasantness in
fixed point (four decimals, as the domain rounds intensity) and a count of 1. The server sums
the records of each day, week or month bucket (the same local-time buckets as `moodHistory`)
and packs the sums 23 to a ciphertext; the device decrypts them into the same means as the
history computed in clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from hugmood.domain.history import Aggregation, bucket_start
from hugmood.domain.vocabulary import MOODS
from hugmood.privacy.he import aggregate
from hugmood.privacy.he.ciphertexts import Ciphertext
from hugmood.privacy.he.errors import SlotOverflow, ValueOutOfRange
from hugmood.privacy.he.keys import PrivateKey, PublicKey, fingerprint
from hugmood.privacy.he.packing import FieldSpec, RecordLayout
from hugmood.privacy.he.sealing import Sealer, unseal

SCALE = 10_000
MOOD_RECORD = RecordLayout(
    (
        FieldSpec("intensity", 36, SCALE, 0.0, 1.0),
        FieldSpec("energy", 36, SCALE, -1.0, 1.0),
        FieldSpec("pleasantness", 36, SCALE, -1.0, 1.0),
        FieldSpec("count", 20, 1, 0.0, 1.0),
    )
)
"""128 bits a record: 23 records in a 3072-bit plaintext; up to 2^20 − 1 entries a bucket."""


def seal_check_in(sealer: Sealer, *, mood_type: str, intensity: float) -> Ciphertext:
    """The device's sealed record of one check-in (energy and pleasantness from the word)."""
    word = MOODS.get(mood_type)
    if word is None:
        raise ValueOutOfRange(f"{mood_type!r} is not in the mood vocabulary")
    record = MOOD_RECORD.encode(
        {
            "intensity": intensity,
            "energy": word.energy,
            "pleasantness": word.pleasantness,
            "count": 1,
        }
    )
    return sealer.seal(record)


@dataclass(frozen=True, slots=True)
class SealedHistory:
    """Bucket sums, still encrypted: `packed[j]` holds the records of starts[j·m : j·m + m]."""

    key_id: str
    starts: tuple[date, ...]
    packed: tuple[int, ...]
    per_ciphertext: int


def compute_sealed_history(
    public_key: PublicKey,
    entries: Sequence[tuple[int, int]],
    aggregation: Aggregation,
    zone: ZoneInfo,
) -> SealedHistory:
    """Sum (recorded_at_ms, checked ciphertext) entries per bucket and pack the sums."""
    if aggregation is Aggregation.NONE:
        raise ValueOutOfRange("sealed history is computed per day, week or month")
    groups: dict[date, list[int]] = {}
    for at_ms, value in entries:
        groups.setdefault(bucket_start(at_ms, aggregation, zone), []).append(value)
    starts = sorted(groups)
    sums = []
    for start in starts:
        values = groups[start]
        if len(values) > MOOD_RECORD.max_additions:
            raise SlotOverflow(
                f"a bucket may hold at most {MOOD_RECORD.max_additions} sealed entries"
            )
        sums.append(aggregate.add(public_key.nsquare, values))
    per = MOOD_RECORD.records_per_plaintext(public_key.n.bit_length())
    packed = aggregate.pack(public_key, sums, MOOD_RECORD.record_bits)
    return SealedHistory(fingerprint(public_key), tuple(starts), tuple(packed), per)


@dataclass(frozen=True, slots=True)
class OpenedBucket:
    """One bucket decrypted on the device: the same numbers as `MoodBucket` (no dominant word)."""

    start: date
    count: int
    mean_intensity: float
    mean_energy: float
    mean_pleasantness: float


def open_history(private_key: PrivateKey, sealed: SealedHistory) -> list[OpenedBucket]:
    """Decrypt a sealed history on the device, oldest bucket first."""
    out: list[OpenedBucket] = []
    for j, value in enumerate(sealed.packed):
        starts = sealed.starts[j * sealed.per_ciphertext : (j + 1) * sealed.per_ciphertext]
        plaintext = unseal(private_key, Ciphertext(sealed.key_id, value))
        for start, record in zip(starts, MOOD_RECORD.unpack(plaintext, len(starts)), strict=True):
            sums = MOOD_RECORD.decode(record)
            count = sums["count"]
            if count == 0:
                raise SlotOverflow(f"the bucket of {start} decrypted to no entries")

            def mean(name: str, raw: dict[str, int] = sums, n: int = count) -> float:
                return round(MOOD_RECORD.index(name).decode_sum(raw[name], n) / n, 4)

            out.append(
                OpenedBucket(
                    start,
                    count,
                    mean("intensity"),
                    mean("energy"),
                    mean("pleasantness"),
                )
            )
    return out
