"""The device's pool of precomputed Paillier random factors (rⁿ mod n²), kept in its vault.

Computing rⁿ mod n² is nearly all of an encryption's cost and does not depend on the value,
so the device computes factors while it has time (`hugmood sealed precompute`, and in the
background of `hugmood sync`) and a sealed check-in then costs one multiplication. A factor
is as secret as the score it hides, so the pool lives sealed in the vault; and it must hide
one score only, so `take` removes it from the vault, durably, before handing it out. A lock
file beside the vault makes that take atomic between processes sharing one vault.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from hugmood.client.vault import Vault
from hugmood.privacy.he.errors import HomomorphicError
from hugmood.privacy.he.keys import PublicKey, fingerprint
from hugmood.privacy.he.sealing import check_obfuscator, obfuscator

POOL_SETTING = "sealing_pool"
TARGET = 32
"""Factors a refill aims for: a month of daily sealed check-ins, ~25 KB in the vault."""
MAX_POOL = 1024
LOW_WATER = 4
"""A sync leaves at least this many, computing past the sync's end if it must (~0.5 s)."""


class SealingPool:
    """The vault's factors for one public key (a pool made for another key is ignored)."""

    def __init__(self, vault: Vault, public_key: PublicKey) -> None:
        self._vault = vault
        self.public_key = public_key
        self._key_id = fingerprint(public_key)
        self._lock_path = vault.path.with_name(vault.path.name + ".sealing-lock")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _read(self) -> list[int]:
        text = self._vault.setting(POOL_SETTING)
        if text is None:
            return []
        try:
            stored = json.loads(text)
            if stored.get("key") != self._key_id:
                return []  # made for an earlier key: useless (and harmless) now
            return [check_obfuscator(self.public_key, int(f, 16)) for f in stored["factors"]]
        except (ValueError, TypeError, KeyError, AttributeError, HomomorphicError):
            # A damaged pool is dropped, never used: a fresh factor is always safe.
            return []

    def _write(self, factors: list[int]) -> None:
        value = json.dumps({"key": self._key_id, "factors": [format(f, "x") for f in factors]})
        self._vault.set_settings({POOL_SETTING: value if factors else None})

    def size(self) -> int:
        return len(self._read())

    def add(self, factors: list[int]) -> int:
        """Append freshly computed factors (up to MAX_POOL); the pool's new size."""
        with self._locked():
            pool = (self._read() + factors)[:MAX_POOL]
            self._write(pool)
            return len(pool)

    def take(self) -> int | None:
        """One factor, gone from the vault before it is returned; None if the pool is empty."""
        with self._locked():
            pool = self._read()
            if not pool:
                return None
            factor = pool.pop(0)
            self._write(pool)
        return factor

    def top_up(self, target: int = TARGET) -> int:
        """Compute factors until the pool holds `target`; how many were added."""
        missing = max(0, min(target, MAX_POOL) - self.size())
        if missing:
            self.add([obfuscator(self.public_key) for _ in range(missing)])
        return missing


def _factor(n: int) -> int:
    """One random factor for the key with modulus `n` (run in the refill process)."""
    return obfuscator(PublicKey(n))


class Refill:
    """Factors being computed in another process while a sync runs (`refilling`)."""

    def __init__(self, futures: list[Future[int]]) -> None:
        self._futures = futures

    def ready(self) -> int:
        return sum(f.done() and not f.cancelled() and f.exception() is None for f in self._futures)

    def collect(self) -> list[int]:
        return [
            f.result()
            for f in self._futures
            if f.done() and not f.cancelled() and f.exception() is None
        ]


@contextmanager
def refilling(
    pool: SealingPool, *, target: int = TARGET, low_water: int = LOW_WATER
) -> Iterator[Refill]:
    """Compute factors in a process of their own while the body runs (a sync, waiting on the
    network), store what is ready when it ends, then make sure at least `low_water` are there.

    A process, not a thread: gmpy2 holds the interpreter's lock for a whole exponentiation, so
    a thread would stall the sync's network loop for up to one factor (~0.1 s) at a time.
    """
    have = pool.size()
    wanted = max(0, min(target, MAX_POOL) - have)
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
    refill = Refill([executor.submit(_factor, pool.public_key.n) for _ in range(wanted)])
    try:
        yield refill
    finally:
        # What has not started is dropped; the one factor under way finishes in the
        # background (its process exits with this one).
        executor.shutdown(wait=False, cancel_futures=True)
        made = refill.collect()
        while have + len(made) < min(low_water, target):
            made.append(obfuscator(pool.public_key))
        if made:
            pool.add(made)
