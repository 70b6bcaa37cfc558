"""Per-service request counts and latencies of the mesh, exported with the process's other
services' metrics at `/metrics` (`observability.metrics.Metrics.watch_services`)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric


class MeshMetrics:
    """`hugmood_mesh_requests_total{service,endpoint,code}` and
    `hugmood_mesh_request_seconds{service,endpoint}`, as this process served them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "hugmood_mesh_requests",
            "Mesh requests this process answered, by service, endpoint and reply code",
            ["service", "endpoint", "code"],
            registry=registry,
        )
        self.latency = Histogram(
            "hugmood_mesh_request_seconds",
            "Time this process took to answer a mesh request, by service and endpoint",
            ["service", "endpoint"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )

    def observe(self, service: str, endpoint: str, code: str, seconds: float) -> None:
        self.requests.labels(service, endpoint, code).inc()
        self.latency.labels(service, endpoint).observe(seconds)

    def metric_families(self) -> Iterable[Metric]:
        """Both metrics as they stand now, for a collector of another registry."""
        return self.registry.collect()
