"""Secure aggregation, SecAgg+ style (Bonawitz et al. 2017; Bell et al. 2020): the coordinator
learns the sum of the clients' vectors and nothing about any one of them.

Each client masks its fixed-point vector (mod 2^64) with a self mask and with pairwise masks
shared with its neighbours in a ring graph (every other client when the graph is complete).
Pairwise seeds are agreed with X25519 and HKDF; masks are ChaCha20 key streams. Each client
splits its self-mask seed and the seed of its X25519 masking key with Shamir's scheme among
its neighbours, so that after dropouts the coordinator can remove a dropped client's pairwise
masks (from its key's shares) and a survivor's self mask (from its seed's shares), never both
for one client.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from Crypto.Protocol.SecretSharing import Shamir
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Words = npt.NDArray[np.uint64]
SCALE = 2.0**24
"""Fixed-point scale: 2^64 / 2^24 leaves room to sum a million vectors of values below 2^19."""
_NONCE = bytes(16)  # every seed keys one stream only, so a fixed nonce is safe


class UnmaskingRefused(ValueError):
    """A client refused a request that would reveal what the protocol must keep secret."""


def to_fixed(vector: npt.NDArray[np.float64]) -> Words:
    return np.round(vector * SCALE).astype(np.int64).view(np.uint64)


def from_fixed(words: Words) -> npt.NDArray[np.float64]:
    return words.view(np.int64).astype(np.float64) / SCALE


def expand(seed: bytes, length: int) -> Words:
    """`length` pseudorandom words from a 32-byte seed (the ChaCha20 key stream)."""
    encryptor = Cipher(algorithms.ChaCha20(seed, _NONCE), mode=None).encryptor()
    return np.frombuffer(encryptor.update(bytes(8 * length)), dtype=np.uint64).copy()


def neighbours(index: int, clients: int, degree: int) -> list[int]:
    """The clients `index` shares masks with: `degree // 2` on each side in a ring, or every
    other client when the degree reaches the population (the complete graph)."""
    if degree >= clients - 1:
        return [j for j in range(clients) if j != index]
    half = max(1, degree // 2)
    return sorted({(index + d) % clients for d in range(-half, half + 1) if d != 0})


def threshold(degree: int) -> int:
    """Shares needed to rebuild a secret: a majority of the neighbours."""
    return degree // 2 + 1


def _split(secret: bytes, k: int, n: int) -> list[tuple[int, bytes]]:
    """Shamir shares of a secret of 16 or 32 bytes (pycryptodome shares 16-byte secrets: a
    32-byte one is shared as its two halves at the same indices)."""
    halves = [Shamir.split(k, n, secret[at : at + 16]) for at in range(0, len(secret), 16)]
    return [(parts[0][0], b"".join(s for _, s in parts)) for parts in zip(*halves, strict=True)]


def _combine(shares: list[tuple[int, bytes]]) -> bytes:
    size = len(shares[0][1])
    return b"".join(
        Shamir.combine([(i, s[at : at + 16]) for i, s in shares]) for at in range(0, size, 16)
    )


def _self_mask(seed: bytes, length: int) -> Words:
    """The self mask from a 16-byte seed (128 bits, shared with one Shamir split)."""
    key = HKDF(hashes.SHA256(), 32, salt=None, info=b"hugmood secagg self mask").derive(seed)
    return expand(key, length)


def _pair_seed(own: X25519PrivateKey, other: bytes, context: bytes) -> bytes:
    shared = own.exchange(X25519PublicKey.from_public_bytes(other))
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"hugmood secagg " + context).derive(shared)


@dataclass(frozen=True, slots=True)
class MaskingKey:
    """A device's X25519 masking key for one round, derived (HKDF-SHA256) from a 16-byte
    seed: the seed is what is shared with Shamir's scheme, in one split (a raw 32-byte key
    would take two), so rebuilding a dropped device's key is one combine."""

    seed: bytes
    private: X25519PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes) -> MaskingKey:
        raw = HKDF(hashes.SHA256(), 32, salt=None, info=b"hugmood secagg masking key").derive(seed)
        return cls(seed, X25519PrivateKey.from_private_bytes(raw))

    @classmethod
    def generate(cls) -> MaskingKey:
        return cls.from_seed(os.urandom(16))

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes_raw()


@dataclass(frozen=True, slots=True)
class ShareBundle:
    """What client `owner` gives neighbour `holder`: shares of its self-mask seed and key."""

    owner: int
    holder: int
    seed_share: tuple[int, bytes]
    key_share: tuple[int, bytes]


@dataclass(frozen=True, slots=True)
class SealedBundle:
    """A `ShareBundle` as it travels through the coordinator: encrypted to its holder with
    ChaCha20-Poly1305 under a key agreed between the two devices' transport keys, so the
    coordinator that relays every bundle can read none."""

    owner: int
    holder: int
    ciphertext: bytes


def _bundle_cipher(
    own: X25519PrivateKey, other: bytes, context: bytes, owner: int, holder: int
) -> ChaCha20Poly1305:
    shared = own.exchange(X25519PublicKey.from_public_bytes(other))
    info = b"hugmood secagg bundle " + context + f" {owner}->{holder}".encode()
    return ChaCha20Poly1305(HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(shared))


def _bundle_aad(context: bytes, owner: int, holder: int) -> bytes:
    return context + f" {owner}->{holder}".encode()


@dataclass
class Client:
    """One device's side of a round (`context` names the round, so seeds differ per round)."""

    index: int
    clients: int
    degree: int
    context: bytes
    _key: MaskingKey = field(default_factory=MaskingKey.generate)
    _transport: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)
    """A key of its own for the bundles: the masking key may be revealed if this client
    drops, and must not open what it sent or received."""
    _seed: bytes = field(default_factory=lambda: os.urandom(16))
    _held: dict[int, ShareBundle] = field(default_factory=dict)
    _revealed: dict[int, str] = field(default_factory=dict)

    @property
    def public_key(self) -> bytes:
        return self._key.public

    @property
    def neighbours(self) -> list[int]:
        return neighbours(self.index, self.clients, self.degree)

    @property
    def transport_key(self) -> bytes:
        return self._transport.public_key().public_bytes_raw()

    def share(self, transport_keys: dict[int, bytes]) -> list[SealedBundle]:
        """Shares of this client's seed and key, one bundle sealed to each neighbour (the
        key's share travels only inside a bundle; a key is one key per bundle and direction,
        so the fixed nonce is never reused)."""
        near = self.neighbours
        k = threshold(len(near))
        seeds = _split(self._seed, k, len(near))
        keys = _split(self._key.seed, k, len(near))
        out: list[SealedBundle] = []
        for holder, (si, s), (ki, key) in zip(near, seeds, keys, strict=True):
            plain = si.to_bytes(2, "big") + s + ki.to_bytes(2, "big") + key
            cipher = _bundle_cipher(
                self._transport, transport_keys[holder], self.context, self.index, holder
            )
            aad = _bundle_aad(self.context, self.index, holder)
            out.append(SealedBundle(self.index, holder, cipher.encrypt(_NONCE[:12], plain, aad)))
        return out

    def hold(self, sealed: SealedBundle, transport_keys: dict[int, bytes]) -> None:
        """Open and keep a neighbour's bundle; refused when it is not for this client, comes
        from no neighbour, or was altered on the way."""
        if sealed.holder != self.index or sealed.owner not in self.neighbours:
            raise ValueError("that bundle is not for this client")
        cipher = _bundle_cipher(
            self._transport, transport_keys[sealed.owner], self.context, sealed.owner, self.index
        )
        try:
            plain = cipher.decrypt(
                _NONCE[:12], sealed.ciphertext, _bundle_aad(self.context, sealed.owner, self.index)
            )
        except InvalidTag:
            raise ValueError("that bundle was altered or sealed to another client") from None
        seed_share = (int.from_bytes(plain[:2], "big"), plain[2:18])
        key_share = (int.from_bytes(plain[18:20], "big"), plain[20:])
        self._held[sealed.owner] = ShareBundle(sealed.owner, self.index, seed_share, key_share)

    @classmethod
    def with_keys(
        cls,
        index: int,
        clients: int,
        degree: int,
        context: bytes,
        *,
        key: MaskingKey,
        transport: X25519PrivateKey,
    ) -> Client:
        """A client whose keys were made (and announced) before its index was known."""
        return cls(index, clients, degree, context, _key=key, _transport=transport)

    def masked(self, vector: Words, public_keys: dict[int, bytes]) -> Words:
        """The vector plus its self mask and its pairwise masks (added towards higher
        indices, subtracted towards lower), all mod 2^64. Neighbours missing from
        `public_keys` (they never shared their secrets) get no mask, as in Bonawitz's U2."""
        out = vector + _self_mask(self._seed, len(vector))
        for j in self.neighbours:
            if j not in public_keys:
                continue
            mask = expand(_pair_seed(self._key.private, public_keys[j], self.context), len(vector))
            out = out + mask if j > self.index else out - mask
        return out

    def reveal(self, survivors: set[int], dropped: set[int]) -> list[tuple[int, str, bytes]]:
        """The shares the coordinator asks for after the masked inputs: of each surviving
        neighbour's seed and each dropped neighbour's key. Refused when the two sets meet, when
        this client is not a survivor, or when a neighbour's other secret was revealed before:
        so no client's seed and key are both ever revealed by this client."""
        if survivors & dropped or self.index not in survivors:
            raise UnmaskingRefused("survivors and dropped clients must be disjoint")
        out: list[tuple[int, str, bytes]] = []
        for owner, bundle in self._held.items():
            kind = "seed" if owner in survivors else "key" if owner in dropped else None
            if kind is None:
                continue
            if self._revealed.get(owner, kind) != kind:
                raise UnmaskingRefused(f"client {owner}'s other secret was already revealed")
            self._revealed[owner] = kind
            share = bundle.seed_share if kind == "seed" else bundle.key_share
            out.append((owner, kind, share[0].to_bytes(2, "big") + share[1]))
        return out


class UnmaskingFailed(RuntimeError):
    """Too few shares survived to remove some client's masks: the round's sum is lost."""


def _combine_all(jobs: list[list[tuple[int, bytes]]]) -> list[bytes]:
    """Many rebuilds in one task (a pool's worker pays the pickling once per chunk)."""
    return [_combine(shares) for shares in jobs]


def unmask(
    masked: dict[int, Words],
    reveals: list[list[tuple[int, str, bytes]]],
    public_keys: dict[int, bytes],
    *,
    clients: int,
    degree: int,
    context: bytes,
    pool: Executor | None = None,
    workers: int = 1,
) -> Words:
    """The sum of the survivors' vectors from their masked inputs and the revealed shares.
    The Shamir rebuilds (nearly all the time: pure-Python GF(2^128)) are independent, so
    with `pool` they are spread over its `workers` processes."""
    length = len(next(iter(masked.values())))
    total = np.zeros(length, dtype=np.uint64)
    for words in masked.values():
        total = total + words
    shares: dict[tuple[int, str], list[tuple[int, bytes]]] = {}
    for answer in reveals:
        for owner, kind, blob in answer:
            shares.setdefault((owner, kind), []).append((int.from_bytes(blob[:2], "big"), blob[2:]))
    survivors = set(masked)
    # Dropped: neighbours of survivors that shared their secrets (are in `public_keys`).
    dropped = {j for i in survivors for j in neighbours(i, clients, degree)} - survivors
    dropped &= set(public_keys)
    owners = sorted(survivors | dropped)
    jobs: list[list[tuple[int, bytes]]] = []
    for owner in owners:
        kind = "seed" if owner in survivors else "key"
        needed = threshold(len(neighbours(owner, clients, degree)))
        got = shares.get((owner, kind), [])
        if len(got) < needed:
            raise UnmaskingFailed(f"too few shares of client {owner}'s {kind}")
        jobs.append(got[:needed])
    if pool is None or workers < 2:
        secrets = _combine_all(jobs)
    else:
        size = -(-len(jobs) // workers)
        chunks = [jobs[at : at + size] for at in range(0, len(jobs), size)]
        secrets = [s for part in pool.map(_combine_all, chunks) for s in part]
    for owner, secret in zip(owners, secrets, strict=True):
        if owner in survivors:
            total = total - _self_mask(secret, length)
            continue
        key = MaskingKey.from_seed(secret).private
        for j in neighbours(owner, clients, degree):
            if j in survivors:
                mask = expand(_pair_seed(key, public_keys[j], context), length)
                # survivor j applied +mask if owner > j, -mask otherwise: undo that
                total = total - mask if owner > j else total + mask
    return total


def secure_sum(
    vectors: dict[int, npt.NDArray[np.float64]],
    *,
    clients: int,
    degree: int,
    drop_after_sharing: set[int],
    context: bytes = b"round",
) -> npt.NDArray[np.float64]:
    """One whole round in process: every client in `vectors` shares its secrets, those in
    `drop_after_sharing` then vanish, the rest send masked inputs and answer the unmasking.
    Returns the exact sum of the survivors' vectors (to fixed-point precision)."""
    parties = {i: Client(i, clients, degree, context) for i in vectors}
    if len(parties) != clients:
        raise ValueError("every client index must have a vector")
    public_keys = {i: c.public_key for i, c in parties.items()}
    transport_keys = {i: c.transport_key for i, c in parties.items()}
    for client in parties.values():
        for sealed in client.share(transport_keys):
            parties[sealed.holder].hold(sealed, transport_keys)
    survivors = set(parties) - drop_after_sharing
    masked = {i: parties[i].masked(to_fixed(vectors[i]), public_keys) for i in survivors}
    reveals = [parties[i].reveal(survivors, drop_after_sharing) for i in survivors]
    total = unmask(masked, reveals, public_keys, clients=clients, degree=degree, context=context)
    return from_fixed(total)
