"""How long what one person does takes to reach another, for the hug-delivery and
board-propagation SLOs (docs/operations/slos.md).

Both histograms are per process and carry no labels at all (no person, board or hug id): the
time from the event's append (its server-side timestamp) to its announcement on this process,
to this process's sockets (every process with sockets announces each hug to its own) or to a
board's open room. Every app's `/metrics` exports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_registry = CollectorRegistry()

HUG_DELIVERY = Histogram(
    "hugmood_hug_delivery_seconds",
    "From a hug's append to its announcement to this process's sockets (each process announces each hug)",
    buckets=_BUCKETS,
    registry=_registry,
)
BOARD_PROPAGATION = Histogram(
    "hugmood_board_propagation_seconds",
    "From a board edit's append on another process to its application to the open room here",
    buckets=_BUCKETS,
    registry=_registry,
)


def seconds_since(appended: datetime) -> float:
    """Seconds from an event's timestamp to now (0 when clocks disagree the other way)."""
    return max(0.0, (datetime.now(UTC) - appended).total_seconds())


class DeliveryCollector(Collector):
    """Exports the process's two delivery histograms through an app's own registry."""

    def collect(self) -> Iterator[Metric]:
        yield from _registry.collect()
