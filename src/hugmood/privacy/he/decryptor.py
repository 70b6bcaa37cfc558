"""The decryption service: its own process, its own key, reachable only on a private socket.

It holds the community key pair and answers two requests, one JSON line each, on a Unix
socket created 0600 in its directory (on one machine that socket is the internal mesh):
`public-key` (anyone on the socket: devices encrypt under it) and `release` (only the
aggregation job, proven by an HMAC under the job secret). A release carries a cohort's
contributions; the service opens each one, keeps the well-formed ones once each (so an
altered, out-of-range or copied contribution cannot pass for several people: decision 0020),
refuses fewer than k valid ones, spends privacy budget, adds OpenDP noise to the sums and
writes the audit log first. Single contributions are never logged, kept or answered.

Run it: `python -m hugmood.privacy.he.decryptor <directory>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hugmood.privacy.he import audit
from hugmood.privacy.he.ciphertexts import Ciphertext, from_wire
from hugmood.privacy.he.community import MAX_CONTRIBUTIONS, MIN_COHORT, Release, release, tally
from hugmood.privacy.he.errors import (
    BudgetExhausted,
    CohortTooSmall,
    DecryptionServiceUnavailable,
    HomomorphicError,
    NotAuthorised,
    ValueOutOfRange,
)
from hugmood.privacy.he.keys import (
    PrivateKey,
    PublicKey,
    fingerprint,
    generate_keypair,
    private_key_from_json,
    private_key_to_json,
    public_key_from_json,
    public_key_to_json,
)
from hugmood.privacy.he.sealing import unseal

SOCKET = "decryptor.sock"
KEY_FILE = "community-key.json"
SECRET_FILE = "job-secret"  # noqa: S105 - a file name, not a secret
AUDIT_FILE = "audit.jsonl"
MAX_LINE = 32 * 1024 * 1024
"""A release of MAX_CONTRIBUTIONS contributions is ~21 MB of JSON."""
MAX_CLOCK_SKEW_S = 60.0


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def provision(directory: Path) -> None:
    """Create the key pair and the job secret once (files 0600, never overwritten)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (directory / KEY_FILE).exists():
        _, private_key = generate_keypair()
        _write_private(directory / KEY_FILE, json.dumps(private_key_to_json(private_key)).encode())
    if not (directory / SECRET_FILE).exists():
        _write_private(directory / SECRET_FILE, secrets.token_hex(32).encode())


def sign(secret: bytes, request: Mapping[str, Any]) -> str:
    body = json.dumps({k: v for k, v in request.items() if k != "mac"}, sort_keys=True)
    return hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()


class DecryptionService:
    """The decisions, apart from the socket (so they can be tested without one)."""

    def __init__(
        self,
        private_key: PrivateKey,
        job_secret: bytes,
        log: audit.AuditLog,
        *,
        k: int = MIN_COHORT,
        budget: float = 3.0,
    ) -> None:
        self.private_key = private_key
        self.public_key: PublicKey = private_key.public_key
        self._secret = job_secret
        self._log = log
        self.k = k
        self.budget = budget
        self._seen: dict[str, float] = {}
        self._spent: dict[str, float] = {}
        for entry in audit.read(log.path):
            if entry.get("outcome") == "released":
                cohort = entry["cohort"]
                self._spent[cohort] = self._spent.get(cohort, 0.0) + float(entry["epsilon"])

    def handle(self, request: Any) -> dict[str, Any]:
        try:
            if not isinstance(request, dict):
                raise NotAuthorised("a request is a JSON object")
            if request.get("op") == "public-key":
                return {"ok": True, "publicKey": public_key_to_json(self.public_key)}
            if request.get("op") == "release":
                return {"ok": True, "release": self._release(request).to_json()}
            raise NotAuthorised(f"unknown operation {request.get('op')!r}")
        except HomomorphicError as e:
            return {"ok": False, "error": type(e).__name__, "message": str(e)}

    def _authenticate(self, request: dict[str, Any]) -> None:
        mac = request.get("mac")
        expected = sign(self._secret, request).encode()
        if not isinstance(mac, str) or not hmac.compare_digest(
            mac.encode("utf-8", "replace"), expected
        ):
            raise NotAuthorised("only the aggregation job may ask for a decryption")
        request_id, sent_at = request.get("id"), request.get("at")
        now = time.time()
        if not isinstance(sent_at, int | float) or abs(now - sent_at) > MAX_CLOCK_SKEW_S:
            raise NotAuthorised("the request is stale")
        if not isinstance(request_id, str) or request_id in self._seen:
            raise NotAuthorised("the request was already answered (replay)")
        self._seen = {i: t for i, t in self._seen.items() if now - t <= MAX_CLOCK_SKEW_S}
        self._seen[request_id] = now

    def _release(self, request: dict[str, Any]) -> Release:
        at = datetime.now(UTC).isoformat()
        requester = str(request.get("requester", "?"))[:100]
        cohort = str(request.get("cohort", ""))[:200]
        try:
            self._authenticate(request)
        except NotAuthorised as e:
            self._log.append(
                {
                    "at": at,
                    "cohort": cohort,
                    "outcome": "refused",
                    "reason": str(e),
                    "requester": requester,
                }
            )
            raise
        epsilon = float(request.get("epsilon", 1.0))
        wires = request.get("contributions")
        if not isinstance(wires, list) or not 0 < len(wires) <= MAX_CONTRIBUTIONS:
            raise ValueOutOfRange(
                f"a release carries a list of 1 to {MAX_CONTRIBUTIONS} contributions"
            )
        ciphertexts: list[Ciphertext] = [from_wire(self.public_key, w) for w in wires]
        # Each contribution is opened here, checked, added in clear and forgotten: only the
        # tally leaves this function (decision 0020, "Bounded contributions").
        counted = tally(cohort, (unseal(self.private_key, c) for c in ciphertexts))
        entry: dict[str, Any] = {
            "at": at,
            "cohort": cohort,
            "contributions": counted.valid,
            "dropped": {"invalid": counted.invalid, "duplicates": counted.duplicates},
            "requester": requester,
            "epsilon": epsilon,
        }
        if counted.valid < self.k:
            self._log.append({**entry, "outcome": "refused", "reason": f"fewer than k={self.k}"})
            raise CohortTooSmall(
                f"cohort {cohort!r} has {counted.valid} valid contributions "
                f"({counted.invalid} invalid, {counted.duplicates} copies dropped); "
                f"at least {self.k} are needed"
            )
        spent = self._spent.get(cohort, 0.0)
        if spent + epsilon > self.budget + 1e-9:
            self._log.append({**entry, "outcome": "refused", "reason": "budget exhausted"})
            raise BudgetExhausted(
                f"cohort {cohort!r} has spent ε={spent:g} of {self.budget:g}; no further release"
            )
        result = release(cohort, counted.sums, epsilon)
        self._spent[cohort] = spent + epsilon
        self._log.append({**entry, "outcome": "released", "budgetSpent": spent + epsilon})
        return result


async def serve(directory: Path, *, k: int = MIN_COHORT, budget: float = 3.0) -> None:
    """Run the service on `directory/decryptor.sock` until cancelled."""
    provision(directory)
    private_key = private_key_from_json(json.loads((directory / KEY_FILE).read_bytes()))
    service = DecryptionService(
        private_key,
        (directory / SECRET_FILE).read_bytes(),
        audit.AuditLog(directory / AUDIT_FILE),
        k=k,
        budget=budget,
    )

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                except ValueError:
                    request = None
                # Decryption and noise are a few ms of CPU; one request at a time keeps
                # the budget ledger and the audit log in order without more locking.
                response = service.handle(request)
                writer.write(json.dumps(response).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # a client that went away or sent an over-long line: drop its connection
        finally:
            writer.close()

    path = directory / SOCKET
    path.unlink(missing_ok=True)
    old_mask = os.umask(0o177)  # the socket is created 0600: only this user may connect
    try:
        server = await asyncio.start_unix_server(answer, path, limit=MAX_LINE)
    finally:
        os.umask(old_mask)
    print(f"decryptor ready on {path}", flush=True)
    async with server:
        await server.serve_forever()


class DecryptionClient:
    """The aggregation job's side of the socket."""

    def __init__(self, directory: Path, job_secret: bytes | None, *, requester: str) -> None:
        self._path = directory / SOCKET
        self._secret = job_secret
        self._requester = requester

    async def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            reader, writer = await asyncio.open_unix_connection(self._path, limit=MAX_LINE)
        except OSError as e:
            raise DecryptionServiceUnavailable(f"no decryption service at {self._path}") from e
        try:
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
        finally:
            writer.close()
        if not line:
            raise DecryptionServiceUnavailable("the decryption service closed the connection")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            errors: dict[str, type[HomomorphicError]] = {
                "CohortTooSmall": CohortTooSmall,
                "NotAuthorised": NotAuthorised,
                "BudgetExhausted": BudgetExhausted,
                "ValueOutOfRange": ValueOutOfRange,
            }
            raise errors.get(answer.get("error", ""), HomomorphicError)(answer.get("message"))
        return answer

    async def public_key(self) -> PublicKey:
        return public_key_from_json((await self._ask({"op": "public-key"}))["publicKey"])

    async def release(
        self,
        public_key: PublicKey,
        cohort: str,
        contributions: Sequence[int],
        *,
        epsilon: float = 1.0,
    ) -> dict[str, Any]:
        """Ask for one cohort's noisy sums; the contributions are sent in a shuffled order."""
        key_id = fingerprint(public_key)
        wires = [Ciphertext(key_id, c).to_wire(public_key) for c in contributions]
        secrets.SystemRandom().shuffle(wires)
        request: dict[str, Any] = {
            "op": "release",
            "id": secrets.token_hex(16),
            "at": time.time(),
            "requester": self._requester,
            "cohort": cohort,
            "epsilon": epsilon,
            "contributions": wires,
        }
        request["mac"] = sign(self._secret or b"", request)
        result: dict[str, Any] = (await self._ask(request))["release"]
        return result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m hugmood.privacy.he.decryptor")
    parser.add_argument("directory", type=Path, help="key, job secret, socket and audit log")
    parser.add_argument("--k", type=int, default=MIN_COHORT, help="smallest cohort released")
    parser.add_argument("--budget", type=float, default=3.0, help="total ε per cohort")
    args = parser.parse_args(argv)
    if args.k < MIN_COHORT:
        parser.error(f"k must be at least {MIN_COHORT}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.directory, k=args.k, budget=args.budget))


if __name__ == "__main__":
    main(sys.argv[1:])
