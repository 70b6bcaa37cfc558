"""What command handlers are given: the named ports, wired once by `bootstrap`."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.application.ports import (
    Clock,
    LoginThrottle,
    PasswordHasher,
    RateLimiter,
    SessionTokens,
)
from hugmood.blobs.store import BlobStore
from hugmood.eventstore.store import EventStore
from hugmood.sql.database import SqlDatabase


@dataclass(frozen=True, slots=True)
class Dependencies:
    store: EventStore
    readmodels: SqlDatabase
    clock: Clock
    hasher: PasswordHasher
    throttle: LoginThrottle
    tokens: SessionTokens
    hug_limiter: RateLimiter
    blobs: BlobStore
    session_ttl_hours: float = 24 * 30
    age_required: int = 0
    """The verified age public check-ins and community features need (0: no check)."""
