"""Login throttling that a stranger cannot turn against an account's owner (OWASP's
authentication guidance: count per account *and* source, and let a device that signed in
before through, by a signed device proof it was given then)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from hugmood.domain.errors import RateLimited
from hugmood.domain.identity import LoginAttempt

SPREAD_FACTOR = 10
"""Failures from every unknown source together may reach this many times the per-source
allowance before the account refuses unknown devices (a guess spread over many addresses)."""


@dataclass(slots=True)
class _Record:
    failures: int
    first_failure: float
    locked_until: float = 0.0


class InMemoryLoginThrottle:
    """Counts failed logins in a window and locks out, doubling each time up to an hour.

    - A device presenting a valid proof for this handle (it signed in before) is counted on
      its own: nobody else's failures lock it out, and its own lock it out alone.
    - Any other attempt counts for its (handle, source) pair: one source guessing locks out
      only that source.
    - All unknown sources together count for the handle too, with `SPREAD_FACTOR` times the
      allowance: a guess spread over many addresses then shuts out unknown devices, never a
      known one.

    State is per process: with several server processes an attacker gets at most that many
    times the allowance. Proofs are keyed with the server's secret, so they survive restarts.
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 900.0,
        lockout_s: float = 60.0,
        secret: bytes | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_failures = max_failures
        self._window_s = window_s
        self._lockout_s = lockout_s
        self._secret = secret if secret else secrets.token_bytes(32)
        self._clock = clock
        self._records: dict[tuple[str, ...], _Record] = {}

    def check(self, attempt: LoginAttempt) -> None:
        """Raise `RateLimited` if this attempt may not be tried right now."""
        now = self._clock()
        for key, _ in self._counters(attempt):
            record = self._records.get(key)
            if record is not None and record.locked_until > now:
                wait = record.locked_until - now
                raise RateLimited(
                    f"too many failed logins for this account; try again in {int(wait) + 1} s",
                    retry_after_s=wait,
                )

    def failed(self, attempt: LoginAttempt) -> None:
        now = self._clock()
        for key, allowance in self._counters(attempt):
            record = self._records.get(key)
            if record is None or now - record.first_failure > self._window_s:
                record = self._records[key] = _Record(failures=0, first_failure=now)
            record.failures += 1
            over = record.failures - allowance
            if over >= 0:
                record.locked_until = now + min(self._lockout_s * 2**over, 3600.0)
        if len(self._records) > 100_000:
            self._forget_old(now)

    def succeeded(self, attempt: LoginAttempt) -> str:
        """Clear this device's (or source's) count; the proof this device keeps from now on."""
        for key, _ in self._counters(attempt):
            if key[0] != "account":
                self._records.pop(key, None)
        if self._device(attempt) is not None and attempt.device_proof is not None:
            return attempt.device_proof
        nonce = secrets.token_urlsafe(12)
        return f"{nonce}.{self._sign(attempt.handle, nonce)}"

    def _counters(self, attempt: LoginAttempt) -> list[tuple[tuple[str, ...], int]]:
        device = self._device(attempt)
        if device is not None:
            return [(("device", attempt.handle, device), self._max_failures)]
        return [
            (("source", attempt.handle, attempt.source), self._max_failures),
            (("account", attempt.handle), self._max_failures * SPREAD_FACTOR),
        ]

    def _device(self, attempt: LoginAttempt) -> str | None:
        """The device's nonce if its proof was made by this server for this handle."""
        if attempt.device_proof is None:
            return None
        nonce, _, mac = attempt.device_proof.partition(".")
        # Compared as bytes: `compare_digest` refuses str with non-ASCII characters (a
        # forged proof may hold any), and a refusal must not become a server error.
        expected = self._sign(attempt.handle, nonce).encode()
        if not nonce or not hmac.compare_digest(mac.encode("utf-8", "replace"), expected):
            return None
        return nonce

    def _sign(self, handle: str, nonce: str) -> str:
        message = f"hugmood-device-proof\0{handle}\0{nonce}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def _forget_old(self, now: float) -> None:
        for key in [
            k
            for k, r in self._records.items()
            if now - r.first_failure > self._window_s and r.locked_until < now
        ]:
            del self._records[key]
