"""Fixtures that start HugMood servers (SQLite or PostgreSQL) and stop them afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import redis

from tests.conftest import IN_CI, POSTGRES_URL, unique
from tests.contracts.test_realtime_hub import REDIS_URL
from tests.e2e.server import HugMoodServer

StartServer = Callable[..., HugMoodServer]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """The settings that put the event log and read models on one backend."""
    if request.param == "postgresql":
        schema: str = request.getfixturevalue("pg_schema")
        return {"HUGMOOD_DATABASE_URL": POSTGRES_URL, "HUGMOOD_POSTGRES_SCHEMA": schema}
    return {"HUGMOOD_DATABASE_URL": "sqlite"}


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """`start_server(settings)` starts a server on a data dir of its own; all stop at the end."""
    servers: list[HugMoodServer] = []

    def start(settings: Mapping[str, str] | None = None) -> HugMoodServer:
        n = len(servers)
        server = HugMoodServer(tmp_path / f"data-{n}", tmp_path / f"logs-{n}", settings or {})
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def machine_redis() -> Iterator[tuple[str, str]]:
    """The machine's Redis and a key prefix no other test uses; the prefix's keys are removed
    afterwards. Missing Redis skips (fails under CI=true)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except (redis.RedisError, OSError) as e:
        client.close()
        message = f"Redis is not reachable at {REDIS_URL}: {e}"
        if IN_CI:
            pytest.fail(message + " (CI=true: service-backed tests must run)")
        pytest.skip(message)
    prefix = unique("two")
    try:
        yield REDIS_URL, prefix
    finally:
        keys = list(client.scan_iter(match=f"hm:{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
