"""Fixtures that start HugMood servers (SQLite or PostgreSQL) and stop them afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL
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
