"""Backends for integration tests: every test taking `settings` runs on each of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hugmood.config import Settings
from tests.conftest import POSTGRES_URL

BACKENDS = ["memory", "sqlite", "postgresql"]
DURABLE_BACKENDS = ["sqlite", "postgresql"]


def _settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgresql":
        schema: str = request.getfixturevalue("pg_schema")
        return Settings(database_url=POSTGRES_URL, postgres_schema=schema, data_dir=tmp_path)
    return Settings(database_url=request.param, data_dir=tmp_path)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return _settings(request, tmp_path)


@pytest.fixture(params=DURABLE_BACKENDS)
def durable_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Backends that keep data across a restart (memory, by design, does not)."""
    return _settings(request, tmp_path)
