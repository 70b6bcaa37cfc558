"""A real Prometheus (Debian's) scrapes a running HugMood every second with the SLO rules
loaded; after a few check-ins and a hug, the recording rules' values come back through its
HTTP query API."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deploy.tools import DEPLOY, tool
from tests.e2e.client import befriend, record_mood, sign_up
from tests.e2e.server import HugMoodServer, free_port, running_server

pytestmark = pytest.mark.e2e

RULES = DEPLOY / "prometheus" / "hugmood-slos.rules.yml"
READY_DEADLINE_S = 10.0
VALUES_DEADLINE_S = 15.0
SEND_HUG = "mutation($i: SendHugInput!) { sendHug(input: $i) { id } }"


@contextlib.contextmanager
def prometheus_scraping(target: str, root: Path) -> Iterator[str]:
    """Prometheus on a private port with the SLO rules, scraping `target` every second."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "hugmood", "static_configs": [{"targets": [target]}]}],
    }
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (root / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                tool("prometheus"),
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_DEADLINE_S
        while httpx_status(f"{url}/-/ready") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "Prometheus did not become ready:\n"
                    + (root / "prometheus.log").read_text(errors="replace")[-3000:]
                )
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def httpx_status(url: str) -> int:
    try:
        return httpx.get(url, timeout=1.0).status_code
    except httpx.TransportError:
        return 0


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5.0)
    answer.raise_for_status()
    body = answer.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def value_of(prometheus: str, expr: str) -> float | None:
    """The single sample's value of `expr`, or None while Prometheus has none."""
    result = query(prometheus, expr)
    return float(result[0]["value"][1]) if len(result) == 1 else None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HugMoodServer]:
    with running_server(tmp_path / "data", tmp_path / "logs", {}) as running:
        yield running


def test_prometheus_records_the_slis_of_a_running_hugmood(
    server: HugMoodServer, tmp_path: Path
) -> None:
    with prometheus_scraping(f"127.0.0.1:{server.port}", tmp_path) as prometheus:
        ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
        befriend(ann, ben)
        # A rate needs the counters scraped before the traffic it measures.
        scraped = 'hugmood_http_requests_total{route="/graphql"}'
        deadline = time.monotonic() + READY_DEADLINE_S
        while not query(prometheus, scraped) and time.monotonic() < deadline:
            time.sleep(0.1)
        for intensity in (0.2, 0.5, 0.8):
            record_mood(ann, moodType="calm", intensity=intensity)
        ann.api(SEND_HUG, i={"to": ben.handle, "hugType": "WARM"})

        wanted = {
            "check-ins per second": "hugmood:checkin_requests:rate5m",
            "check-in errors": 'hugmood:slo_errors:ratio_rate5m{slo="checkin-availability"}',
            "slow check-ins": 'hugmood:slo_errors:ratio_rate5m{slo="checkin-latency"}',
            "slow hugs": 'hugmood:slo_errors:ratio_rate5m{slo="hug-delivery"}',
            "hug delivery p99": "hugmood:hug_delivery_seconds:p99_5m",
            "consumer lag": "hugmood:consumer_lag:max",
            "objective": 'hugmood:slo_objective:ratio{slo="checkin-availability"}',
        }
        deadline = time.monotonic() + VALUES_DEADLINE_S
        values: dict[str, float | None] = {}
        while time.monotonic() < deadline:
            values = {name: value_of(prometheus, expr) for name, expr in wanted.items()}
            if None not in values.values() and (values["check-ins per second"] or 0) > 0:
                break
            time.sleep(0.25)
        else:
            raise AssertionError(f"recording rules not all recorded in time: {values}")

        # Values, not speed (measured in bench/, never asserted here): no check-in failed,
        # the latency ratios are ratios, and the hug was timed.
        assert values["check-in errors"] == 0.0
        for name in ("slow check-ins", "slow hugs"):
            ratio = values[name]
            assert ratio is not None and 0.0 <= ratio <= 1.0, name
        assert values["hug delivery p99"] is not None and values["hug delivery p99"] > 0
        assert values["consumer lag"] is not None and values["consumer lag"] >= 0
        assert values["objective"] == 0.999
        assert query(prometheus, "ALERTS") == []
