"""The vault's pool of precomputed random factors: each hides one sealed check-in only, is
gone from the vault before it is used (also between processes sharing the vault), and is
refilled in the background of a sync."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hugmood.client import crypto
from hugmood.client.sealing_pool import POOL_SETTING, SealingPool, refilling
from hugmood.client.vault import Vault
from hugmood.privacy.he.history import MOOD_RECORD, seal_check_in
from hugmood.privacy.he.keys import PrivateKey, PublicKey, generate_keypair
from hugmood.privacy.he.sealing import Sealer, obfuscator, unseal

PASSPHRASE = "correct horse battery"


@pytest.fixture(scope="module")
def keys() -> tuple[PublicKey, PrivateKey]:
    return generate_keypair()


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = Vault.create(tmp_path / "vault.db", PASSPHRASE, kdf=crypto.FAST_FOR_TESTS)
    yield v
    v.close()


def test_each_factor_seals_one_check_in_and_leaves_the_vault_first(
    vault: Vault, keys: tuple[PublicKey, PrivateKey]
) -> None:
    public_key, private_key = keys
    pool = SealingPool(vault, public_key)
    assert pool.top_up(3) == 3 and pool.size() == 3
    factors = []
    for intensity in (0.2, 0.4, 0.6):
        factor = pool.take()
        assert factor is not None
        factors.append(factor)
        ciphertext = seal_check_in(
            Sealer(public_key, (factor,)), mood_type="calm", intensity=intensity
        )
        record = MOOD_RECORD.decode(unseal(private_key, ciphertext))
        assert record["intensity"] == round(intensity * 10_000)  # the score survives
    assert len(set(factors)) == 3
    assert pool.take() is None  # used up: the next check-in computes a fresh factor
    reopened = Vault.unlock(vault.path, PASSPHRASE)
    try:
        assert SealingPool(reopened, public_key).size() == 0  # durably gone, not just here
    finally:
        reopened.close()


def test_processes_sharing_a_vault_never_take_the_same_factor(
    vault: Vault, keys: tuple[PublicKey, PrivateKey]
) -> None:
    public_key, _ = keys
    SealingPool(vault, public_key).add([obfuscator(public_key) for _ in range(12)])
    vaults = [Vault.unlock(vault.path, PASSPHRASE) for _ in range(3)]  # three "processes"
    try:
        with ThreadPoolExecutor(3) as pool:
            taken = list(
                pool.map(lambda v: [SealingPool(v, public_key).take() for _ in range(5)], vaults)
            )
    finally:
        for v in vaults:
            v.close()
    factors = [f for batch in taken for f in batch if f is not None]
    assert len(factors) == 12 and len(set(factors)) == 12
    assert sum(f is None for batch in taken for f in batch) == 3


def test_a_pool_for_another_key_or_damaged_is_never_used(
    vault: Vault, keys: tuple[PublicKey, PrivateKey]
) -> None:
    public_key, _ = keys
    other, _ = generate_keypair()
    SealingPool(vault, other).add([obfuscator(other)])
    assert SealingPool(vault, public_key).take() is None
    vault.set_settings({POOL_SETTING: '{"key": "x", "factors": ["zz"]}'})
    assert SealingPool(vault, public_key).size() == 0
    vault.set_settings({POOL_SETTING: "not json"})
    assert SealingPool(vault, public_key).take() is None


def test_a_sync_refills_the_pool_while_it_waits_and_leaves_a_few_at_least(
    vault: Vault, keys: tuple[PublicKey, PrivateKey]
) -> None:
    public_key, private_key = keys
    pool = SealingPool(vault, public_key)
    with refilling(pool, target=6, low_water=2) as refill:
        deadline = time.monotonic() + 60
        while refill.ready() == 0:  # the body (a sync) runs while factors are computed
            assert time.monotonic() < deadline, "no factor computed in the background"
            time.sleep(0.02)
        assert pool.size() == 0  # they are stored when it ends
    assert 1 <= pool.size() <= 6
    factor = pool.take()
    assert factor is not None  # made in the other process, and a valid factor for this key
    sealed = Sealer(public_key, (factor,)).seal(7)
    assert unseal(private_key, sealed) == 7
    for _ in range(pool.size()):
        pool.take()
    with refilling(pool, target=6, low_water=2):
        pass  # a sync that returns at once still leaves the low-water mark
    assert pool.size() >= 2
