"""The device side: encrypt packed records with precomputed randomness, and decrypt results.

A Paillier encryption is (1 + n)^m · rⁿ mod n². The costly part, rⁿ mod n², does not depend
on m, so the device computes a pool of them while idle (`precompute`) and an encryption at
check-in time is then one multiplication. Both halves are python-paillier's own operations
(`raw_encrypt` with r = 1 gives (1 + n)^m; `get_random_lt_n` and `powmod` give rⁿ), only
done at different times, exactly as its `EncryptedNumber.obfuscate` does.
"""

from __future__ import annotations

from collections import deque

from phe.util import mulmod, powmod

from hugmood.privacy.he.ciphertexts import Ciphertext, check_value
from hugmood.privacy.he.errors import ForeignCiphertext, ValueOutOfRange
from hugmood.privacy.he.keys import PrivateKey, PublicKey, fingerprint


class Sealer:
    """Encrypts plaintext integers under one public key, drawing on a pool of rⁿ mod n²."""

    def __init__(self, public_key: PublicKey) -> None:
        self.public_key = public_key
        self.key_id = fingerprint(public_key)
        self._pool: deque[int] = deque()

    @property
    def pooled(self) -> int:
        return len(self._pool)

    def precompute(self, count: int) -> None:
        """Compute `count` random factors now (offline, e.g. while the device charges)."""
        pk = self.public_key
        for _ in range(count):
            self._pool.append(powmod(pk.get_random_lt_n(), pk.n, pk.nsquare))

    def _obfuscator(self) -> int:
        if self._pool:
            # Each factor is used once: reusing r would let anyone divide two ciphertexts.
            return self._pool.popleft()
        pk = self.public_key
        return int(powmod(pk.get_random_lt_n(), pk.n, pk.nsquare))

    def seal(self, plaintext: int) -> Ciphertext:
        """Encrypt one non-negative integer below n."""
        pk = self.public_key
        if not 0 <= plaintext < pk.n:
            raise ValueOutOfRange("a plaintext must be a non-negative integer below n")
        nude = pk.raw_encrypt(plaintext, r_value=1)
        return Ciphertext(self.key_id, int(mulmod(nude, self._obfuscator(), pk.nsquare)))


def unseal(private_key: PrivateKey, ciphertext: Ciphertext) -> int:
    """Decrypt a raw ciphertext (python-paillier's CRT decryption)."""
    if ciphertext.key_id != fingerprint(private_key.public_key):
        raise ForeignCiphertext(f"the result is under key {ciphertext.key_id!r}, not this key")
    check_value(private_key.public_key, ciphertext.value)
    return int(private_key.raw_decrypt(ciphertext.value))
