"""The server side: check age proofs in a process pool and keep only the outcome.

Verification is ~1.5 s of CPU in native code; run on the event loop it would stall every
other request, so it runs in worker processes that each load the circuit once. The order of
checks gives each bad case its own error: the issuer must be trusted and the threshold
supported (before anything costly), the nonce must be this person's unused one (it is spent
now, so a replay fails even if the first try is still running), then the proof must verify
against that issuer's key, the transcript of that nonce, `age_over_<threshold> = true` and
the server's clock. The Longfellow verifier gives one status for every in-circuit failure
(`MDOC_VERIFIER_GENERAL_FAILURE`), so a tampered proof, a proof for another threshold and an
expired credential are refused with one message that names all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from pylongfellow import Pylongfellow
from pylongfellow.mdoc import PublicKey, VerifierError

from hugmood.privacy.workers import open_pool
from hugmood.privacy.zk.challenges import Challenge, ChallengeStore
from hugmood.privacy.zk.circuits import load_or_generate
from hugmood.privacy.zk.credentials import DOCTYPE
from hugmood.privacy.zk.errors import (
    AgeVerificationError,
    CircuitUnavailable,
    ProofRejected,
    VerifierUnavailable,
)
from hugmood.privacy.zk.issuers import TrustList
from hugmood.privacy.zk.protocol import AgeProof, session_transcript
from hugmood.privacy.zk.prover import age_claim, load_longfellow


@dataclass(frozen=True, slots=True)
class AgeOutcome:
    """All that is kept of a verification: which age, vouched for by whom, when."""

    threshold: int
    issuer: str
    at: datetime


_worker: Pylongfellow | None = None


WORKER_NICENESS = 10
"""Verification is background work: on a machine with few cores the request-serving process
must win the CPU, or ordinary requests queue behind seconds of proof checking."""


def _init_worker(cache_dir: str) -> None:
    global _worker
    os.nice(WORKER_NICENESS)
    _worker = load_longfellow(Path(cache_dir))


def _verify_in_worker(
    key: tuple[int, int], transcript: bytes, threshold: int, at: datetime, proof: bytes
) -> str | None:
    """None when the proof holds, else the verifier's reason (errors cross processes as text)."""
    assert _worker is not None, "the worker initialiser did not run"
    try:
        _worker.verify(PublicKey(*key), transcript, [age_claim(threshold)], at, proof, DOCTYPE)
    except VerifierError as e:
        return str(e)
    return None


class AgeVerifier:
    """Verifies age proofs off the event loop; an async context manager owning its pool."""

    def __init__(
        self,
        trust: TrustList,
        challenges: ChallengeStore,
        *,
        cache_dir: Path,
        audience: str,
        workers: int = 1,
    ) -> None:
        self.trust = trust
        self.challenges = challenges
        self.audience = audience
        self._cache_dir = cache_dir
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._ready: asyncio.Task[ProcessPoolExecutor] | None = None

    def prepare(self) -> asyncio.Task[ProcessPoolExecutor]:
        """Start (once) readying the circuit and the workers, in the background.

        Called when the first challenge is issued, not at start-up: generating the circuit
        the first time takes ~30 s of CPU, which a server that never sees an age check
        (or a test) should not pay; a device needs a few seconds to prove anyway.
        """
        if self._ready is None:
            self._ready = asyncio.create_task(self._start(), name="age-verifier-start")
        return self._ready

    async def _start(self) -> ProcessPoolExecutor:
        # Generate or check the cached circuit once, off the loop, so workers only read it;
        # then start the workers (each loads the circuit) in a thread, before any proof
        # arrives: neither the process start nor the circuit load is paid on the loop or by
        # the first person to prove.
        await asyncio.to_thread(load_or_generate, self._cache_dir)
        try:
            self._pool = await open_pool(
                self._workers, initializer=_init_worker, initargs=(str(self._cache_dir),)
            )
        except BrokenProcessPool as e:
            raise CircuitUnavailable(f"the verification workers did not start: {e}") from e
        return self._pool

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        ready, self._ready = self._ready, None
        if ready is not None and not ready.done():
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError, AgeVerificationError):
                await ready
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def verify(
        self, user_id: str, submission: AgeProof, now: datetime | None = None
    ) -> AgeOutcome:
        now = now or datetime.now(UTC)
        key = self.trust.key_of(submission.issuer)
        age_claim(submission.threshold)
        challenge = self.challenges.consume(submission.nonce, user_id, submission.threshold, now)
        try:
            await asyncio.shield(self.prepare())
        except CircuitUnavailable as e:
            self._ready = None  # the next request tries again
            raise VerifierUnavailable(f"age verification cannot start: {e}") from e
        pool = self._pool
        if pool is None:
            raise VerifierUnavailable("age verification is shutting down")
        transcript = session_transcript(submission.nonce, self.audience)
        loop = asyncio.get_running_loop()
        try:
            reason = await loop.run_in_executor(
                pool,
                _verify_in_worker,
                (key.x, key.y),
                transcript,
                submission.threshold,
                challenge.issued_at,
                submission.proof,
            )
        except BrokenProcessPool as e:
            # A worker died (e.g. killed): the next verification starts a new pool (in a
            # thread, as the first one was), so later requests are served.
            if self._pool is pool:
                self._pool, self._ready = None, None
            pool.shutdown(wait=False, cancel_futures=True)
            raise VerifierUnavailable("an age-verification worker stopped; try again") from e
        if reason is not None:
            raise ProofRejected(
                "the age proof does not verify: it was altered, made for another nonce or age, "
                f"or the credential is expired or not yet valid ({reason})"
            )
        return AgeOutcome(submission.threshold, submission.issuer, now)

    def issue(self, user_id: str, threshold: int, now: datetime | None = None) -> Challenge:
        """A one-time challenge for this person and age; starts the workers if need be."""
        age_claim(threshold)
        self.prepare()
        return self.challenges.issue(user_id, threshold, now or datetime.now(UTC))
