"""The distributed log as operators see it: `/healthz`'s bus fields and `/metrics`' consumer
lag, redeliveries, parked messages and relay lag."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Gauge

from hugmood.config import Settings
from hugmood.observability.metrics import Metrics
from hugmood.unavailable import BackendUnavailable

if TYPE_CHECKING:
    from hugmood.messaging.consumer import BusConsumer
    from hugmood.messaging.jetstream import Nats
    from hugmood.messaging.relay import EventRelay


class BusParts(Protocol):
    """What a process holds of the distributed log (the running core has each of these)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def nats(self) -> Nats | None: ...

    @property
    def relay(self) -> EventRelay | None: ...

    @property
    def consumers(self) -> tuple[BusConsumer, ...]: ...


PARKED_COUNT_TIMEOUT_S = 0.5
"""`/metrics` does not wait longer than this on NATS for the parked count."""


def bus_degraded(core: BusParts) -> bool:
    """Whether a part of the distributed log this process uses is away."""
    if core.nats is None and core.settings.nats_url:
        return True
    return any(not c.bus_ok for c in core.consumers) or (
        core.relay is not None and not core.relay.bus_ok
    )


def bus_health(core: BusParts, log_position: int) -> dict[str, object]:
    """`/healthz`'s view of the bus: which parts are up and how far behind each is."""
    if core.nats is None:
        # An edge started while NATS was away: it writes to the store and reads locally.
        return {"bus": "unreachable at start" if core.settings.nats_url else "embedded"}
    health: dict[str, object] = {"bus": "nats" if core.nats.bus.connected else "reconnecting"}
    if core.relay is not None:
        health["relay"] = {
            "reachable": core.relay.bus_ok,
            "publishing": core.relay.publishing,
            "lag": max(0, log_position - core.relay.position),
        }
    health["consumers"] = {
        c.name: {"reachable": c.bus_ok, "lag": max(0, log_position - c.position)}
        for c in core.consumers
    }
    return health


class BusGauges:
    """The gauges `observe_bus` sets, registered once per metrics registry."""

    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.consumer_lag = Gauge(
            "hugmood_bus_consumer_lag",
            "Events in the log a durable consumer has not applied yet",
            ["consumer"],
            registry=registry,
        )
        self.delivered = Gauge(
            "hugmood_bus_consumer_deliveries",
            "Messages this process's consumer received (since it started)",
            ["consumer"],
            registry=registry,
        )
        self.redelivered = Gauge(
            "hugmood_bus_consumer_redeliveries",
            "Messages received again after an ack wait or a nak (since it started)",
            ["consumer"],
            registry=registry,
        )
        self.parked_here = Gauge(
            "hugmood_bus_consumer_parked",
            "Messages this process's consumer parked (since it started)",
            ["consumer"],
            registry=registry,
        )
        self.unknown = Gauge(
            "hugmood_bus_consumer_unknown_types",
            "Events of a type this version does not know, acknowledged (since it started)",
            ["consumer"],
            registry=registry,
        )
        self.parked = Gauge(
            "hugmood_bus_parked_messages",
            "Messages waiting in the parked stream for an operator",
            registry=registry,
        )
        self.relay_lag = Gauge(
            "hugmood_bus_relay_lag",
            "Events in the log the relay has not published yet",
            registry=registry,
        )
        self.relay_publishing = Gauge(
            "hugmood_bus_relay_publishing",
            "1 if this process holds the relay's lease",
            registry=registry,
        )


_gauges: weakref.WeakKeyDictionary[CollectorRegistry, BusGauges] = weakref.WeakKeyDictionary()


async def observe_bus(metrics: Metrics, core: BusParts, log_position: int) -> None:
    """Set the bus gauges for one scrape (nothing when the bus is embedded)."""
    if core.nats is None:
        return
    gauges = _gauges.get(metrics.registry)
    if gauges is None:
        gauges = _gauges[metrics.registry] = BusGauges(metrics)
    for consumer in core.consumers:
        name = consumer.name
        gauges.consumer_lag.labels(name).set(max(0, log_position - consumer.position))
        gauges.delivered.labels(name).set(consumer.stats.delivered)
        gauges.redelivered.labels(name).set(consumer.stats.redelivered)
        gauges.parked_here.labels(name).set(consumer.stats.parked)
        gauges.unknown.labels(name).set(consumer.stats.unknown)
    if core.relay is not None:
        gauges.relay_lag.set(max(0, log_position - core.relay.position))
        gauges.relay_publishing.set(1 if core.relay.publishing else 0)
    with contextlib.suppress(BackendUnavailable, TimeoutError):
        async with asyncio.timeout(PARKED_COUNT_TIMEOUT_S):
            gauges.parked.set(await core.nats.parking.count())
