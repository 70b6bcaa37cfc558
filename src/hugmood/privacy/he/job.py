"""The aggregation job: collects community contributions per cohort (region × UTC day) and,
once a cohort's day is over, asks the decryption service for its noisy release, only if the
cohort holds at least k contributions; the releases are published, the contributions dropped.

It runs in every server process, which accepts contributions on its HTTP paths, and releases
cohorts wherever the job secret was given (a worker alone, ideally: `CommunityJob.open`). The
contributions and releases live in the read-model database those processes share
(`pending.SharedCohorts`), so a cohort's contributions through any of them count together and
survive restarts, and one process at a time releases a cohort, once. The job holds no key:
the decryption service, asked over the mesh (or its socket, without NATS), opens the cohort,
checks each contribution (`community.Tally`), adds OpenDP noise and writes its audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from hugmood.config import Settings
from hugmood.privacy.he.ciphertexts import check_value, from_wire
from hugmood.privacy.he.community import MIN_COHORT
from hugmood.privacy.he.decryptor import SECRET_FILE
from hugmood.privacy.he.decryptor_socket import SocketDecryptionClient
from hugmood.privacy.he.errors import (
    BudgetExhausted,
    CohortTooSmall,
    DecryptionServiceUnavailable,
    HomomorphicError,
    MalformedCiphertext,
    NotAuthorised,
    ValueOutOfRange,
)
from hugmood.privacy.he.keys import PublicKey, fingerprint, public_key_to_json
from hugmood.privacy.he.pending import SharedCohorts
from hugmood.services import Loop, Service
from hugmood.sql.database import SqlDatabase

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class DecryptionClient(Protocol):
    """How the job reaches the decryption service (`decryptor_mesh.MeshDecryptionClient`
    with NATS, `decryptor.SocketDecryptionClient` on one machine without)."""

    async def public_key(self) -> PublicKey: ...

    async def release(
        self,
        public_key: PublicKey,
        cohort: str,
        contributions: Sequence[int],
        *,
        epsilon: float = 1.0,
    ) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


def cohort_name(region: str, day: date) -> str:
    return f"{region}/{day.isoformat()}"


def cohort_day(cohort: str) -> date:
    return date.fromisoformat(cohort.rsplit("/", 1)[1])


def _member(user_id: str) -> str:
    """What is kept of who contributed (to allow one contribution each): a digest, not the id."""
    return hashlib.sha256(b"hugmood/community-member\0" + user_id.encode()).hexdigest()[:32]


def job_secret(settings: Settings) -> bytes | None:
    """The aggregation job's secret, if this process was given it (`job-secret` in
    HUGMOOD_COMMUNITY_DECRYPTOR_DIR): only a process that has it releases cohorts."""
    path = Path(settings.community_decryptor_dir).expanduser() / SECRET_FILE
    return path.read_bytes() if path.is_file() else None


def decryption_client(settings: Settings) -> DecryptionClient:
    """Over the mesh when this process has NATS, else on the service directory's socket;
    either way with the job secret from that directory, if it is there."""
    directory = Path(settings.community_decryptor_dir).expanduser()
    secret = job_secret(settings)
    if settings.nats_url:
        from hugmood.privacy.he.decryptor_mesh import MeshDecryptionClient

        return MeshDecryptionClient(settings, secret)
    return SocketDecryptionClient(directory, secret, requester=f"aggregation-job/{settings.region}")


def _under(key: PublicKey, contributions: list[int], cohort: str) -> list[int]:
    """The contributions that can be ciphertexts under `key` (each was checked when it came,
    but the service's key may have changed since): one that cannot would make the service
    refuse the whole release, so it is left out here."""
    usable = []
    for value in contributions:
        try:
            usable.append(check_value(key, value))
        except MalformedCiphertext:
            continue
    if len(usable) < len(contributions):
        log.warning(
            "cohort %s: %d contributions are not ciphertexts under the service's key (did it "
            "change?) and are left out",
            cohort,
            len(contributions) - len(usable),
        )
    return usable


class CommunityJob(Service):
    """Accepts contributions (`accept`) and, where it holds the job secret, releases closed
    cohorts of ≥ k (`run_once`, every `check_s`)."""

    name = "community-aggregation"

    def __init__(
        self,
        client: DecryptionClient,
        cohorts: SharedCohorts,
        *,
        region: str,
        process: str,
        epsilon: float = 1.0,
        check_s: float = 60.0,
        clock: Clock | None = None,
        k: int = MIN_COHORT,
        releases: bool = True,
    ) -> None:
        super().__init__()
        self.client = client
        self.cohorts = cohorts
        self.region = region
        self.process = process
        """Who claims a cohort's release in the shared tables (unique per running job)."""
        self.epsilon = epsilon
        self.k = k
        self._check_s = check_s
        self._clock: Clock = clock or _SystemClock()
        self._public_key: PublicKey | None = None
        self._lock = asyncio.Lock()
        self._prepared = False
        self.releases_here = releases
        """Whether this process looks for closed cohorts and asks for their release."""

    @classmethod
    def open(
        cls, settings: Settings, readmodels: SqlDatabase, *, serves_http: bool
    ) -> tuple[CommunityJob, ...]:
        """The job for `bootstrap` when a decryption service is configured: in a process that
        serves HTTP (it accepts contributions there), and in any process given the job secret
        (it releases cohorts). An edge without the secret only accepts: operators keep the
        secret off the processes that face the internet by giving it to a worker alone."""
        if not settings.community_decryptor_dir:
            return ()
        releases = job_secret(settings) is not None
        if not serves_http and not releases:
            return ()
        from hugmood.mesh.start import process_name

        return (
            cls(
                decryption_client(settings),
                SharedCohorts(readmodels),
                region=settings.region,
                process=process_name("aggregation-job"),
                epsilon=settings.community_epsilon,
                check_s=settings.community_check_s,
                releases=releases,
            ),
        )

    async def starting(self) -> None:
        await self._prepare()

    async def stopped(self) -> None:
        await self.client.aclose()

    async def _prepare(self) -> None:
        if not self._prepared:
            await self.cohorts.prepare()
            self._prepared = True

    def current_cohort(self) -> str:
        return cohort_name(self.region, self._clock.now().astimezone(UTC).date())

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    async def public_key(self) -> PublicKey:
        """The decryption service's public key (asked once)."""
        async with self._lock:
            if self._public_key is None:
                self._public_key = await self.client.public_key()
            return self._public_key

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
        key = await self.public_key()
        await self._prepare()
        if not isinstance(cohort, str) or cohort != self.current_cohort():
            raise ValueOutOfRange(
                f"contributions go to the open cohort {self.current_cohort()!r} "
                "(the device encrypts for it: ask GET /privacy/community first)"
            )
        value = from_wire(key, wire).value
        await self.cohorts.add(cohort, _member(user_id), value, self._now_ms())

    async def releases(self, start: date, end: date) -> list[dict[str, Any]]:
        """Published releases of this region's cohorts from `start` to `end`, oldest first."""
        await self._prepare()
        return await self.cohorts.releases(self.region, start, end)

    async def run_once(self) -> list[str]:
        """Release or give up every closed cohort this process can claim; those released."""
        await self._prepare()
        today = self._clock.now().astimezone(UTC).date()
        released: list[str] = []
        for pending in await self.cohorts.pending(self.region):
            cohort = pending.cohort
            if pending.settled:
                # Came in late (a process whose clock was behind): the cohort is done.
                await self.cohorts.drop(cohort)
                continue
            if cohort_day(cohort) >= today:
                continue  # still open: more people may contribute today
            if pending.size < self.k:
                # k-anonymity does not hold and never will (the cohort is closed): the
                # decryption service is not even asked.
                log.info(
                    "cohort %s closed with %d < k=%d contributions: dropped",
                    cohort,
                    pending.size,
                    self.k,
                )
                await self.cohorts.drop(cohort)
                continue
            if not await self.cohorts.claim(
                cohort, self.region, cohort_day(cohort), self.process, self._now_ms()
            ):
                continue  # another process is releasing it
            if await self._release(cohort):
                released.append(cohort)
        return released

    async def _release(self, cohort: str) -> bool:
        try:
            key = await self.public_key()
            contributions = _under(key, await self.cohorts.contributions(cohort), cohort)
            result = await self.client.release(key, cohort, contributions, epsilon=self.epsilon)
        except (DecryptionServiceUnavailable, NotAuthorised) as e:
            # Away, or this job's secret is wrong (an operator can fix it): the cohort waits.
            log.warning("cohort %s waits: %s", cohort, e)
            await self.cohorts.unclaim(cohort, self.process)
            if isinstance(e, DecryptionServiceUnavailable):
                raise
            return False
        except (CohortTooSmall, BudgetExhausted) as e:
            log.info("cohort %s is not released: %s", cohort, e)
            await self.cohorts.settle(cohort, self.process, None, self._now_ms())
            return False
        except HomomorphicError as e:
            # The service refused what it was sent and would again: give the cohort up
            # rather than ask every minute.
            log.error("cohort %s is given up: the decryption service refused it: %s", cohort, e)
            await self.cohorts.settle(cohort, self.process, None, self._now_ms())
            return False
        published = {**result, "day": cohort_day(cohort).isoformat()}
        if not await self.cohorts.settle(cohort, self.process, published, self._now_ms()):
            log.warning("cohort %s: the claim was taken over before the release was kept", cohort)
            return False
        return True

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return (("releases", self._releases_loop),) if self.releases_here else ()

    async def _releases_loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except DecryptionServiceUnavailable as e:
                log.warning("community releases wait: %s", e)
            await asyncio.sleep(self._check_s)
