"""The lease port: who may do a job that exactly one process should do at a time (publishing
the log to the bus). Backends: one process (always held) and a NATS KV key with a TTL
(`jetstream.NatsKvLease`)."""

from __future__ import annotations

from typing import Protocol


class Lease(Protocol):
    holder: str
    """Who this process is, as the lease records it (for logs and operators)."""
    ttl_s: float
    """A holder that stops renewing loses the lease after this long; renew well before."""

    @property
    def held(self) -> bool:
        """Whether the last acquire or renewal succeeded (it may have expired since)."""
        ...

    async def acquire(self) -> bool:
        """Take the lease if nobody holds it (or renew it if this process does); True if held.
        Raises `BusUnavailable` when the backend cannot say."""
        ...

    async def renew(self) -> bool:
        """Keep the lease for another `ttl_s`; False if it was lost (expired and taken, or
        never held). Raises `BusUnavailable` when the backend cannot say: count it as lost."""
        ...

    async def release(self) -> None:
        """Give the lease up now, so a successor need not wait for it to expire."""
        ...


class SingleProcessLease:
    """The lease of a deployment that is one process: always this process's."""

    def __init__(self, holder: str = "this process", ttl_s: float = 5.0) -> None:
        self.holder = holder
        self.ttl_s = ttl_s
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    async def acquire(self) -> bool:
        self._held = True
        return True

    async def renew(self) -> bool:
        return self._held

    async def release(self) -> None:
        self._held = False
