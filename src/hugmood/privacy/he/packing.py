"""Fixed-point slots packed into one Paillier plaintext, so one addition adds many values.

A record is a row of fields (e.g. intensity, energy, pleasantness, count, one count per mood
word), each a fixed-point number in its own run of bits; records sit side by side in the
plaintext. Adding two ciphertexts adds every slot at once. Each slot keeps spare high bits
(its headroom) so sums never carry into the next slot; `max_additions` is the limit and the
server refuses to add more (`SlotOverflow`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hugmood.privacy.he.errors import SlotOverflow, ValueOutOfRange


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One slot: values in [low, high] stored as round((value - low) * scale) in `bits` bits."""

    name: str
    bits: int
    scale: int = 1
    low: float = 0.0
    high: float = 1.0

    @property
    def max_encoded(self) -> int:
        return round((self.high - self.low) * self.scale)

    def encode(self, value: float) -> int:
        if not self.low <= value <= self.high:
            raise ValueOutOfRange(
                f"{self.name} must be from {self.low} to {self.high} (got {value})"
            )
        return round((value - self.low) * self.scale)

    def decode_sum(self, raw: int, count: int) -> float:
        """The sum of `count` values whose encodings add up to `raw`."""
        return raw / self.scale + self.low * count


@dataclass(frozen=True)
class RecordLayout:
    """The fields of one record, lowest bits first."""

    fields: tuple[FieldSpec, ...]

    @property
    def record_bits(self) -> int:
        return sum(f.bits for f in self.fields)

    @property
    def max_additions(self) -> int:
        """How many records may be added before some slot could overflow."""
        return min(((1 << f.bits) - 1) // max(f.max_encoded, 1) for f in self.fields)

    def index(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def records_per_plaintext(self, modulus_bits: int) -> int:
        """Records that fit below a modulus of `modulus_bits` bits (a plaintext must be < n)."""
        return (modulus_bits - 1) // self.record_bits

    def encode(self, values: Mapping[str, float]) -> int:
        """One record as an integer; missing fields are refused, unknown ones too."""
        unknown = set(values) - {f.name for f in self.fields}
        if unknown:
            raise ValueOutOfRange(f"unknown fields: {', '.join(sorted(unknown))}")
        packed, shift = 0, 0
        for f in self.fields:
            if f.name not in values:
                raise ValueOutOfRange(f"{f.name} is missing")
            packed |= f.encode(values[f.name]) << shift
            shift += f.bits
        return packed

    def decode(self, packed: int) -> dict[str, int]:
        """The raw slot sums of one record (still fixed-point, offsets not removed)."""
        out: dict[str, int] = {}
        for f in self.fields:
            out[f.name] = packed & ((1 << f.bits) - 1)
            packed >>= f.bits
        if packed:
            raise SlotOverflow("the record has bits above its last slot: it overflowed")
        return out

    def pack(self, records: Sequence[int], modulus_bits: int) -> list[int]:
        """Put encoded records side by side, as many per plaintext as fit."""
        per = self.records_per_plaintext(modulus_bits)
        if per < 1:
            raise ValueOutOfRange(f"a {self.record_bits}-bit record does not fit the key")
        plaintexts = []
        for start in range(0, len(records), per):
            packed = 0
            for i, record in enumerate(records[start : start + per]):
                packed |= record << (i * self.record_bits)
            plaintexts.append(packed)
        return plaintexts

    def unpack(self, plaintext: int, count: int) -> list[int]:
        """The `count` records packed in one plaintext, lowest first."""
        mask = (1 << self.record_bits) - 1
        records = [(plaintext >> (i * self.record_bits)) & mask for i in range(count)]
        if plaintext >> (count * self.record_bits):
            raise SlotOverflow("the plaintext has bits above its last record: it overflowed")
        return records
