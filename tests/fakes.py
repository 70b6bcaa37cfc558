"""Fakes for unit tests of code that uses the ports (never standing in for a named backend)."""

from __future__ import annotations

from datetime import UTC, datetime


class FixedClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.moment = now or datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


class CountingHasher:
    """Records how much verification work each login did; `hash` is reversible on purpose."""

    def __init__(self) -> None:
        self.verifications = 0

    async def hash(self, password: str) -> str:
        return "plain:" + password

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return password_hash == "plain:" + password

    async def burn(self, password: str) -> None:
        self.verifications += 1
