"""The edge's pieces as one object the composition root builds and the API consults: the
caches (public views, warmed personal views), verified sessions, the usage pattern, and the
store-and-forward queue with its forwarder, plus their metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from hugmood.application.dependencies import Dependencies
from hugmood.application.heavy_reads import HeavyReads
from hugmood.application.ports import ReadModelsProgress
from hugmood.application.queries.identity import Principal
from hugmood.edge.follower import CacheInvalidator
from hugmood.edge.forward import Forwarder, ForwardingBus
from hugmood.edge.public import PublicViews
from hugmood.edge.queue import HeldQueue
from hugmood.edge.sealing import QueueSeal
from hugmood.edge.sessions import MAX_SESSIONS, VerifiedSessions
from hugmood.edge.tagged import TaggedCache
from hugmood.edge.warming import PersonalViews, UsagePattern, Warmer
from hugmood.eventstore.store import EventStore
from hugmood.services import Service
from hugmood.sql.database import SqlDatabase
from hugmood.unavailable import BackendUnavailable


@dataclass
class Edge:
    """What this process does as an edge; `public`/`personal` are None with the cache off,
    `bus` None where nothing is held (a process that is not an edge)."""

    sessions: VerifiedSessions
    invalidator: CacheInvalidator
    public: PublicViews | None = None
    personal: PersonalViews | None = None
    usage: UsagePattern | None = None
    bus: ForwardingBus | None = None
    services: list[Service] = field(default_factory=list)
    reads: Callable[[], HeavyReads] | None = None
    """Where history is read from to warm it (over the mesh on an edge): set by the
    composition root once the mesh is open."""

    def verified(self, digest: str, principal: Principal) -> None:
        """The region vouched for a session (kept for while it is away); a use is seen."""
        self.sessions.verified(digest, principal)
        if self.usage is not None:
            self.usage.seen(principal.user_id, datetime.now(UTC))

    def vouch(self, digest: str) -> Principal | None:
        """While the region is away: a session it vouched for within the grace period."""
        return self.sessions.vouch(digest)

    def heavy_reads(self) -> HeavyReads:
        if self.reads is None:
            raise RuntimeError("the composition root sets the edge's reads before it starts")
        return self.reads()


class EdgeMetrics:
    """Hit ratios of the caches and the queue's counts, with no label naming anyone."""

    def __init__(
        self, caches: Iterable[TaggedCache[Any, Any]], forwarder: Forwarder | None
    ) -> None:
        self._caches = tuple(caches)
        self._forwarder = forwarder

    def metric_families(self) -> Iterator[Metric]:
        lookups = CounterMetricFamily(
            "hugmood_edge_cache_lookups",
            "Lookups in this edge's caches, by cache and result (hit or miss)",
            labels=["cache", "result"],
        )
        entries = GaugeMetricFamily(
            "hugmood_edge_cache_entries", "Entries in this edge's caches", labels=["cache"]
        )
        for cache in self._caches:
            lookups.add_metric([cache.name, "hit"], cache.hits)
            lookups.add_metric([cache.name, "miss"], cache.misses)
            entries.add_metric([cache.name], len(cache))
        yield lookups
        yield entries
        if self._forwarder is not None:
            held = CounterMetricFamily(
                "hugmood_edge_held_commands",
                "Check-ins and hugs this edge forwarded to the region or saw refused",
                labels=["outcome"],
            )
            held.add_metric(["forwarded"], self._forwarder.forwarded)
            held.add_metric(["refused"], self._forwarder.refused)
            yield held
            waiting = GaugeMetricFamily(
                "hugmood_edge_held_now",
                "Check-ins and hugs this edge holds for the region right now",
            )
            waiting.add_metric([], self._forwarder.held_now)
            yield waiting


class MeasuredInvalidator(CacheInvalidator):
    """The log follower, exporting the edge's metrics beside its crash count."""

    metrics: EdgeMetrics | None = None

    def metric_families(self) -> Iterator[Metric]:
        if self.metrics is not None:
            yield from self.metrics.metric_families()


async def open_edge(
    *,
    store: EventStore,
    readmodels: SqlDatabase,
    deps: Dependencies,
    progress: ReadModelsProgress,
    read_models_at: Callable[[], Awaitable[int]],
    known_position: Callable[[], int],
    cache: bool,
    queue_path: Path | None,
    secret_key: str,
    max_entries: int,
    ttl_s: float,
    session_grace_s: float,
) -> Edge:
    """The edge: caches when `cache`, store-and-forward when `queue_path` is given (close
    the queue with `close_edge`)."""
    # Verified sessions matter only where commands are held; elsewhere none are kept.
    sessions = VerifiedSessions(session_grace_s, max_sessions=MAX_SESSIONS if queue_path else 0)
    invalidator = MeasuredInvalidator(store, sessions)
    edge = Edge(sessions, invalidator, services=[invalidator])
    caches: list[TaggedCache[Any, Any]] = []
    if cache:
        public = PublicViews(
            readmodels,
            read_models_at=read_models_at,
            fresh=lambda: invalidator.position >= known_position(),
            max_entries=max_entries,
            ttl_s=ttl_s,
        )
        personal = PersonalViews(max_entries=max_entries, ttl_s=ttl_s)
        usage = UsagePattern(readmodels)
        caches = [*public.caches, personal.histories, personal.feeds]
        invalidator.caches = tuple(caches)
        invalidator.erased = _forgetting(usage)
        edge.public, edge.personal, edge.usage = public, personal, usage
        edge.services.append(Warmer(usage, personal, readmodels, edge.heavy_reads, read_models_at))
    forwarder = None
    if queue_path is not None:
        queue = await HeldQueue.open(queue_path, QueueSeal(secret_key))
        edge.bus = ForwardingBus(deps, progress, queue)
        forwarder = Forwarder(edge.bus)
        edge.services.append(forwarder)
    invalidator.metrics = EdgeMetrics(caches, forwarder)
    return edge


async def close_edge(edge: Edge) -> None:
    if edge.bus is not None:
        await edge.bus.queue.close()


def _forgetting(usage: UsagePattern) -> Callable[[str], None]:
    """Called (synchronously, from the log follower) when a person is erased."""
    tasks: set[asyncio.Task[None]] = set()

    def forget(user_id: str) -> None:
        async def run() -> None:
            with contextlib.suppress(BackendUnavailable):
                await usage.forget(user_id)

        task = asyncio.get_running_loop().create_task(run())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return forget
