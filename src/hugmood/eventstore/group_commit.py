"""Group commit: concurrent appends queue up and one flusher writes them in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from hugmood.eventstore.store import EventStoreUnavailable

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")

Flush = Callable[[list[RequestT]], Awaitable[list[ResultT | Exception]]]
"""Writes requests in one transaction; returns each one's result or error, in order."""


class GroupCommit(Generic[RequestT, ResultT]):
    """Hands every request pending at that moment to `flush` at once, so they share one commit.

    While a flush is in flight new requests queue up and the next flush takes all of them: a
    lone request is written at once, and under load the batch grows with the load, so many
    appends share one fsync instead of waiting for one each.
    """

    def __init__(self, flush: Flush[RequestT, ResultT]) -> None:
        self._flush = flush
        self._pending: list[tuple[RequestT, asyncio.Future[ResultT]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, request: RequestT) -> ResultT:
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._run())
        return await future

    async def drain(self) -> None:
        """Wait until every request submitted so far has been written (or has failed)."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _run(self) -> None:
        batch: list[tuple[RequestT, asyncio.Future[ResultT]]] = []
        try:
            while self._pending:
                # A caller cancelled before its turn has given up: leave its request unwritten.
                batch = [(r, f) for r, f in self._pending if not f.done()]
                self._pending = []
                if not batch:
                    continue
                try:
                    outcomes = await self._flush([r for r, _ in batch])
                except Exception as e:
                    outcomes = [e] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                batch = []
        finally:
            self._flusher = None
            # Only reached with work left when this task itself was cancelled mid-flush.
            for _, future in [*batch, *self._pending]:
                if not future.done():
                    future.set_exception(
                        EventStoreUnavailable(
                            "the append was interrupted and may or may not have been stored; "
                            "retry it (appends are idempotent by event id)"
                        )
                    )
            self._pending = []
