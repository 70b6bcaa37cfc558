"""`HUGMOOD_FEDERATION_TRANSPORT`: refused unless http or nats, and nats only with the key and a
NATS to carry the calls; with nats, every other region of the regions file is reached over
NATS (none needs a URL), and a board abroad is opened at the region's URL where one is given."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hugmood.config import ConfigError, Settings
from hugmood.regions.directory import Directory
from hugmood.regions.federation import LocalPeer, RegionFederation, RegionUnreachable
from hugmood.regions.hosting import open_federation
from hugmood.regions.policy import open_policies
from hugmood.sql.sqlite import SqliteDatabase

KEY = "k" * 40
NATS = {"HUGMOOD_FEDERATION_KEY": KEY, "HUGMOOD_NATS_URL": "nats://127.0.0.1:4222"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HUGMOOD_FEDERATION_TRANSPORT": "grpc"}, "must be http or nats"),
        ({"HUGMOOD_FEDERATION_TRANSPORT": "nats"}, "needs HUGMOOD_FEDERATION_KEY"),
        (
            {"HUGMOOD_FEDERATION_TRANSPORT": "nats", "HUGMOOD_FEDERATION_KEY": KEY},
            "HUGMOOD_NATS_URL",
        ),
    ],
)
def test_a_transport_that_cannot_work_stops_the_start(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_http_stays_the_default() -> None:
    assert Settings.from_env({}).federation_transport == "http"
    assert Settings.from_env({"HUGMOOD_FEDERATION_TRANSPORT": "nats", **NATS})


@pytest.fixture
async def directory() -> AsyncIterator[Directory]:
    found = await Directory.open(SqliteDatabase(None))
    yield found
    await found.close()


def opened(settings: Settings, directory: Directory) -> RegionFederation:
    geography = open_policies(settings).geography
    return open_federation(settings, geography, directory, {})


async def test_over_nats_every_other_region_is_reachable_without_a_url(
    directory: Directory,
) -> None:
    settings = Settings.from_env(
        {"HUGMOOD_REGION": "eu-west", "HUGMOOD_FEDERATION_TRANSPORT": "nats", **NATS}
    )
    federation = opened(settings, directory)
    try:
        assert federation.regions() == ["us-east"]
        with pytest.raises(RegionUnreachable, match="HUGMOOD_REGION_URLS"):
            await federation.open_board("us-east", "board-1", "u-1")
    finally:
        await federation.close()


async def test_over_http_only_the_regions_with_a_url_are_reachable(directory: Directory) -> None:
    settings = Settings.from_env({"HUGMOOD_REGION": "eu-west", "HUGMOOD_FEDERATION_KEY": KEY})
    federation = opened(settings, directory)
    assert federation.regions() == []
    await federation.close()


async def test_a_region_hosted_here_is_still_called_directly(directory: Directory) -> None:
    settings = Settings.from_env(
        {"HUGMOOD_REGION": "eu-west", "HUGMOOD_FEDERATION_TRANSPORT": "nats", **NATS}
    )
    local = LocalPeer("us-east", caller="eu-west", endpoint=lambda: None)
    geography = open_policies(settings).geography
    federation = open_federation(settings, geography, directory, {"us-east": local})
    try:
        with pytest.raises(RegionUnreachable, match="not running"):
            await federation.call("us-east", "profile", {})
    finally:
        await federation.close()
