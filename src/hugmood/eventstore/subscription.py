"""Catch-up subscriptions: read everything after a checkpoint, then wake on each new append;
and the follower service that runs a live consumer of the log on them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.services import Loop, Service

_log = logging.getLogger(__name__)


async def catch_up(
    store: EventStore,
    after_position: int,
    *,
    batch_size: int = 500,
    safety_poll_s: float = 1.0,
) -> AsyncIterator[list[RecordedEvent]]:
    """Yield batches of events after `after_position` forever, in position order.

    Resuming from a checkpoint is passing the last position handled. Between batches it waits
    on the store's append notification, so a new event arrives without a polling delay; the
    `safety_poll_s` re-read only covers appends made by other processes without notification.
    """
    position = after_position
    while True:
        batch = await store.read_all(position, batch_size)
        if batch:
            position = batch[-1].position
            yield batch
            continue
        await store.wait_for_append(position, safety_poll_s)


async def follow(
    store: EventStore,
    after_position: int,
    handle: Callable[[RecordedEvent], Awaitable[None]],
    *,
    log: logging.Logger,
    what: str,
) -> None:
    """Hand every event after `after_position` to `handle`, forever. For live work layered on
    durable state (pushes, relays): an event whose handling fails is logged and skipped, and
    the follower carries on with the next."""
    position = after_position
    while True:
        try:
            async for batch in catch_up(store, position):
                for event in batch:
                    await handle(event)
                    position = event.position
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed at position %s; continuing", what, position + 1)
            position += 1
            await asyncio.sleep(0.1)


class LogConsumer(Service):
    """A live consumer of the log (a `Resume.FROM_NOW` entry of
    `application.consumers.EVENT_CONSUMERS`): besides any loops of its own, it follows the log
    from its end at start and hands `handle` each new event of its types; an event whose
    handling fails is logged and skipped."""

    def __init__(self, store: EventStore, types: frozenset[str] | None) -> None:
        super().__init__()
        self._log_store = store
        self._types = types
        self._start = 0

    async def handle(self, event: RecordedEvent) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say what an event does")

    async def starting(self) -> None:
        self._start = await self._log_store.last_position()

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("follow the log", self._follow)]

    async def _follow(self) -> None:
        await follow(self._log_store, self._start, self._handle, log=_log, what=self.name)

    async def _handle(self, event: RecordedEvent) -> None:
        if self._types is None or event.event_type in self._types:
            await self.handle(event)
