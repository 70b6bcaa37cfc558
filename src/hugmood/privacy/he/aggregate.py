"""The server side: add ciphertexts without any key, and pack several results into one.

Adding Paillier plaintexts is multiplying ciphertexts modulo n² (python-paillier's
`EncryptedNumber._raw_add`); here the product runs on gmpy2 integers in one loop instead of
one Python object per value. Multiplying a plaintext by 2^b is raising its ciphertext to 2^b,
which shifts a whole record left by b bits: that is how several bucket results are packed
into one ciphertext, so the device decrypts once per plaintext, not once per bucket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Executor

import gmpy2

from hugmood.privacy.he.keys import PublicKey


def add(nsquare: int, values: Iterable[int]) -> int:
    """The ciphertext of the sum of the plaintexts of `values` (their product mod n²).

    The ciphertexts must already be checked (`ciphertexts.check_value`); the empty sum is 1,
    the encryption of 0 with r = 1 (not hiding, but it stands for "no entries", which the
    caller knows anyway).
    """
    modulus = gmpy2.mpz(nsquare)
    acc = gmpy2.mpz(1)
    for value in values:
        acc = gmpy2.f_mod(acc * value, modulus)
    return int(acc)


def _add_chunk(args: tuple[int, list[int]]) -> int:
    nsquare, values = args
    return add(nsquare, values)


def add_spread(nsquare: int, values: Sequence[int], executor: Executor, *, parts: int) -> int:
    """`add` split into `parts` slices run on `executor` (a process pool), then combined."""
    if parts <= 1 or len(values) < 2 * parts:
        return add(nsquare, values)
    size = -(-len(values) // parts)
    chunks = [(nsquare, list(values[i : i + size])) for i in range(0, len(values), size)]
    return add(nsquare, executor.map(_add_chunk, chunks))


def pack(public_key: PublicKey, ciphertexts: Sequence[int], record_bits: int) -> list[int]:
    """Pack record ciphertexts side by side: result j holds records j·m … j·m + m − 1.

    m = (|n| − 1) // record_bits records fit in one plaintext. Horner's rule keeps it to
    (m − 1)·record_bits squarings per packed ciphertext:
    c₀ · (c₁ · (c₂ · …)^(2^b))^(2^b).
    The records' slots must not have overflowed (the caller enforces `max_additions`), or a
    carry would spill into the next record.
    """
    per = (public_key.n.bit_length() - 1) // record_bits
    modulus = gmpy2.mpz(public_key.nsquare)
    shift = gmpy2.mpz(1) << record_bits
    packed = []
    for start in range(0, len(ciphertexts), per):
        group = ciphertexts[start : start + per]
        acc = gmpy2.mpz(group[-1])
        for value in reversed(group[:-1]):
            acc = gmpy2.f_mod(gmpy2.powmod(acc, shift, modulus) * value, modulus)
        packed.append(int(acc))
    return packed
