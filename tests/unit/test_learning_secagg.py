"""Secure aggregation: the exact sum despite dropouts, and the unmasking rules."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from Crypto.Protocol.SecretSharing import Shamir

from hugmood.learning import secagg


@pytest.mark.parametrize(("clients", "degree"), [(9, 8), (15, 6)])
def test_the_sum_is_exact_with_a_third_of_the_clients_dropped(clients: int, degree: int) -> None:
    rng = np.random.default_rng(clients)
    vectors = {i: rng.normal(size=40) for i in range(clients)}
    dropped = set(range(0, clients, 3))  # every third client vanishes after sharing
    total = secagg.secure_sum(vectors, clients=clients, degree=degree, drop_after_sharing=dropped)
    expected = sum(v for i, v in vectors.items() if i not in dropped)
    assert np.abs(total - expected).max() < 1e-6


def test_a_masked_input_alone_looks_nothing_like_the_vector() -> None:
    client = secagg.Client(0, 3, 2, b"r")
    others = [secagg.Client(i, 3, 2, b"r") for i in (1, 2)]
    keys = {0: client.public_key, **{c.index: c.public_key for c in others}}
    vector = secagg.to_fixed(np.zeros(16))
    masked = client.masked(vector, keys)
    assert np.count_nonzero(masked) == 16


def _ring(clients: int, degree: int) -> list[secagg.Client]:
    parties = [secagg.Client(i, clients, degree, b"r") for i in range(clients)]
    transport = {p.index: p.transport_key for p in parties}
    for party in parties:
        for sealed in party.share(transport):
            parties[sealed.holder].hold(sealed, transport)
    return parties


def test_a_client_never_reveals_both_secrets_of_one_neighbour() -> None:
    parties = _ring(5, 4)
    parties[0].reveal(survivors={0, 1, 2, 3}, dropped={4})  # shares of 4's key
    with pytest.raises(secagg.UnmaskingRefused, match="other secret"):
        parties[0].reveal(survivors={0, 1, 2, 3, 4}, dropped=set())  # now 4's seed
    with pytest.raises(secagg.UnmaskingRefused, match="disjoint"):
        parties[1].reveal(survivors={1, 2}, dropped={2})


def test_a_client_that_is_counted_as_dropped_answers_nothing() -> None:
    parties = _ring(5, 4)
    with pytest.raises(secagg.UnmaskingRefused):
        parties[3].reveal(survivors={0, 1, 2}, dropped={3, 4})


def test_fewer_shares_than_the_threshold_do_not_rebuild_a_secret() -> None:
    secret = bytes(range(16))
    shares = Shamir.split(3, 4, secret)
    assert Shamir.combine(shares[:3]) == secret
    assert Shamir.combine(shares[:2]) != secret
    assert secagg.threshold(4) == 3  # a majority of a client's neighbours


def test_unmasking_fails_clearly_when_too_many_neighbours_dropped() -> None:
    vectors = {i: np.ones(4) for i in range(5)}
    with pytest.raises(secagg.UnmaskingFailed, match="too few shares"):
        secagg.secure_sum(vectors, clients=5, degree=4, drop_after_sharing={0, 1, 2})


def test_a_coordinator_lying_about_who_dropped_cannot_gather_both_secrets_of_a_client() -> None:
    # Each holder reveals one kind per owner and rebuilding needs a majority of the owner's
    # neighbours, so two disjoint majorities (one for the seed, one for the key) cannot exist.
    parties = _ring(7, 6)
    owner = 6
    seed_shares = [p.reveal({0, 1, 2, 3, 6}, set()) for p in parties[:3]]
    key_shares = [p.reveal({3, 4, 5}, {owner}) for p in parties[3:6]]
    kinds = {kind for answer in seed_shares + key_shares for o, kind, _ in answer if o == owner}
    assert kinds == {"seed", "key"}
    seeds = sum(1 for a in seed_shares for o, k, _ in a if o == owner and k == "seed")
    keys = sum(1 for a in key_shares for o, k, _ in a if o == owner and k == "key")
    needed = secagg.threshold(6)
    assert seeds < needed or keys < needed


def test_share_bundles_pass_through_the_coordinator_sealed_and_unaltered() -> None:
    parties = [secagg.Client(i, 4, 3, b"r") for i in range(4)]
    transport = {p.index: p.transport_key for p in parties}
    sealed = parties[0].share(transport)
    key_seed = parties[0]._key.seed
    assert all(key_seed not in b.ciphertext for b in sealed)
    first = sealed[0]
    tampered = secagg.SealedBundle(
        first.owner, first.holder, bytes([first.ciphertext[0] ^ 1]) + first.ciphertext[1:]
    )
    with pytest.raises(ValueError, match="altered"):
        parties[first.holder].hold(tampered, transport)
    with pytest.raises(ValueError, match="not for this client"):
        parties[(first.holder + 1) % 4].hold(first, transport)
    parties[first.holder].hold(first, transport)


def test_rebuilds_spread_over_workers_give_the_same_sum() -> None:
    clients, degree = 12, 6
    parties = _ring(clients, degree)
    rng = np.random.default_rng(4)
    vectors = {p.index: rng.normal(size=10) for p in parties}
    dropped = {0, 5}
    survivors = set(vectors) - dropped
    keys = {p.index: p.public_key for p in parties}
    masked = {i: parties[i].masked(secagg.to_fixed(vectors[i]), keys) for i in survivors}
    reveals = [parties[i].reveal(survivors, dropped) for i in survivors]

    def unmask(pool: ThreadPoolExecutor | None, workers: int) -> np.ndarray:
        return secagg.unmask(
            masked,
            reveals,
            keys,
            clients=clients,
            degree=degree,
            context=b"r",
            pool=pool,
            workers=workers,
        )

    alone = unmask(None, 1)
    with ThreadPoolExecutor(3) as pool:
        spread = unmask(pool, 3)
    assert np.array_equal(alone, spread)
    expected = sum(vectors[i] for i in survivors)
    assert np.abs(secagg.from_fixed(spread) - expected).max() < 1e-6


def test_a_dropped_clients_masking_key_is_rebuilt_from_its_16_byte_seed() -> None:
    key = secagg.MaskingKey.generate()
    assert len(key.seed) == 16
    assert secagg.MaskingKey.from_seed(key.seed).public == key.public
