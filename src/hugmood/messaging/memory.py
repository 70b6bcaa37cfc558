"""The in-process bus: the embedded default, one process, nothing kept across a restart (the
event store is the truth; the relay publishes again from its checkpoint)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from hugmood.messaging.bus import (
    BusUnavailable,
    Delivery,
    OutgoingMessage,
    Published,
    StreamSettings,
    subject_matches,
)


@dataclass(slots=True)
class _Consumer:
    filter_subject: str | None
    ack_wait_s: float
    max_ack_pending: int | None = None
    next_index: int = 0
    """Index in the stream of the first message never delivered to this consumer."""
    pending: dict[int, tuple[float, int]] = field(default_factory=dict)
    """Sequence → (redeliver-after time, attempts so far) of delivered, unacknowledged messages."""


@dataclass(frozen=True, slots=True)
class _Delivery:
    subject: str
    data: bytes
    headers: Mapping[str, str]
    msg_id: str
    sequence: int
    attempt: int
    _settle: Callable[[int, bool, float], None]

    async def ack(self) -> None:
        self._settle(self.sequence, True, 0.0)

    async def nak(self, delay_s: float | None = None) -> None:
        self._settle(self.sequence, False, delay_s or 0.0)


class InMemoryBus:
    """The `EventBus` port in one process: a list, a de-duplication table by message id and
    the durable consumers' places, woken by an event instead of polling. It keeps every
    message for the life of the process (`max_age_s` is not applied): the embedded server does
    not run a relay today, so nothing fills it but tests and tools."""

    def __init__(self, settings: StreamSettings, *, clock: Callable[[], float] | None = None):
        self._settings = settings
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self._messages: list[OutgoingMessage] = []
        self._seen: dict[str, tuple[int, float]] = {}
        self._consumers: dict[str, _Consumer] = {}
        self._changed = asyncio.Event()
        self._closed = False

    async def start(self) -> None:
        self._check_open()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> list[Published]:
        self._check_open()
        now = self._clock()
        window = self._settings.duplicate_window_s
        acks: list[Published] = []
        for message in messages:
            seen = self._seen.get(message.msg_id)
            if seen is not None and now - seen[1] < window:
                acks.append(Published(seen[0], duplicate=True))
                continue
            self._messages.append(message)
            self._seen[message.msg_id] = (len(self._messages), now)
            acks.append(Published(len(self._messages), duplicate=False))
        if len(self._seen) > 4 * len(acks) + 1024:
            self._seen = {k: v for k, v in self._seen.items() if now - v[1] < window}
        self._wake()
        return acks

    async def pull(
        self,
        consumer: str,
        *,
        filter_subject: str | None = None,
        max_messages: int = 100,
        timeout: float = 1.0,
        ack_wait_s: float = 30.0,
        max_ack_pending: int | None = None,
    ) -> list[Delivery]:
        self._check_open()
        state = self._consumers.setdefault(
            consumer, _Consumer(filter_subject, ack_wait_s, max_ack_pending)
        )
        deadline = self._clock() + timeout
        while True:
            batch = self._take(state, max_messages)
            remaining = deadline - self._clock()
            if batch or remaining <= 0:
                return batch
            changed = self._changed
            due = [after for after, _ in state.pending.values()]
            wait = min([remaining, *(max(0.0, d - self._clock()) for d in due)])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await changed.wait()
            self._check_open()

    async def close(self) -> None:
        self._closed = True
        self._wake()

    def _take(self, state: _Consumer, limit: int) -> list[Delivery]:
        now = self._clock()
        batch: list[Delivery] = []
        for sequence in sorted(state.pending):
            after, attempts = state.pending[sequence]
            if len(batch) < limit and after <= now:
                state.pending[sequence] = (now + state.ack_wait_s, attempts + 1)
                batch.append(self._delivery(state, sequence, attempts + 1))
        if state.max_ack_pending is not None:
            # Redeliveries are pending already; new messages only while there is room.
            limit = min(limit, len(batch) + state.max_ack_pending - len(state.pending))
        while len(batch) < limit and state.next_index < len(self._messages):
            message = self._messages[state.next_index]
            state.next_index += 1
            if state.filter_subject and not subject_matches(state.filter_subject, message.subject):
                continue
            state.pending[state.next_index] = (now + state.ack_wait_s, 1)
            batch.append(self._delivery(state, state.next_index, 1))
        return batch

    def _delivery(self, state: _Consumer, sequence: int, attempt: int) -> _Delivery:
        message = self._messages[sequence - 1]

        def settle(seq: int, done: bool, delay_s: float) -> None:
            if seq not in state.pending:
                return
            if done:
                del state.pending[seq]
            else:
                state.pending[seq] = (self._clock() + delay_s, state.pending[seq][1])
            self._wake()

        return _Delivery(
            message.subject,
            message.data,
            dict(message.headers),
            message.msg_id,
            sequence,
            attempt,
            settle,
        )

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _check_open(self) -> None:
        if self._closed:
            raise BusUnavailable("the in-process bus is closed")
