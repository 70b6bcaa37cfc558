"""Prometheus metrics of the HTTP layer, the event log and the services, on a registry per
app."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from hugmood.observability.delivery import DeliveryCollector


class Supervised(Protocol):
    """A service as metrics see it (`hugmood.services.Service`)."""

    name: str
    crashes: int


@runtime_checkable
class Exporting(Protocol):
    """A service that keeps metrics of its own (the service mesh's requests and latencies),
    exported beside its crash count."""

    def metric_families(self) -> Iterable[Metric]: ...


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "hugmood_http_requests",
            "HTTP requests by route and status class",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hugmood_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.log_position = Gauge(
            "hugmood_event_log_position",
            "Highest position in the event log",
            registry=self.registry,
        )
        self.projection_position = Gauge(
            "hugmood_read_models_position",
            "Position every read model reflects",
            registry=self.registry,
        )
        self.registry.register(DeliveryCollector())

    def watch_services(self, services: Sequence[Supervised]) -> Collector:
        """Export each service's crash count (`hugmood_service_crashes_total{service}`) and
        the metrics of those that keep their own (`Exporting`); unregister the collector
        returned when they stop."""
        collector = _ServiceCrashes(services)
        self.registry.register(collector)
        return collector


class _ServiceCrashes(Collector):
    def __init__(self, services: Iterable[Supervised]) -> None:
        self._services = tuple(services)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "hugmood_service_crashes",
            "Crashes of a long-lived service's loop (each was restarted)",
            labels=["service"],
        )
        for service in self._services:
            family.add_metric([service.name], service.crashes)
        yield family
        for service in self._services:
            if isinstance(service, Exporting):
                yield from service.metric_families()
