"""Catch-up subscriptions: read everything after a checkpoint, then wake on each new append."""

from __future__ import annotations

from collections.abc import AsyncIterator

from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.store import EventStore


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
