"""The device side: encrypt packed records with precomputed randomness, and decrypt results.

A Paillier encryption is (1 + n)^m · rⁿ mod n². The costly part, rⁿ mod n², does not depend
on m, so the device computes a pool of them while idle (`precompute`) and an encryption at
check-in time is then one multiplication. Both halves are python-paillier's own operations
(`raw_encrypt` with r = 1 gives (1 + n)^m; `get_random_lt_n` and `powmod` give rⁿ), only
done at different times, exactly as its `EncryptedNumber.obfuscate` does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from phe.util import mulmod, powmod

from hugmood.privacy.he.ciphertexts import Ciphertext, check_value
from hugmood.privacy.he.errors import ForeignCiphertext, ValueOutOfRange
from hugmood.privacy.he.keys import PrivateKey, PublicKey, fingerprint


def obfuscator(public_key: PublicKey) -> int:
    """One fresh random factor rⁿ mod n², as `EncryptedNumber.obfuscate` computes it.

    It is as secret as the plaintext it will hide (dividing the ciphertext by it leaves
    (1 + n)^m, which gives m away), and it must hide one plaintext only: two ciphertexts with
    the same factor divide into the encryption of their difference with no randomness.
    """
    return int(powmod(public_key.get_random_lt_n(), public_key.n, public_key.nsquare))


def check_obfuscator(public_key: PublicKey, factor: int) -> int:
    """`factor` if it can be a random factor for this key (a unit modulo n²), else
    MalformedCiphertext: a pool read back from storage is checked before it is used."""
    return check_value(public_key, factor)


class Sealer:
    """Encrypts plaintext integers under one public key, drawing on a pool of rⁿ mod n²."""

    def __init__(self, public_key: PublicKey, factors: Iterable[int] = ()) -> None:
        self.public_key = public_key
        self.key_id = fingerprint(public_key)
        self._pool: deque[int] = deque(check_obfuscator(public_key, f) for f in factors)

    @property
    def pooled(self) -> int:
        return len(self._pool)

    def precompute(self, count: int) -> None:
        """Compute `count` random factors now (offline, e.g. while the device charges)."""
        for _ in range(count):
            self._pool.append(obfuscator(self.public_key))

    def _obfuscator(self) -> int:
        if self._pool:
            # Each factor is used once: reusing r would let anyone divide two ciphertexts.
            return self._pool.popleft()
        return obfuscator(self.public_key)

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
