"""One-time verifier nonces: issued to one person, for one threshold, used at most once.

A proof is bound to its nonce, so refusing a used, expired or someone else's nonce is what
makes a replayed or stale proof fail. The in-memory book serves one server process; several
processes need a shared store behind the same Protocol (not built yet).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from hugmood.privacy.zk.errors import ChallengeInvalid
from hugmood.privacy.zk.protocol import NONCE_BYTES


@dataclass(frozen=True, slots=True)
class Challenge:
    nonce: bytes
    user_id: str
    threshold: int
    issued_at: datetime
    """The time the proof is made and checked against (whole seconds): Longfellow takes the
    time as a public input, so prover and verifier must use the same one."""
    expires_at: datetime


class ChallengeStore(Protocol):
    def issue(self, user_id: str, threshold: int, now: datetime) -> Challenge:
        """A fresh random nonce for this person and threshold, valid for the store's TTL."""
        ...

    def consume(self, nonce: bytes, user_id: str, threshold: int, now: datetime) -> Challenge:
        """Take the challenge out (so it can never be used again) or raise ChallengeInvalid.

        Raises ChallengeInvalid when the nonce is unknown or already used, expired, issued to
        someone else, or for another threshold; in every case it is spent.
        """
        ...


class MemoryChallengeStore:
    """Challenges in a dict; expired ones are swept whenever one is issued."""

    def __init__(self, ttl: timedelta = timedelta(minutes=5), max_pending: int = 100_000) -> None:
        self._ttl = ttl
        self._max_pending = max_pending
        self._pending: dict[bytes, Challenge] = {}
        self._lock = threading.Lock()

    def issue(self, user_id: str, threshold: int, now: datetime) -> Challenge:
        at = now.replace(microsecond=0)
        challenge = Challenge(
            secrets.token_bytes(NONCE_BYTES), user_id, threshold, at, at + self._ttl
        )
        with self._lock:
            for nonce in [n for n, c in self._pending.items() if c.expires_at <= now]:
                del self._pending[nonce]
            if len(self._pending) >= self._max_pending:
                raise ChallengeInvalid("too many age checks are waiting; try again in a minute")
            self._pending[challenge.nonce] = challenge
        return challenge

    def consume(self, nonce: bytes, user_id: str, threshold: int, now: datetime) -> Challenge:
        with self._lock:
            challenge = self._pending.pop(nonce, None)
        if challenge is None:
            raise ChallengeInvalid(
                "this nonce is unknown or was already used: ask for a new challenge"
            )
        if challenge.expires_at <= now:
            raise ChallengeInvalid("this challenge expired: ask for a new one and prove again")
        if challenge.user_id != user_id:
            raise ChallengeInvalid("this challenge was issued to someone else")
        if challenge.threshold != threshold:
            raise ChallengeInvalid(
                f"this challenge asked for age {challenge.threshold}, not {threshold}"
            )
        return challenge
