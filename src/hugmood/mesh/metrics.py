"""Per-service request counts and latencies of the mesh, on the app's Prometheus registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class MeshMetrics:
    """`hugmood_mesh_requests_total{service,endpoint,code}` and
    `hugmood_mesh_request_seconds{service,endpoint}`, as this process served them."""

    def __init__(self, registry: CollectorRegistry) -> None:
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
