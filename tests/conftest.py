"""Shared fixtures: unique ids, and PostgreSQL schemas that isolate each test."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

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


NATS_URL = os.environ.get("HUGMOOD_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _nats_reachable() -> str | None:
    """Whether a NATS server answers at NATS_URL (its INFO line), checked without an event
    loop so that async fixtures may ask for it."""
    address = urlsplit(NATS_URL)
    try:
        with socket.create_connection((address.hostname, address.port or 4222), timeout=3) as s:
            greeting = s.recv(7)
    except OSError as e:
        return str(e)
    return None if greeting.startswith(b"INFO") else f"no NATS greeting: {greeting!r}"


@pytest.fixture
def nats_url() -> str:
    """The machine's NATS with JetStream; each test names its own stream and subjects.
    Missing NATS fails under CI."""
    problem = _nats_reachable()
    if problem is not None:
        message = f"NATS is not reachable at {NATS_URL}: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: service-backed tests must run)")
        pytest.skip(message)
    return NATS_URL
