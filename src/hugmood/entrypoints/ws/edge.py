"""What every GraphQL socket of a process shares: how operations run, the registry that looks
after all sockets, the per-user message limit, and the socket limits."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.application.ports import RateLimiter
from hugmood.entrypoints.graphql.operations import Operations
from hugmood.entrypoints.ws.registry import SocketRegistry


@dataclass(frozen=True, slots=True)
class SocketEdge:
    """What every socket of this process shares."""

    operations: Operations
    registry: SocketRegistry
    limiter: RateLimiter
    """Messages per user over all their sockets in this process."""
    max_operations: int
    init_timeout_s: float
