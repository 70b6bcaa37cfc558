"""Shared fixtures: unique ids, and PostgreSQL schemas that isolate each test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

POSTGRES_URL = os.environ.get(
    "HUGMOOD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unique(prefix: str) -> str:
    """A name no other test (or test run sharing the same database) will use."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def _postgres_reachable() -> str | None:
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as e:
        return str(e)
    await conn.close()
    return None


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards. Missing PostgreSQL fails under CI."""
    problem = await _postgres_reachable()
    if problem is not None:
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: service-backed tests must run)")
        pytest.skip(message)
    schema = unique("t")
    yield schema
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
