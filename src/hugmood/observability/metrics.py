"""Prometheus metrics of the HTTP layer and the event log, on a registry per app."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
