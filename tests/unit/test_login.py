"""Logging in: the same answer and the same work for unknown handles and wrong passwords."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.handlers.identity import NewSession, log_in, register_user
from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.domain import identity as idm
from hugmood.domain.errors import RateLimited, Unauthenticated
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.security.ratelimit import SlidingWindowLimiter
from hugmood.security.throttle import InMemoryLoginThrottle
from hugmood.security.tokens import HmacSessionTokens
from hugmood.sql.sqlite import SqliteDatabase
from tests.fakes import CountingHasher, FixedClock

CTX = CommandContext()


@pytest.fixture
async def deps() -> AsyncIterator[Dependencies]:
    db = SqliteDatabase(None)
    yield Dependencies(
        store=InMemoryEventStore(),
        readmodels=db,
        clock=FixedClock(),
        hasher=CountingHasher(),
        throttle=InMemoryLoginThrottle(max_failures=3),
        tokens=HmacSessionTokens(b"k" * 32),
        hug_limiter=SlidingWindowLimiter(limit=30, window_s=60, what="hugs"),
        blobs=InMemoryBlobStore(),
    )
    await db.close()


async def failure(deps: Dependencies, handle: str, password: str) -> tuple[str, int]:
    hasher = deps.hasher
    assert isinstance(hasher, CountingHasher)
    before = hasher.verifications
    with pytest.raises(Unauthenticated) as caught:
        await log_in(idm.LogIn(handle, password), deps, CTX)
    return caught.value.message, hasher.verifications - before


async def test_unknown_handles_and_wrong_passwords_look_the_same(deps: Dependencies) -> None:
    await register_user(idm.RegisterUser("alice", "Alice", "right password", "eu-west"), deps, CTX)
    assert await failure(deps, "alice", "wrong password") == await failure(
        deps, "nobody", "wrong password"
    )
    message, work = await failure(deps, "nobody", "x")
    assert work == 1
    assert "incorrect" in message


async def test_a_login_stores_only_a_digest_of_the_token(deps: Dependencies) -> None:
    await register_user(idm.RegisterUser("alice", "Alice", "right password", "eu-west"), deps, CTX)
    result = await log_in(idm.LogIn("alice", "right password"), deps, CTX)
    session = result.value
    assert isinstance(session, NewSession)
    stored = await deps.store.read_all(0, 1000)
    assert all(session.token not in str(e.data) for e in stored)
    assert any(e.data.get("tokenHash") == deps.tokens.digest(session.token) for e in stored)


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    deps: Dependencies,
) -> None:
    await register_user(idm.RegisterUser("alice", "Alice", "right password", "eu-west"), deps, CTX)
    for _ in range(3):
        await failure(deps, "alice", "wrong password")
    with pytest.raises(RateLimited):
        await log_in(idm.LogIn("alice", "right password"), deps, CTX)
    for _ in range(3):
        await failure(deps, "ghost", "wrong password")
    with pytest.raises(RateLimited):
        await log_in(idm.LogIn("ghost", "whatever"), deps, CTX)
