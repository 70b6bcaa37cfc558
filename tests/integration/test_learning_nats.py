"""The coordinator over NATS (the machine's, HUGMOOD_TEST_NATS_URL): of two processes running
it, the one holding the lease answers; another process's forwarded calls reach it, with the
refusal codes intact and the person the forwarder authenticated; when it stops, the other
takes over from the journal."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest

from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.domain.errors import ValidationFailed
from hugmood.eventstore.mapper import MappedEventStore, Mapper
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.eventstore.upcasting import NO_UPCASTERS
from hugmood.learning import model
from hugmood.learning.aggregation import UpdateRejected
from hugmood.learning.remote import CoordinatorResponder, RemoteCoordinator
from hugmood.learning.service import FederatedLearning, LearningSettings
from hugmood.learning.simulation import simulate
from hugmood.mesh.identity import RequestSigner, RequestVerifier
from hugmood.messaging.jetstream import NatsKvLease, connect
from hugmood.realtime.memory import InMemoryRealtimeHub

KEY = b"k" * 32
TTL_S = 1.5


async def eventually(condition: Callable[[], bool], what: str, deadline_s: float = 15.0) -> None:
    """Wait for `condition()` to hold, with a deadline."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {deadline_s} s"
        await asyncio.sleep(0.05)


async def test_the_lease_holder_answers_forwarded_calls_and_another_takes_over(
    nats_url: str,
) -> None:
    store = MappedEventStore(InMemoryEventStore(), Mapper(NO_UPCASTERS))
    blobs = InMemoryBlobStore()
    live = InMemoryRealtimeHub()
    run = uuid.uuid4().hex[:8]
    subject = f"hmtest.{run}.learning.calls"
    validation = simulate(0, seed=3, validation_people=3).validation
    async with AsyncExitStack() as stack:
        connections = []
        for _ in range(3):
            nc = await connect(nats_url)
            stack.push_async_callback(nc.close)
            connections.append(nc)

        def coordinator(n: int) -> FederatedLearning:
            nc = connections[n]
            lease = NatsKvLease(nc.jetstream(), f"HMTEST_{run}", "learning", f"p{n}", TTL_S)
            return FederatedLearning(
                store,
                blobs,
                live,
                LearningSettings(round_seconds=60, tick_seconds=0.05),
                validation=validation,
                lease=lease,
                responder=CoordinatorResponder(nc, RequestVerifier(KEY), subject),
            )

        first, second = coordinator(0), coordinator(1)
        forwarder = RemoteCoordinator(connections[2], RequestSigner(KEY, "edge:test:1"), subject)
        await first.__aenter__()
        await second.__aenter__()
        await eventually(lambda: first.active or second.active, "a coordinator taking the lease")
        assert not (first.active and second.active)
        active, standby = (first, second) if first.active else (second, first)
        stack.push_async_callback(standby.__aexit__, None, None, None)

        assert (await forwarder.call("status", "ann", "phone", {}))["consent"] is False
        with pytest.raises(UpdateRejected) as refused:
            await forwarder.call("register", "ann", "phone", {"parameters": model.PARAMETERS})
        assert refused.value.code == "NO_CONSENT"
        with pytest.raises(ValidationFailed):
            await forwarder.call("consent", "ann", "phone", {"consent": "yes"})
        await forwarder.call("consent", "ann", "phone", {"consent": True})
        await forwarder.call("register", "ann", "phone", {"parameters": model.PARAMETERS})
        status = await forwarder.call("status", "ann", "phone", {})
        assert status["consent"] is True and status["registered"] is True
        # the forwarder speaks for the person it names, nobody else's consent changed
        assert (await forwarder.call("status", "ben", "phone", {}))["consent"] is False

        await active.__aexit__(None, None, None)  # it stops and gives the lease up
        await eventually(lambda: standby.active, "the standby taking over")
        status = await forwarder.call("status", "ann", "phone", {})
        assert status["consent"] is True and status["registered"] is True
        await connections[2].jetstream().delete_key_value(f"HMTEST_{run}")
