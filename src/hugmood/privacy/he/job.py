"""The aggregation job: collects community contributions per cohort (region × UTC day) and,
once a cohort's day is over, asks the decryption service for its noisy release, only if the
cohort holds at least k contributions; the releases are published, the contributions dropped.

It runs in the server process that accepts contributions (they wait in memory, and on disk
under the data directory when there is one, so an accepted contribution survives a restart).
The job holds no key: the decryption service opens the cohort, checks each contribution
(`community.tally`), adds OpenDP noise and writes its audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from hugmood.config import Settings
from hugmood.privacy.he.community import MIN_COHORT, CohortContributions
from hugmood.privacy.he.decryptor import SECRET_FILE, DecryptionClient
from hugmood.privacy.he.errors import (
    BudgetExhausted,
    CohortTooSmall,
    DecryptionServiceUnavailable,
    HomomorphicError,
    ValueOutOfRange,
)
from hugmood.privacy.he.keys import PublicKey, fingerprint, public_key_to_json
from hugmood.services import Loop, Service

log = logging.getLogger(__name__)

PENDING_FILE = "pending.jsonl"
RELEASES_FILE = "releases.jsonl"


class Clock(Protocol):
    def now(self) -> datetime: ...


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def cohort_name(region: str, day: date) -> str:
    return f"{region}/{day.isoformat()}"


def cohort_day(cohort: str) -> date:
    return date.fromisoformat(cohort.rsplit("/", 1)[1])


def _member(user_id: str) -> str:
    """What is kept of who contributed (to allow one contribution each): a digest, not the id."""
    return hashlib.sha256(b"hugmood/community-member\0" + user_id.encode()).hexdigest()[:32]


def _append(path: Path, line: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, json.dumps(line, separators=(",", ":")).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open("rb") as f:
        return [json.loads(line) for line in f if line.strip()]


class CommunityJob(Service):
    """Accepts contributions (`accept`) and releases closed cohorts of ≥ k (`run_once`)."""

    name = "community-aggregation"

    def __init__(
        self,
        client: DecryptionClient,
        *,
        region: str,
        epsilon: float = 1.0,
        check_s: float = 60.0,
        directory: Path | None = None,
        clock: Clock | None = None,
        k: int = MIN_COHORT,
    ) -> None:
        super().__init__()
        self.client = client
        self.region = region
        self.epsilon = epsilon
        self.k = k
        self._check_s = check_s
        self._directory = directory
        self._clock: Clock = clock or _SystemClock()
        self._contributions: CohortContributions | None = None
        self._releases: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()

    @classmethod
    def open(cls, settings: Settings) -> tuple[CommunityJob, ...]:
        """The job when a decryption service is configured (else none), for `bootstrap`."""
        if not settings.community_decryptor_dir:
            return ()
        directory = Path(settings.community_decryptor_dir).expanduser()
        secret_path = directory / SECRET_FILE
        client = DecryptionClient(
            directory,
            secret_path.read_bytes() if secret_path.exists() else None,
            requester=f"aggregation-job/{settings.region}",
        )
        kept = None if settings.database_url == "memory" else settings.data_dir / "community"
        return (
            cls(
                client,
                region=settings.region,
                epsilon=settings.community_epsilon,
                check_s=settings.community_check_s,
                directory=kept,
            ),
        )

    def current_cohort(self) -> str:
        return cohort_name(self.region, self._clock.now().astimezone(UTC).date())

    async def public_key(self) -> PublicKey:
        """The decryption service's public key (asked once; the pending ones loaded then)."""
        async with self._lock:
            if self._contributions is None:
                key = await self.client.public_key()
                contributions = CohortContributions(key)
                if self._directory is not None:
                    await asyncio.to_thread(self._load, contributions)
                self._contributions = contributions
            return self._contributions.public_key

    def _load(self, contributions: CohortContributions) -> None:
        assert self._directory is not None
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for line in _read(self._directory / PENDING_FILE):
            try:
                contributions.add(line["cohort"], line["ciphertext"], line["member"])
            except HomomorphicError as e:  # e.g. the service's key changed since
                log.warning("a kept contribution to %s is dropped: %s", line.get("cohort"), e)
        self._releases = _read(self._directory / RELEASES_FILE)

    async def describe(self) -> dict[str, Any]:
        """What a device needs to contribute: the key, the open cohort, k."""
        key = await self.public_key()
        return {
            "publicKey": public_key_to_json(key),
            "keyId": fingerprint(key),
            "cohort": self.current_cohort(),
            "k": self.k,
        }

    async def accept(self, cohort: Any, wire: Any, user_id: str) -> None:
        """One person's contribution to today's cohort (one each; checked, kept durably)."""
        await self.public_key()
        assert self._contributions is not None
        if not isinstance(cohort, str) or cohort != self.current_cohort():
            raise ValueOutOfRange(
                f"contributions go to the open cohort {self.current_cohort()!r} "
                "(the device encrypts for it: ask GET /privacy/community first)"
            )
        member = _member(user_id)
        self._contributions.add(cohort, wire, member)
        if self._directory is not None:
            line = {"cohort": cohort, "member": member, "ciphertext": wire}
            await asyncio.to_thread(_append, self._directory / PENDING_FILE, line)

    def releases(self, start: date, end: date) -> list[dict[str, Any]]:
        """Published releases of this region's cohorts from `start` to `end`, oldest first."""
        return [
            r
            for r in self._releases
            if start <= date.fromisoformat(r["day"]) <= end
            and r["cohort"].startswith(f"{self.region}/")
        ]

    async def run_once(self) -> list[str]:
        """Release or discard every closed cohort; the cohorts released."""
        await self.public_key()
        assert self._contributions is not None
        today = self._clock.now().astimezone(UTC).date()
        released: list[str] = []
        for cohort, size in sorted(self._contributions.sizes().items()):
            if cohort_day(cohort) >= today:
                continue  # still open: more people may contribute today
            if size < self.k:
                # k-anonymity does not hold and never will (the cohort is closed): the
                # decryption service is not even asked.
                log.info(
                    "cohort %s closed with %d < k=%d contributions: dropped", cohort, size, self.k
                )
                await self._finish(cohort)
                continue
            contributions = self._contributions.get(cohort)
            try:
                result = await self.client.release(
                    self._contributions.public_key, cohort, contributions, epsilon=self.epsilon
                )
            except DecryptionServiceUnavailable:
                log.warning("the decryption service is unavailable; %s waits", cohort)
                return released
            except (CohortTooSmall, BudgetExhausted) as e:
                log.info("cohort %s is not released: %s", cohort, e)
                await self._finish(cohort)
                continue
            published = {**result, "day": cohort_day(cohort).isoformat()}
            if self._directory is not None:
                await asyncio.to_thread(_append, self._directory / RELEASES_FILE, published)
            self._releases.append(published)
            await self._finish(cohort)
            released.append(cohort)
        return released

    async def _finish(self, cohort: str) -> None:
        """Forget a cohort's contributions, in memory and on disk."""
        assert self._contributions is not None
        self._contributions.take(cohort)
        if self._directory is not None:
            await asyncio.to_thread(self._rewrite_pending, cohort)

    def _rewrite_pending(self, cohort: str) -> None:
        assert self._directory is not None
        path = self._directory / PENDING_FILE
        kept = [line for line in _read(path) if line["cohort"] != cohort]
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            for line in kept:
                f.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return (("releases", self._releases_loop),)

    async def _releases_loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except DecryptionServiceUnavailable as e:
                log.warning("community releases wait: %s", e)
            await asyncio.sleep(self._check_s)
