"""Federated learning in a distributed HugMood (`hugmood distributed`: two edges, two
workers, PostgreSQL, Redis, NATS): the workers compete for the coordinator's lease, the
edges forward devices' calls to whichever holds it, a round runs through both edges, and
workers killed with SIGKILL mid-round leave it abandoned with nothing counted twice."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.test_distributed import Deployment, deployment  # noqa: F401 (a fixture)
from tests.e2e.test_learning_rounds import HttpDevice, join_and_share, opted_in, send_masked

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
DEADLINE_S = 60.0


def _status(device: HttpDevice) -> Any:
    """The status, asked again while the edges wait for a coordinator to take over."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        with device.http() as http:
            response = http.get("")
        if response.status_code != 503:
            assert response.is_success, response.text
            return response.json()
        assert time.monotonic() < deadline, f"no coordinator answered: {response.text}"
        time.sleep(0.2)


def test_edges_forward_a_round_to_the_one_coordinator_and_a_killed_one_is_replaced(
    deployment: Deployment,  # noqa: F811 (the imported fixture)
) -> None:
    d = deployment

    def sign_up_at(n: int) -> str:
        token = d.user(n % 2, f"fl{n}").api.token
        assert token is not None
        return token

    edge = d.edge(0)
    devices = opted_in(edge, 3, sign_up_at)
    # each person's device talks to the other edge from now on: one coordinator sees it all
    for n, device in enumerate(devices):
        device.server = d.edge((n + 1) % 2)
    status = _status(devices[0])
    assert status["devices"] == 3 and status["consent"] is True
    number, version = join_and_share(devices)
    assert send_masked(devices[0], number, version, "before-the-kill").status_code == 201

    for worker in d.topology.workers:  # whichever held the lease is killed at some point
        worker.kill()
        worker.start()
        worker.wait_until_healthy()
    deadline = time.monotonic() + DEADLINE_S
    while True:
        closed = [r for r in _status(devices[1])["rounds"] if r["round"] == number]
        if closed:
            break
        assert time.monotonic() < deadline, "the interrupted round never ended"
        time.sleep(0.2)
    assert closed[0]["outcome"] == "abandoned" and closed[0]["participants"] == 1

    for device in devices:
        device.key, device.client = type(device.key).generate(), None
    again, version = join_and_share(devices)
    assert again > number
    replayed = send_masked(devices[0], again, version, "before-the-kill")
    assert replayed.status_code == 409
    assert replayed.json()["errors"][0]["extensions"]["code"] == "REPLAYED"
