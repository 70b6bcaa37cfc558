"""Two regions, each a deployment of its own with a NATS of its own, the two NATS servers joined
as two regions' would be (issue 18): by a gateway (clusters `eu` and `us`) or by a leaf-node
connection (JetStream domains `eu` and `us`). The regions call each other over it
(`HUGMOOD_FEDERATION_TRANSPORT=nats`): friends across the border see what the other shares,
exchange hugs live, and nothing personal crosses (the canary). Cutting the link (the US
NATS killed) makes what needs the US region UNAVAILABLE, never a 500, while EU people keep
checking in; once it is back, the same call works again."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, POSTGRES_URL
from tests.e2e.client import GraphQLFailure, befriend, history_ids, record_mood
from tests.e2e.conftest import StartServer
from tests.e2e.server import free_port
from tests.e2e.test_regions import SEND_HUG
from tests.e2e.test_regions_friends import (
    FRIENDS,
    INBOX,
    friends_across_the_border,
    pair_decided_in_the_eu,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

KEY = "n" * 40
LINK_DEADLINE_S = 30.0


@dataclass
class RegionNats:
    """One region's private `nats-server` with JetStream, its store in a folder and its config
    in a file naming the other region's server (`link`: gateway or leafnode)."""

    cluster: str
    binary: str
    folder: Path
    port: int = field(default_factory=free_port)
    monitor: int = field(default_factory=free_port)
    link_port: int = field(default_factory=free_port)
    route_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def configure(self, link: str, other: RegionNats, *, hub: bool) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        common = f"""
server_name: {self.cluster}1
listen: 127.0.0.1:{self.port}
http: 127.0.0.1:{self.monitor}
"""
        if link == "gateway":
            # Gateways make one JetStream of the two clusters, which a server clusters only
            # with a route: a route to itself makes a cluster of one.
            text = f"""{common}
jetstream {{ store_dir: "{self.folder / "store"}" }}
cluster {{
  name: {self.cluster}
  listen: 127.0.0.1:{self.route_port}
  routes: ["nats://127.0.0.1:{self.route_port}"]
}}
gateway {{
  name: {self.cluster}
  listen: 127.0.0.1:{self.link_port}
  gateways: [{{ name: {other.cluster}, urls: ["nats://127.0.0.1:{other.link_port}"] }}]
}}
"""
        else:
            # A leaf node keeps each region's JetStream its own (a domain each).
            leaf = (
                f"leafnodes {{ listen: 127.0.0.1:{self.link_port} }}"
                if hub
                else f'leafnodes {{ remotes: [{{ url: "nats-leaf://127.0.0.1:{other.link_port}" }}] }}'
            )
            text = f"""{common}
jetstream {{ store_dir: "{self.folder / "store"}", domain: {self.cluster} }}
{leaf}
"""
        (self.folder / "nats.conf").write_text(text)

    def start(self) -> None:
        with (self.folder / "nats.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.folder / "nats.conf")],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def monitoring(self, page: str) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(
            f"http://127.0.0.1:{self.monitor}/{page}", timeout=2
        ).json()
        return answer

    def linked(self, link: str, other: RegionNats) -> bool:
        """Whether this server reaches the other region's, and its JetStream answers."""
        if link == "gateway":
            gateways = self.monitoring("gatewayz")
            outbound = gateways.get("outbound_gateways", {}).get(other.cluster, {})
            inbound = gateways.get("inbound_gateways", {}).get(other.cluster)
            leader = self.monitoring("jsz").get("meta_cluster", {}).get("leader")
            return bool(outbound.get("connection")) and bool(inbound) and bool(leader)
        return int(self.monitoring("leafz").get("leafnodes", 0)) > 0


@dataclass
class TwoRegionsNats:
    link: str
    eu: RegionNats
    us: RegionNats

    def wait_until_linked(self) -> None:
        deadline = time.monotonic() + LINK_DEADLINE_S
        while True:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                if self.eu.linked(self.link, self.us) and self.us.linked(self.link, self.eu):
                    return
            for server in (self.eu, self.us):
                assert server.process is not None and server.process.poll() is None, (
                    server.folder / "nats.log"
                ).read_text()[-2000:]
            assert time.monotonic() < deadline, f"the {self.link} never connected"
            time.sleep(0.1)


@pytest.fixture(params=["gateway", "leafnode"])
def regions_nats(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TwoRegionsNats]:
    binary = shutil.which("nats-server")
    if binary is None:
        message = "nats-server is not installed"
        if IN_CI:
            pytest.fail(message + " (CI=true: the tests of regions over NATS must run)")
        pytest.skip(message)
    link: str = request.param
    pair = TwoRegionsNats(
        link,
        RegionNats("eu", binary, tmp_path / "nats-eu"),
        RegionNats("us", binary, tmp_path / "nats-us"),
    )
    pair.eu.configure(link, pair.us, hub=False)
    pair.us.configure(link, pair.eu, hub=True)
    try:
        pair.eu.start()
        pair.us.start()
        pair.wait_until_linked()
        yield pair
    finally:
        pair.eu.kill()
        pair.us.kill()


def eventually(what: str, check: Any, deadline_s: float = 30.0) -> Any:
    """`check()`'s first truthy value, asked until `deadline_s` has passed."""
    deadline = time.monotonic() + deadline_s
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


async def test_friends_across_regions_whose_nats_servers_are_linked(
    start_server: StartServer, pg_schema: str, regions_nats: TwoRegionsNats
) -> None:
    shared = {
        "HUGMOOD_FEDERATION_KEY": KEY,
        "HUGMOOD_FEDERATION_TRANSPORT": "nats",
        "HUGMOOD_DIRECTORY_URL": POSTGRES_URL,
    }
    us = start_server(
        {
            "HUGMOOD_REGION": "us-east",
            "HUGMOOD_DATABASE_URL": POSTGRES_URL,
            "HUGMOOD_POSTGRES_SCHEMA": pg_schema,
            "HUGMOOD_NATS_URL": regions_nats.us.url,
        }
        | shared
    )
    # The EU edge passes US people's requests on over HTTP; the regions call each other over
    # NATS, by name.
    edge = start_server(
        {
            "HUGMOOD_REGIONS": "eu-west",
            "HUGMOOD_REGION": "eu-west",
            "HUGMOOD_REGION_URLS": f"us-east={us.url}",
            "HUGMOOD_NATS_URL": regions_nats.eu.url,
        }
        | shared
    )
    # A board's socket still goes to its region's URL: the US region learns the EU edge's.
    us.stop()
    us.env["HUGMOOD_REGION_URLS"] = f"eu-west={edge.url}"
    us.start(port=us.port)
    await friends_across_the_border(edge, us)

    greta, sam = pair_decided_in_the_eu(edge)
    befriend(greta, sam)
    assert [f["profile"]["handle"] for f in sam.api(FRIENDS)["friendsPresence"]] == [greta.handle]

    regions_nats.us.kill()
    # What needs the US region says so clearly, never a 500 (`attempt` fails the test on one).
    away = greta.api.attempt(SEND_HUG, i={"to": sam.handle, "hugType": "WARM"})
    assert isinstance(away, GraphQLFailure)
    assert away.errors[0]["extensions"]["code"] == "UNAVAILABLE"
    # What the EU region does alone goes on.
    entry = record_mood(greta, moodType="calm", intensity=0.4, note="while the link is down")
    eventually(
        "Greta's check-in never reached her history",
        lambda: entry["id"] in history_ids(greta),
    )

    regions_nats.us.start()
    regions_nats.wait_until_linked()

    def hug_sent() -> str | None:
        sent = greta.api.attempt(
            SEND_HUG, i={"to": sam.handle, "hugType": "WARM", "message": "back"}
        )
        if isinstance(sent, GraphQLFailure):
            assert sent.errors[0]["extensions"]["code"] == "UNAVAILABLE", sent.errors
            return None
        hug_id: str = sent["sendHug"]["id"]
        return hug_id

    hug_id = eventually("the hug never went through once the link was back", hug_sent)
    eventually(
        "the hug never reached Sam's inbox",
        lambda: [(h["id"], h["message"]) for h in sam.api(INBOX)["inbox"]] == [(hug_id, "back")],
    )
