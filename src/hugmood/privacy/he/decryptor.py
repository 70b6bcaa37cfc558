"""The decryption service: its own process, its own key, reachable only by the region's
internal mesh (or, on one machine without NATS, a private socket).

It holds the community key pair and answers two requests: `public-key` (devices encrypt under
it) and `release` (only the aggregation job: its process name on the mesh, and an HMAC under
the job secret in the request). With `HUGMOOD_NATS_URL` set it serves them only as the mesh
service `decryptor` (`decryptor_mesh`); without, as JSON lines on a Unix socket created 0600 in
its directory. A release carries a cohort's contributions, in parts when they are many; the
service opens each one, keeps the well-formed ones once each (so an altered, out-of-range or
copied contribution cannot pass for several people: decision 0020), refuses fewer than k valid
ones, spends privacy budget, adds OpenDP noise to the sums and writes the audit log first.
Single contributions are never logged, kept or answered.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from hugmood.config import ConfigError, Settings
from hugmood.privacy.he import audit
from hugmood.privacy.he.ciphertexts import Ciphertext, from_wire
from hugmood.privacy.he.community import MAX_CONTRIBUTIONS, MIN_COHORT, Release, Tally, release
from hugmood.privacy.he.errors import (
    BudgetExhausted,
    CohortTooSmall,
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
MAX_PARTS = 1000
SESSION_TTL_S = 600.0
"""A release whose parts stop coming is forgotten (and logged as abandoned) after this."""


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


@dataclass(slots=True)
class _Session:
    """A release arriving in parts: what has been opened so far, nothing else."""

    cohort: str
    epsilon: float
    parts: int
    started: float
    requester: str
    next_part: int = 0
    tally: Tally = field(init=False)

    def __post_init__(self) -> None:
        self.tally = Tally(self.cohort)


class DecryptionService:
    """The decisions, apart from any transport (a Unix socket alone on one machine, the
    region's mesh otherwise: `decryptor_mesh`), so they can be tested without one."""

    def __init__(
        self,
        private_key: PrivateKey,
        job_secret: bytes,
        log: audit.AuditLog,
        *,
        k: int = MIN_COHORT,
        budget: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.private_key = private_key
        self.public_key: PublicKey = private_key.public_key
        self._secret = job_secret
        self._log = log
        self.k = k
        self.budget = budget
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._spent: dict[str, float] = {}
        self._sessions: dict[str, _Session] = {}
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
                result = self._release(request)
                if isinstance(result, int):
                    return {"ok": True, "received": result}
                return {"ok": True, "release": result.to_json()}
            raise NotAuthorised(f"unknown operation {request.get('op')!r}")
        except HomomorphicError as e:
            return {"ok": False, "error": type(e).__name__, "message": str(e)}

    def refuse(self, request: Any, reason: str) -> dict[str, Any]:
        """Log a request refused before it reached here (by the transport: not the job)."""
        body = request if isinstance(request, dict) else {}
        self._log.append(
            {
                "at": datetime.now(UTC).isoformat(),
                "cohort": str(body.get("cohort", ""))[:200],
                "outcome": "refused",
                "reason": reason,
                "requester": str(body.get("requester", "?"))[:100],
            }
        )
        return {"ok": False, "error": NotAuthorised.__name__, "message": reason}

    def _authenticate(self, request: dict[str, Any]) -> None:
        mac = request.get("mac")
        expected = sign(self._secret, request).encode()
        if not isinstance(mac, str) or not hmac.compare_digest(
            mac.encode("utf-8", "replace"), expected
        ):
            raise NotAuthorised("only the aggregation job may ask for a decryption")
        request_id, sent_at = request.get("id"), request.get("at")
        now = self._clock()
        if not isinstance(sent_at, int | float) or abs(now - sent_at) > MAX_CLOCK_SKEW_S:
            raise NotAuthorised("the request is stale")
        seen = f"{request_id}/{request.get('part', 0)}"
        if not isinstance(request_id, str) or seen in self._seen:
            raise NotAuthorised("the request was already answered (replay)")
        self._seen = {i: t for i, t in self._seen.items() if now - t <= MAX_CLOCK_SKEW_S}
        self._seen[seen] = now

    def _forget_stale_sessions(self) -> None:
        now = self._clock()
        for release_id, session in list(self._sessions.items()):
            if now - session.started > SESSION_TTL_S:
                del self._sessions[release_id]
                self._log_opened(session, "abandoned", "the remaining parts never came")

    def _log_opened(self, session: _Session, outcome: str, reason: str) -> None:
        counted = session.tally.result()
        self._log.append(
            {
                "at": datetime.now(UTC).isoformat(),
                "cohort": session.cohort,
                "outcome": outcome,
                "reason": reason,
                "contributions": counted.valid,
                "dropped": {"invalid": counted.invalid, "duplicates": counted.duplicates},
                "requester": session.requester,
                "epsilon": session.epsilon,
            }
        )

    def _session(self, request: dict[str, Any], requester: str, cohort: str) -> _Session:
        """The release this part belongs to: a new one for part 0, else the one under way."""
        release_id = str(request["id"])
        epsilon, part, parts = (
            request.get("epsilon", 1.0),
            request.get("part", 0),
            request.get("parts", 1),
        )
        if not isinstance(epsilon, int | float) or not 0 < epsilon <= self.budget:
            raise ValueOutOfRange(f"epsilon must be above 0 and at most {self.budget:g}")
        if not isinstance(part, int) or not isinstance(parts, int) or not 0 <= part < parts:
            raise ValueOutOfRange("part must be a whole number from 0 to parts - 1")
        if parts > MAX_PARTS:
            raise ValueOutOfRange(f"a release comes in at most {MAX_PARTS} parts")
        if part == 0:
            if release_id in self._sessions:
                raise ValueOutOfRange("that release was already started")
            spent = self._spent.get(cohort, 0.0)
            if spent + epsilon > self.budget + 1e-9:
                self._log.append(
                    {
                        "at": datetime.now(UTC).isoformat(),
                        "cohort": cohort,
                        "outcome": "refused",
                        "reason": "budget exhausted",
                        "requester": requester,
                        "epsilon": float(epsilon),
                    }
                )
                raise BudgetExhausted(
                    f"cohort {cohort!r} has spent ε={spent:g} of {self.budget:g}; "
                    "no further release"
                )
            session = _Session(cohort, float(epsilon), parts, self._clock(), requester)
            self._sessions[release_id] = session
            return session
        session_or_none = self._sessions.get(release_id)
        if session_or_none is None:
            raise ValueOutOfRange("no release under way with that id (start again at part 0)")
        if (session_or_none.cohort, session_or_none.epsilon, session_or_none.parts) != (
            cohort,
            float(epsilon),
            parts,
        ) or part != session_or_none.next_part:
            del self._sessions[release_id]
            self._log_opened(session_or_none, "abandoned", "a part out of order or changed")
            raise ValueOutOfRange("parts of a release come in order, for one cohort and ε")
        return session_or_none

    def _release(self, request: dict[str, Any]) -> Release | int:
        """One part of a release: the parts received so far, or the release after the last."""
        at = datetime.now(UTC).isoformat()
        requester = str(request.get("requester", "?"))[:100]
        cohort = str(request.get("cohort", ""))[:200]
        self._forget_stale_sessions()
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
        wires = request.get("contributions")
        if not isinstance(wires, list) or not 0 < len(wires) <= MAX_CONTRIBUTIONS:
            raise ValueOutOfRange(
                f"a release carries a list of 1 to {MAX_CONTRIBUTIONS} contributions"
            )
        session = self._session(request, requester, cohort)
        if session.tally.opened + len(wires) > MAX_CONTRIBUTIONS:
            raise ValueOutOfRange(f"a release carries at most {MAX_CONTRIBUTIONS} contributions")
        try:
            ciphertexts: list[Ciphertext] = [from_wire(self.public_key, w) for w in wires]
        except HomomorphicError:
            del self._sessions[str(request["id"])]
            self._log_opened(session, "abandoned", "a malformed or foreign ciphertext")
            raise
        # Each contribution is opened here, checked, added in clear and forgotten: only the
        # tally leaves this function (decision 0020, "Bounded contributions").
        session.tally.add(unseal(self.private_key, c) for c in ciphertexts)
        session.next_part += 1
        if session.next_part < session.parts:
            return session.next_part
        del self._sessions[str(request["id"])]
        return self._finish(session)

    def _finish(self, session: _Session) -> Release:
        cohort, epsilon = session.cohort, session.epsilon
        counted = session.tally.result()
        entry: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(),
            "cohort": cohort,
            "contributions": counted.valid,
            "dropped": {"invalid": counted.invalid, "duplicates": counted.duplicates},
            "requester": session.requester,
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


def open_service(directory: Path, *, k: int = MIN_COHORT, budget: float = 3.0) -> DecryptionService:
    """The service over `directory`'s key, job secret and audit log (made once if missing)."""
    provision(directory)
    private_key = private_key_from_json(json.loads((directory / KEY_FILE).read_bytes()))
    return DecryptionService(
        private_key,
        (directory / SECRET_FILE).read_bytes(),
        audit.AuditLog(directory / AUDIT_FILE),
        k=k,
        budget=budget,
    )


REFUSALS: dict[str, type[HomomorphicError]] = {
    "CohortTooSmall": CohortTooSmall,
    "NotAuthorised": NotAuthorised,
    "BudgetExhausted": BudgetExhausted,
    "ValueOutOfRange": ValueOutOfRange,
}


def raise_refusal(name: str, message: str) -> NoReturn:
    """The service's refusal as the job sees it (its error class, by name)."""
    raise REFUSALS.get(name, HomomorphicError)(message)


class ReleaseRequests:
    """Builds the aggregation job's signed release requests: one release, in parts of at most
    `part_size` contributions (shuffled first, so no order says who sent what)."""

    def __init__(self, job_secret: bytes | None, requester: str, part_size: int) -> None:
        self._secret = job_secret or b""
        self._requester = requester
        self._part_size = part_size

    def parts(
        self, public_key: PublicKey, cohort: str, contributions: Sequence[int], epsilon: float
    ) -> Iterator[dict[str, Any]]:
        """The requests, each signed when it is made (so its time is fresh when sent)."""
        key_id = fingerprint(public_key)
        wires = [Ciphertext(key_id, c).to_wire(public_key) for c in contributions]
        secrets.SystemRandom().shuffle(wires)
        release_id = secrets.token_hex(16)
        chunks = [wires[i : i + self._part_size] for i in range(0, len(wires), self._part_size)]
        for number, chunk in enumerate(chunks or [[]]):
            request: dict[str, Any] = {
                "op": "release",
                "id": release_id,
                "at": time.time(),
                "requester": self._requester,
                "cohort": cohort,
                "epsilon": epsilon,
                "part": number,
                "parts": max(len(chunks), 1),
                "contributions": chunk,
            }
            request["mac"] = sign(self._secret, request)
            yield request


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m hugmood.privacy.he.decryptor",
        description="The community decryption service. With HUGMOOD_NATS_URL set it answers "
        "only over the region's service mesh (HUGMOOD_SECRET_KEY, HUGMOOD_REGION and "
        "HUGMOOD_NATS_SUBJECT_PREFIX as the servers have them); without, on a 0600 Unix "
        "socket in its directory.",
    )
    parser.add_argument("directory", type=Path, help="key, job secret, socket and audit log")
    parser.add_argument("--k", type=int, default=MIN_COHORT, help="smallest cohort released")
    parser.add_argument("--budget", type=float, default=3.0, help="total ε per cohort")
    args = parser.parse_args(argv)
    if args.k < MIN_COHORT:
        parser.error(f"k must be at least {MIN_COHORT}")
    settings = None
    if os.environ.get("HUGMOOD_NATS_URL"):
        try:
            settings = Settings.from_env()
        except ConfigError as e:
            parser.error(str(e))
    service = open_service(args.directory, k=args.k, budget=args.budget)
    with contextlib.suppress(KeyboardInterrupt):
        if settings is not None:
            from hugmood.privacy.he.decryptor_mesh import serve_mesh

            asyncio.run(serve_mesh(service, settings))
        else:
            from hugmood.privacy.he.decryptor_socket import serve_socket

            asyncio.run(serve_socket(service, args.directory))


if __name__ == "__main__":
    main(sys.argv[1:])
