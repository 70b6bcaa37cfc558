"""One-off measurement for decision 0020: threshold decryption with the two libraries on PyPI
that offer it, against our single key holder (python-paillier, 3072 bits).

Not a benchmark of `bench/` (neither library installs beside HugMood on Python 3.11; see the
decision). Run each part in its own scratch environment, 3 parties on this machine:

  python3.10 -m venv /tmp/fhe && /tmp/fhe/bin/pip install openfhe==1.6.1.0.22.4
  /tmp/fhe/bin/python docs/decisions/measurements/threshold_decryption.py openfhe

  python3.11 -m venv /tmp/tno && /tmp/tno/bin/pip install tno.mpc.protocols.distributed_keygen==4.3.0 \
      "tno.mpc.encryption_schemes.utils[gmpy]<0.16" "tno.mpc.communication>=4.8,<5"
  /tmp/tno/bin/python docs/decisions/measurements/threshold_decryption.py tno --bits 1024

  .venv/bin/python docs/decisions/measurements/threshold_decryption.py phe
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} ms"


def openfhe_multiparty(parties: int, rounds: int) -> None:
    """OpenFHE multiparty CKKS: n-of-n key, encrypt, add, partial decryptions and fusion."""
    import openfhe as fhe  # type: ignore[import-not-found]

    params = fhe.CCParamsCKKSRNS()
    params.SetMultiplicativeDepth(1)
    params.SetScalingModSize(50)
    params.SetBatchSize(8)
    params.SetSecurityLevel(fhe.SecurityLevel.HEStd_128_classic)
    cc = fhe.GenCryptoContext(params)
    for feature in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE, fhe.MULTIPARTY):
        cc.Enable(feature)
    started = time.perf_counter()
    keys = [cc.KeyGen()]
    for _ in range(parties - 1):
        keys.append(cc.MultipartyKeyGen(keys[-1].publicKey))
    keygen = time.perf_counter() - started
    public = keys[-1].publicKey
    values = [0.5, 0.25, 0.75, 1.0]
    enc, add, partial, fuse = [], [], [], []
    for _ in range(rounds):
        t = time.perf_counter()
        ct = cc.Encrypt(public, cc.MakeCKKSPackedPlaintext(values))
        enc.append(time.perf_counter() - t)
        t = time.perf_counter()
        total = cc.EvalAdd(ct, ct)
        add.append(time.perf_counter() - t)
        t = time.perf_counter()
        shares = [cc.MultipartyDecryptLead([total], keys[0].secretKey)[0]]
        shares += [cc.MultipartyDecryptMain([total], k.secretKey)[0] for k in keys[1:]]
        partial.append((time.perf_counter() - t) / parties)
        t = time.perf_counter()
        result = cc.MultipartyDecryptFusion(shares)
        fuse.append(time.perf_counter() - t)
    result.SetLength(len(values))
    got = [round(v.real, 3) for v in result.GetCKKSPackedValue()]
    size = len(fhe.Serialize(total, fhe.BINARY)) if hasattr(fhe, "Serialize") else -1
    print(
        f"openfhe {fhe.__version__ if hasattr(fhe, '__version__') else ''} CKKS ring "
        f"{cc.GetRingDimension()}, {parties} parties: keygen {keygen * 1000:.0f} ms, "
        f"encrypt {_ms(enc)}, add {_ms(add)}, partial decryption {_ms(partial)} a party, "
        f"fusion {_ms(fuse)}; ciphertext {size} B; 2x{values} -> {got}"
    )


async def tno_distributed(parties: int, bits: int, rounds: int) -> None:
    """TNO's distributed key generation and threshold decryption of Paillier, over HTTP."""
    from tno.mpc.communication import Pool  # type: ignore[import-not-found]
    from tno.mpc.protocols.distributed_keygen import (  # type: ignore[import-not-found]
        DistributedPaillier,
    )

    base = 38_000
    pools = []
    for i in range(parties):
        pool = Pool()
        pool.add_http_server(port=base + i)
        for j in range(parties):
            if j != i:
                pool.add_http_client(f"p{j}", "127.0.0.1", base + j)
        pools.append(pool)
    await asyncio.sleep(1)  # every party's server listening before the first message
    started = time.perf_counter()
    schemes: Any = await asyncio.gather(
        *(
            DistributedPaillier.from_security_parameter(
                pool, 1, bits, 2000, 40, 40, distributed=False
            )
            for pool in pools
        )
    )
    keygen = time.perf_counter() - started
    dec = []
    for n in range(rounds):
        ct = schemes[0].encrypt(n + 1)
        t = time.perf_counter()
        outs = await asyncio.gather(*(s.decrypt(ct) for s in schemes))
        dec.append(time.perf_counter() - t)
        assert all(o == n + 1 for o in outs), outs
    print(
        f"tno distributed Paillier {bits} bits, {parties} parties (t=1), all on this machine: "
        f"keygen {keygen:.1f} s, one joint decryption {_ms(dec)}"
    )
    for pool in pools:
        await pool.shutdown()


def phe_single(rounds: int) -> None:
    from phe import paillier

    public, private = paillier.generate_paillier_keypair(n_length=3072)
    samples = []
    for n in range(rounds):
        ct = public.encrypt(n)
        t = time.perf_counter()
        assert private.decrypt(ct) == n
        samples.append(time.perf_counter() - t)
    print(f"python-paillier 3072 bits, one key holder: one decryption {_ms(samples)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("library", choices=("openfhe", "tno", "phe"))
    parser.add_argument("--parties", type=int, default=3)
    parser.add_argument("--bits", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.library == "openfhe":
        openfhe_multiparty(args.parties, args.rounds)
    elif args.library == "tno":
        asyncio.run(tno_distributed(args.parties, args.bits, args.rounds))
    else:
        phe_single(args.rounds)
    sys.exit(0)
