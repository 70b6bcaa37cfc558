"""Sealed check-ins: packing, encryption with precomputed randomness, history on ciphertexts."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hugmood.application.queries.moods import bucket
from hugmood.domain.history import Aggregation
from hugmood.domain.vocabulary import MOODS
from hugmood.privacy.he import aggregate
from hugmood.privacy.he.ciphertexts import Ciphertext, from_wire
from hugmood.privacy.he.errors import (
    ForeignCiphertext,
    KeyTooSmall,
    MalformedCiphertext,
    MalformedKey,
    SlotOverflow,
    ValueOutOfRange,
)
from hugmood.privacy.he.history import (
    MOOD_RECORD,
    compute_sealed_history,
    open_history,
    seal_check_in,
)
from hugmood.privacy.he.keys import (
    PrivateKey,
    PublicKey,
    generate_keypair,
    private_key_from_json,
    private_key_to_json,
    public_key_from_json,
    public_key_to_json,
)
from hugmood.privacy.he.packing import FieldSpec, RecordLayout
from hugmood.privacy.he.sealing import Sealer, unseal


@pytest.fixture(scope="module")
def keys() -> tuple[PublicKey, PrivateKey]:
    return generate_keypair()


@pytest.fixture(scope="module")
def other_keys() -> tuple[PublicKey, PrivateKey]:
    return generate_keypair()


def test_keys_below_3072_bits_are_refused() -> None:
    with pytest.raises(KeyTooSmall, match="at least 3072"):
        generate_keypair(2048)


def test_keys_round_trip_through_json_and_mismatched_primes_are_refused(
    keys: tuple[PublicKey, PrivateKey],
) -> None:
    public, private = keys
    assert public_key_from_json(public_key_to_json(public)) == public
    data = private_key_to_json(private)
    assert private_key_from_json(data).p == private.p
    with pytest.raises(MalformedKey, match="do not match"):
        private_key_from_json({**data, "p": format(private.p + 2, "x")})


def test_a_layout_packs_and_unpacks_records_side_by_side() -> None:
    layout = RecordLayout((FieldSpec("a", 16, 100, -1.0, 1.0), FieldSpec("n", 8)))
    records = [layout.encode({"a": v, "n": 1}) for v in (-1.0, 0.25, 1.0)]
    (packed,) = layout.pack(records, modulus_bits=3072)
    assert [layout.decode(r) for r in layout.unpack(packed, 3)] == [
        {"a": 0, "n": 1},
        {"a": 125, "n": 1},
        {"a": 200, "n": 1},
    ]
    assert layout.index("a").decode_sum(125 + 200, 2) == pytest.approx(1.25)


@pytest.mark.parametrize("values", [{"a": 1.5, "n": 1}, {"a": 0.0}, {"a": 0.0, "n": 1, "x": 2}])
def test_a_layout_refuses_out_of_range_missing_and_unknown_fields(values: dict[str, float]) -> None:
    layout = RecordLayout((FieldSpec("a", 16, 100, -1.0, 1.0), FieldSpec("n", 8)))
    with pytest.raises(ValueOutOfRange):
        layout.encode(values)


def test_precomputed_and_fresh_encryptions_decrypt_to_the_same_plaintext(
    keys: tuple[PublicKey, PrivateKey],
) -> None:
    public, private = keys
    sealer = Sealer(public)
    sealer.precompute(2)
    pooled_a, pooled_b = sealer.seal(12345), sealer.seal(12345)
    assert sealer.pooled == 0
    fresh = sealer.seal(12345)
    assert len({pooled_a.value, pooled_b.value, fresh.value}) == 3  # each factor used once
    assert {unseal(private, c) for c in (pooled_a, pooled_b, fresh)} == {12345}


def test_the_server_adds_ciphertexts_into_the_sum_of_every_slot(
    keys: tuple[PublicKey, PrivateKey],
) -> None:
    public, private = keys
    sealer = Sealer(public)
    checkins = [("calm", 0.4), ("happy", 0.9), ("sad", 0.1)]
    values = [seal_check_in(sealer, mood_type=m, intensity=i).value for m, i in checkins]
    with ThreadPoolExecutor(2) as pool:
        total = aggregate.add_spread(public.nsquare, values * 4, pool, parts=2)
    sums = MOOD_RECORD.decode(unseal(private, Ciphertext(sealer.key_id, total)))
    assert sums["count"] == 12
    assert MOOD_RECORD.index("intensity").decode_sum(sums["intensity"], 12) == pytest.approx(5.6)
    expected_energy = 4 * sum(MOODS[m].energy for m, _ in checkins)
    assert MOOD_RECORD.index("energy").decode_sum(sums["energy"], 12) == pytest.approx(
        expected_energy
    )


def test_decrypted_sealed_history_equals_the_history_computed_in_clear(
    keys: tuple[PublicKey, PrivateKey],
) -> None:
    public, private = keys
    rng = random.Random(17)
    sealer = Sealer(public)
    sealer.precompute(10)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for _ in range(60):
        at = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 70))
        rows.append(
            (
                int(at.timestamp() * 1000),
                rng.choice(sorted(MOODS)),
                rng.randrange(0, 10001) / 10_000,
            )
        )
    rows.sort()
    entries = [(at, seal_check_in(sealer, mood_type=m, intensity=i).value) for at, m, i in rows]
    zone = ZoneInfo("Pacific/Auckland")
    for aggregation in (Aggregation.DAY, Aggregation.WEEK, Aggregation.MONTH):
        sealed = compute_sealed_history(public, entries, aggregation, zone)
        opened = open_history(private, sealed)
        clear = bucket(rows, aggregation, zone)
        assert [(b.start, b.count) for b in opened] == [(b.start, b.count) for b in clear]
        for got, want in zip(opened, clear, strict=True):
            # Exact sums; only a mean that ends in an exact half may round the other way
            # from the clear path's float sum, so the means agree to one unit of 1e-4.
            for name in ("mean_intensity", "mean_energy", "mean_pleasantness"):
                assert getattr(got, name) == pytest.approx(getattr(want, name), abs=1.01e-4)
        if aggregation is Aggregation.DAY:
            assert len(sealed.packed) < len(opened)  # several buckets per ciphertext


def test_wire_ciphertexts_under_another_key_or_malformed_are_refused(
    keys: tuple[PublicKey, PrivateKey], other_keys: tuple[PublicKey, PrivateKey]
) -> None:
    public, _ = keys
    other, _ = other_keys
    ours = Sealer(public).seal(7)
    assert from_wire(public, ours.to_wire(public)) == ours
    theirs = Sealer(other).seal(7)
    with pytest.raises(ForeignCiphertext, match="not this person's key"):
        from_wire(public, theirs.to_wire(other))
    wire = ours.to_wire(public)
    for bad in (
        {**wire, "c": "not base64!"},
        {**wire, "c": wire["c"][:-8]},
        Ciphertext(ours.key_id, 0).to_wire(public),
        Ciphertext(ours.key_id, public.n).to_wire(public),  # shares a factor with n
        "a string",
    ):
        with pytest.raises(MalformedCiphertext):
            from_wire(public, bad)


def test_a_bucket_over_the_slot_headroom_is_refused_before_adding(
    keys: tuple[PublicKey, PrivateKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    public, _ = keys
    small = RecordLayout((FieldSpec("count", 2, 1, 0.0, 1.0),))
    monkeypatch.setattr("hugmood.privacy.he.history.MOOD_RECORD", small)
    one = Sealer(public).seal(1).value
    with pytest.raises(SlotOverflow, match="at most 3"):
        compute_sealed_history(public, [(0, one)] * 4, Aggregation.DAY, ZoneInfo("UTC"))
