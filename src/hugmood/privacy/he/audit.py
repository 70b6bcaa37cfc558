"""The decryption service's append-only audit log: one JSON line per decision, hash-chained.

Every release and every refusal is written (and fsynced) before the answer leaves the
service. Each line carries the SHA-256 of the line before it, so an edited, removed or
reordered line breaks the chain (`verify`); the log is also the privacy-budget ledger.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


class AuditLogBroken(Exception):
    """The log's hash chain does not hold: a line was altered, removed or reordered."""


def _digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def read(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def verify(path: Path) -> int:
    """The number of entries if the chain holds; AuditLogBroken naming the first bad line."""
    previous, count = GENESIS, 0
    if not path.exists():
        return 0
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            entry = json.loads(line)
            if entry.get("prev") != previous:
                raise AuditLogBroken(f"line {number} does not follow line {number - 1}")
            previous, count = _digest(line.rstrip(b"\n")), count + 1
    return count


class AuditLog:
    """Appends chained entries; safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._last = GENESIS
        if path.exists():
            verify(path)
            with path.open("rb") as f:
                for line in f:
                    if line.strip():
                        self._last = _digest(line.rstrip(b"\n"))

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            record = {**entry, "prev": self._last}
            line = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            self._last = _digest(line)
            return record
