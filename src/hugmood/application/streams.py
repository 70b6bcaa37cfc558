"""Load an aggregate's state from its stream, decide, and append with optimistic concurrency."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from hugmood.application.eventmapping import CommandContext, from_recorded, to_new_event
from hugmood.application.ports import Clock
from hugmood.domain.common import DomainEvent
from hugmood.eventstore.store import AppendResult, ConcurrencyError, EventStore
from hugmood.ids import StreamId, UserId

S = TypeVar("S")

MAX_ATTEMPTS = 10
BACKOFF_S = 0.005
"""Before retry n, a random pause of up to BACKOFF_S * 2**n (at most MAX_BACKOFF_S): writers
that collided on one stream spread out instead of colliding again at once."""
MAX_BACKOFF_S = 0.2


@dataclass(frozen=True, slots=True)
class Loaded(Generic[S]):
    state: S
    version: int


async def load(
    store: EventStore, stream_id: StreamId, initial: S, evolve: Callable[[S, DomainEvent], S]
) -> Loaded[S]:
    state, version = initial, 0
    for recorded in await store.read_stream(stream_id):
        state = evolve(state, from_recorded(recorded))
        version = recorded.stream_version
    return Loaded(state, version)


async def decide_and_append(
    store: EventStore,
    clock: Clock,
    *,
    stream_id: StreamId,
    initial: S,
    evolve: Callable[[S, DomainEvent], S],
    decide: Callable[[S], list[DomainEvent]],
    user_id: UserId | None,
    context: CommandContext,
    event_ids: Callable[[int], UUID | None] = lambda _: None,
) -> AppendResult | None:
    """Read the stream, decide on its current state, append; on a concurrent write, retry.

    Returns `None` when the decision was to change nothing.
    """
    for attempt in range(MAX_ATTEMPTS):
        loaded = await load(store, stream_id, initial, evolve)
        decided = decide(loaded.state)
        if not decided:
            return None
        now = clock.now()
        events = [
            to_new_event(e, user_id=user_id, context=context, now=now, event_id=event_ids(i))
            for i, e in enumerate(decided)
        ]
        try:
            return await store.append(stream_id, events, expected_version=loaded.version)
        except ConcurrencyError:
            if attempt == MAX_ATTEMPTS - 1:
                raise
            pause = min(MAX_BACKOFF_S, BACKOFF_S * 2**attempt)
            await asyncio.sleep(random.uniform(0, pause))
    raise AssertionError("unreachable")
