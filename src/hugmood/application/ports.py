"""Ports the application needs from the outside world, as small Protocols."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """True if it matches; takes about as long whether or not it does."""
        ...

    async def burn(self, password: str) -> None:
        """Spend the time of one verification, so unknown accounts answer as slowly."""
        ...


class LoginThrottle(Protocol):
    def check(self, key: str) -> None:
        """Raise `RateLimited` if `key` (a normalised handle) is locked out right now."""
        ...

    def failed(self, key: str) -> None: ...

    def succeeded(self, key: str) -> None: ...


class RateLimiter(Protocol):
    def hit(self, key: str) -> None:
        """Count one action by `key`, or raise `RateLimited` if it has done too many."""
        ...


class SessionTokens(Protocol):
    def new_token(self) -> str:
        """An opaque token of at least 128 random bits, shown to the client once."""
        ...

    def digest(self, token: str) -> str:
        """What is stored and looked up: a keyed hash, never the token itself."""
        ...


class ReadModelsProgress(Protocol):
    async def wait_for(self, position: int) -> None:
        """Return once every read model reflects the event at `position` (read-your-writes)."""
        ...
