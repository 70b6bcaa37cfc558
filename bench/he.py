"""Homomorphic analytics (python-paillier, 3072-bit): server sums, a sealed year, device costs.

Run: `.venv/bin/python bench/he.py [--quick]`; one JSON object a line. Baselines, measured in
the same run: python-paillier's own objects (`EncryptedNumber` + loop, `encrypt`, one
`decrypt` per bucket) and, for the year, the history computed in clear.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phe import paillier

from _common import emit, machine_params
from hugmood.application.queries.moods import bucket
from hugmood.client.crypto import FAST_FOR_TESTS
from hugmood.client.sealing_pool import TARGET as POOL_TARGET
from hugmood.client.sealing_pool import SealingPool
from hugmood.client.vault import Vault
from hugmood.domain.history import Aggregation
from hugmood.domain.vocabulary import MOODS
from hugmood.privacy.he import aggregate
from hugmood.privacy.he.ciphertexts import Ciphertext
from hugmood.privacy.he.history import (
    MOOD_RECORD,
    compute_sealed_history,
    open_history,
    seal_check_in,
)
from hugmood.privacy.he.keys import PrivateKey, PublicKey, generate_keypair
from hugmood.privacy.he.packing import FieldSpec, RecordLayout
from hugmood.privacy.he.sealing import Sealer, unseal

T = TypeVar("T")

SCORE = RecordLayout((FieldSpec("score", 48, 10_000, 0.0, 1.0),))
"""One score a slot, 48 bits (14 bits of value, 34 of headroom): 63 slots a plaintext."""


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    """The best of `repeat` wall-clock timings of `fn`, and its last result."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result  # repeat >= 1, so result is bound


def many_ciphertexts(
    public_key: PublicKey, sealer: Sealer, plaintexts: list[int], fresh: int
) -> list[int]:
    """Valid encryptions (1 + n)^m · (r_i)ⁿ at one multiplication each, the rⁿ factors
    precomputed (`fresh` of them, reused round-robin: fine for timing additions, never for
    real data). Building them is not timed; only adding them is."""
    sealer.precompute(fresh)
    factors = [sealer._obfuscator() for _ in range(fresh)]
    n2 = public_key.nsquare
    return [
        public_key.raw_encrypt(m, r_value=1) * factors[i % fresh] % n2
        for i, m in enumerate(plaintexts)
    ]


def bench_sums(
    public_key: PublicKey, private_key: PrivateKey, n: int, params: dict[str, Any]
) -> None:
    rng = random.Random(1)
    scores = [rng.randrange(0, 10_001) for _ in range(n)]
    sealer = Sealer(public_key)
    values = many_ciphertexts(public_key, sealer, scores, fresh=64)
    objects = [paillier.EncryptedNumber(public_key, v, 0) for v in values]

    def phe_loop() -> paillier.EncryptedNumber:
        total = objects[0]
        for o in objects[1:]:
            total = total + o
        return total

    base_s, base_total = timed(phe_loop)
    ours_s, ours_total = timed(lambda: aggregate.add(public_key.nsquare, values))
    assert private_key.raw_decrypt(base_total.ciphertext(False)) == sum(scores)
    assert unseal(private_key, Ciphertext(sealer.key_id, ours_total)) == sum(scores)
    p = {**params, "values": n, "key_bits": 3072}
    emit(
        "he.sum",
        "sum_s",
        ours_s,
        "s",
        "phe EncryptedNumber + loop",
        base_s,
        p,
        lower_is_better=True,
        digits=3,
    )
    with ProcessPoolExecutor(2) as pool:
        aggregate.add_spread(public_key.nsquare, values[:1000], pool, parts=2)  # warm up
        spread_s, spread_total = timed(
            lambda: aggregate.add_spread(public_key.nsquare, values, pool, parts=2)
        )
    assert spread_total == ours_total or unseal(
        private_key, Ciphertext(sealer.key_id, spread_total)
    ) == sum(scores)
    emit(
        "he.sum",
        "sum_2_processes_s",
        spread_s,
        "s",
        "phe EncryptedNumber + loop",
        base_s,
        {**p, "processes": 2},
        lower_is_better=True,
        digits=3,
    )

    # Packed: a device uploads 63 scores a ciphertext (e.g. a batch of its days), so the
    # server multiplies n/63 ciphertexts; the device adds the 63 slot sums after decrypting.
    per = SCORE.records_per_plaintext(public_key.n.bit_length())
    packed_plain = SCORE.pack(scores, public_key.n.bit_length())
    packed = many_ciphertexts(public_key, sealer, packed_plain, fresh=64)
    packed_s, packed_total = timed(lambda: aggregate.add(public_key.nsquare, packed), 3)
    slots = SCORE.unpack(unseal(private_key, Ciphertext(sealer.key_id, packed_total)), per)
    assert sum(slots) == sum(scores)
    emit(
        "he.sum",
        "sum_packed_s",
        packed_s,
        "s",
        "phe EncryptedNumber + loop",
        base_s,
        {**p, "slots_per_ciphertext": per, "ciphertexts": len(packed)},
        lower_is_better=True,
        digits=4,
    )
    emit(
        "he.sum",
        "sum_packed_vs_unpacked_s",
        packed_s,
        "s",
        "ours, one score a ciphertext",
        ours_s,
        {**p, "slots_per_ciphertext": per},
        lower_is_better=True,
        digits=4,
    )


def bench_year(public_key: PublicKey, private_key: PrivateKey, params: dict[str, Any]) -> None:
    rng = random.Random(2)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    words = sorted(MOODS)
    rows = sorted(
        (
            int((start + timedelta(days=d, minutes=rng.randrange(0, 1440))).timestamp() * 1000),
            rng.choice(words),
            rng.randrange(0, 10_001) / 10_000,
        )
        for d in range(365)
        for _ in range(2)
    )
    sealer = Sealer(public_key)
    sealer.precompute(len(rows))
    entries = [(at, seal_check_in(sealer, mood_type=m, intensity=i).value) for at, m, i in rows]
    zone = ZoneInfo("Europe/Paris")
    p = {**params, "entries": len(rows), "aggregation": "day", "zone": "Europe/Paris"}
    clear_s, _ = timed(lambda: bucket(rows, Aggregation.DAY, zone), 3)
    server_s, sealed = timed(
        lambda: compute_sealed_history(public_key, entries, Aggregation.DAY, zone)
    )
    p["buckets"] = len(sealed.starts)
    emit(
        "he.year",
        "server_compute_ms",
        server_s * 1000,
        "ms",
        "same buckets in clear",
        clear_s * 1000,
        {**p, "ciphertexts_out": len(sealed.packed)},
        lower_is_better=True,
    )
    by_day: dict[int, list[int]] = {}
    for at, value in entries:
        by_day.setdefault(at // 86_400_000, []).append(value)
    sums_s, _ = timed(lambda: [aggregate.add(public_key.nsquare, v) for v in by_day.values()], 3)
    emit(
        "he.year",
        "server_sums_without_packing_ms",
        sums_s * 1000,
        "ms",
        "same buckets in clear",
        clear_s * 1000,
        p,
        lower_is_better=True,
    )
    device_s, opened = timed(lambda: open_history(private_key, sealed))
    assert len(opened) == len(sealed.starts)

    def one_per_bucket() -> None:
        for values in by_day.values():
            MOOD_RECORD.decode(private_key.raw_decrypt(aggregate.add(public_key.nsquare, values)))

    unpacked_s, _ = timed(one_per_bucket)
    emit(
        "he.year",
        "device_decrypt_ms",
        device_s * 1000,
        "ms",
        "one phe decryption per bucket (no packing)",
        unpacked_s * 1000,
        {**p, "decryptions": len(sealed.packed)},
        lower_is_better=True,
    )


def bench_encrypt(public_key: PublicKey, count: int, params: dict[str, Any]) -> None:
    sealer = Sealer(public_key)
    record = MOOD_RECORD.encode({"intensity": 0.5, "energy": 0.1, "pleasantness": -0.2, "count": 1})
    fresh_s, _ = timed(lambda: [sealer.seal(record) for _ in range(count)])
    pre_s, _ = timed(lambda: sealer.precompute(count))
    pooled_s, _ = timed(lambda: [sealer.seal(record) for _ in range(count)])
    base_s, _ = timed(lambda: [public_key.encrypt(0.5) for _ in range(count)])
    p = {**params, "encryptions": count}
    emit(
        "he.encrypt",
        "precomputed_ms",
        pooled_s / count * 1000,
        "ms",
        "phe encrypt (one score)",
        base_s / count * 1000,
        p,
        lower_is_better=True,
        digits=3,
    )
    emit(
        "he.encrypt",
        "fresh_randomness_ms",
        fresh_s / count * 1000,
        "ms",
        "phe encrypt (one score)",
        base_s / count * 1000,
        p,
        lower_is_better=True,
        digits=3,
    )
    emit(
        "he.encrypt",
        "precompute_offline_ms",
        pre_s / count * 1000,
        "ms",
        "phe encrypt (one score)",
        base_s / count * 1000,
        p,
        lower_is_better=True,
        digits=3,
    )


def bench_device_check_in(public_key: PublicKey, count: int, params: dict[str, Any]) -> None:
    """What `hugmood sealed add` spends on the device before its upload: with a factor taken
    from the vault's pool (read, removed and written back durably, then one multiplication)
    against computing a fresh one (no precomputation). The pool starts at `count` factors (in
    full mode the CLI's default, 32): a take rewrites the whole pool, so its cost grows with it."""
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-he-") as tmp:
        vault = Vault.create(Path(tmp) / "vault.db", "bench passphrase", kdf=FAST_FOR_TESTS)
        try:
            pool = SealingPool(vault, public_key)
            refill_s, _ = timed(lambda: pool.top_up(count))

            def pooled() -> None:
                for _ in range(count):
                    factor = pool.take()
                    assert factor is not None
                    sealer = Sealer(public_key, (factor,))
                    seal_check_in(sealer, mood_type="calm", intensity=0.5).to_wire(public_key)

            def fresh() -> None:
                for _ in range(count):
                    sealer = Sealer(public_key)
                    seal_check_in(sealer, mood_type="calm", intensity=0.5).to_wire(public_key)

            fresh_first_s, _ = timed(fresh)
            pooled_s, _ = timed(pooled)
            fresh_s, _ = timed(fresh)  # again after, so load drift shows in both
        finally:
            vault.close()
    baseline = min(fresh_first_s, fresh_s) / count * 1000
    p = {**params, "check_ins": count, "vault_fsync_each_take": True}
    emit(
        "he.device_check_in",
        "with_vault_pool_ms",
        pooled_s / count * 1000,
        "ms",
        "the same check-in with a fresh factor (no precomputation)",
        baseline,
        p,
        lower_is_better=True,
        digits=3,
    )
    emit(
        "he.device_check_in",
        "pool_refill_per_factor_ms",
        refill_s / count * 1000,
        "ms",
        "the same check-in with a fresh factor (no precomputation)",
        baseline,
        p,
        lower_is_better=True,
        digits=3,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 values instead of 100,000")
    args = parser.parse_args()
    params = {**machine_params(), "quick": args.quick}
    public_key, private_key = generate_keypair()
    bench_encrypt(public_key, 20 if args.quick else 100, params)
    bench_device_check_in(public_key, 20 if args.quick else POOL_TARGET, params)
    bench_sums(public_key, private_key, 10_000 if args.quick else 100_000, params)
    bench_year(public_key, private_key, params)


if __name__ == "__main__":
    main()
