"""The Longfellow circuit: generated once (about 30 s), cached on disk, checked by its hash.

The circuit is a pure function of (spec version, number of attributes); pylongfellow's table
pins each one's SHA-256 id, so a cached file is accepted only if its id matches the table.
It is ~300 KB and machine-independent, so it lives in the data directory, not the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

from pylongfellow.backends import google_cpp
from pylongfellow.mdoc import CircuitError, Error

from hugmood.privacy.zk.errors import CircuitUnavailable

SPEC_VERSION = 7
NUM_ATTRIBUTES = 1
"""One claim per proof: `age_over_N = true`."""


def expected_id() -> str:
    for spec in google_cpp.zk_specs():
        if (spec.version, spec.num_attributes) == (SPEC_VERSION, NUM_ATTRIBUTES):
            return spec.circuit_hash
    raise CircuitUnavailable(
        f"pylongfellow has no circuit v{SPEC_VERSION} with {NUM_ATTRIBUTES} attribute"
    )


def circuit_path(cache_dir: Path) -> Path:
    return cache_dir / f"longfellow-v{SPEC_VERSION}-{NUM_ATTRIBUTES}-{expected_id()[:16]}.bin"


def read_cached(path: Path) -> bytes | None:
    """The circuit stored at `path` if it is whole and the one pylongfellow's table pins."""
    try:
        circuit = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        if google_cpp.circuit_id(circuit) == expected_id():
            return circuit
    except Error:
        pass  # unparseable: torn or altered, so it is regenerated
    return None


def load_or_generate(cache_dir: Path) -> bytes:
    """The circuit's bytes from `cache_dir`, generating and storing them the first time.

    Concurrent first calls (several processes) each generate and rename into place; the
    rename is atomic, so a reader sees a whole file or none.
    """
    path = circuit_path(cache_dir)
    want = expected_id()
    cached = read_cached(path)
    if cached is not None:
        return cached
    try:
        circuit = google_cpp.generate_circuit(SPEC_VERSION, NUM_ATTRIBUTES)
    except (CircuitError, ValueError) as e:
        raise CircuitUnavailable(f"generating the Longfellow circuit failed: {e}") from e
    if google_cpp.circuit_id(circuit) != want:
        raise CircuitUnavailable("the generated circuit does not match pylongfellow's table")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(circuit)
    tmp.replace(path)
    return circuit
