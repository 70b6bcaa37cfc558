"""The in-memory real-time hub: the embedded default, for one process.

Its parts are reused by the Redis hub, which delivers to the process's own subscribers and
keeps its own devices' presence through the same code (so a Redis outage degrades to exactly
this behaviour):

- `Subscription` and `Fanout`: asyncio queues per subscriber, indexed by channel, and
  `Listener`, a subscriber that is just a callback;
- `LocalPresence`: per-device presence with expiry, timed by an injectable clock;
- `aggregate_presence`: the one rule turning a user's devices into their presence.

Clocks are `Callable[[], float]` returning **seconds** (default `time.monotonic`), so tests
can pass a fake clock and move time forward without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from hugmood.realtime.hub import (
    DevicePresence,
    DeviceRefresh,
    Message,
    OnMessage,
    Presence,
    PresenceStatus,
    RealtimeUnavailable,
)

log = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Current time in seconds. Only differences matter, so a monotonic clock is right."""

DEFAULT_MAX_PENDING = 1000
"""Messages queued for one subscriber before further ones are dropped for it."""


def aggregate_presence(user_id: str, devices: Iterable[DevicePresence]) -> Presence:
    """A user's presence from their live devices, given oldest refresh first.

    Online while any device is online, away while every device is away, offline with none;
    the view comes from the most recently refreshed device of the winning status.
    """
    freshest_online: DevicePresence | None = None
    freshest_away: DevicePresence | None = None
    for device in devices:
        if device.status is PresenceStatus.ONLINE:
            freshest_online = device
        elif device.status is PresenceStatus.AWAY:
            freshest_away = device
    chosen = freshest_online or freshest_away
    if chosen is None:
        return Presence(user_id, PresenceStatus.OFFLINE, None)
    return Presence(user_id, chosen.status, chosen.view)


def ttl_ms(status: PresenceStatus, ttl_s: float) -> int:
    """Validate a heartbeat's arguments; its time to live in whole milliseconds."""
    if status is PresenceStatus.OFFLINE:
        raise ValueError("a heartbeat says online or away; a device leaving calls disconnect()")
    if not (math.isfinite(ttl_s) and ttl_s > 0):
        raise ValueError(f"a heartbeat's ttl_s must be a positive number of seconds, not {ttl_s}")
    return max(1, round(ttl_s * 1000))


def channel_set(channels: Sequence[str]) -> frozenset[str]:
    # A bare string is a Sequence[str] too: refuse it rather than subscribe to its letters.
    if isinstance(channels, str):
        raise TypeError("subscribe() takes a sequence of channel names, not one string")
    return frozenset(channels)


class Subscription:
    """One subscriber's inbox: iterates `(channel, message)` until it is closed.

    The queue is bounded by a count checked on put (not `Queue(maxsize)`) so that `close()`
    can always enqueue its end marker. A subscriber that falls `max_pending` behind loses
    further messages, which the hub's at-most-once contract allows (durable delivery is the
    event store's job); the loss is counted and logged.
    """

    __slots__ = ("_closed", "_max_pending", "_queue", "channels", "dropped")

    def __init__(self, channels: frozenset[str], max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.channels = channels
        self.dropped = 0
        self._max_pending = max_pending
        self._closed = False
        self._queue: asyncio.Queue[tuple[str, Message] | None] = asyncio.Queue()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> tuple[str, Message]:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # stay ended for any later call
            raise StopAsyncIteration
        return item

    def offer(self, channel: str, message: Message) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= self._max_pending:
            self.dropped += 1
            if self.dropped == 1:
                log.warning(
                    "realtime subscriber is %d messages behind; dropping messages for it",
                    self._max_pending,
                )
            return
        self._queue.put_nowait((channel, message))

    def close(self) -> None:
        """End the iteration; messages not yet taken are discarded (delivery has stopped)."""
        if self._closed:
            return
        self._closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)


class Listener:
    """A subscriber that is a callback (see `RealtimeHub.listen`): nothing is queued."""

    __slots__ = ("_on_message", "channels", "closed")

    def __init__(self, channels: frozenset[str], on_message: OnMessage) -> None:
        self.channels = channels
        self.closed = False
        self._on_message = on_message

    def offer(self, channel: str, message: Message) -> None:
        if self.closed:
            return
        try:
            self._on_message(channel, message)
        except Exception:
            log.exception("a realtime listener failed on channel %s", channel)

    def close(self) -> None:
        self.closed = True


class Subscriber(Protocol):
    """What `Fanout` holds: a queueing `Subscription` or a calling `Listener`."""

    @property
    def channels(self) -> frozenset[str]: ...

    def offer(self, channel: str, message: Message) -> None: ...

    def close(self) -> None: ...


class LocalListening:
    """`Listening` for a listener registered in an in-process fan-out."""

    __slots__ = ("_fanout", "_listener")

    def __init__(self, fanout: Fanout, listener: Listener) -> None:
        self._fanout = fanout
        self._listener = listener

    async def close(self) -> None:
        if not self._listener.closed:
            self._listener.close()
            self._fanout.remove(self._listener)


class Fanout:
    """Subscribers indexed by channel; delivery is synchronous, so per channel it keeps the
    order in which `deliver` was called."""

    def __init__(self) -> None:
        self._by_channel: dict[str, set[Subscriber]] = {}

    def channels(self) -> list[str]:
        return list(self._by_channel)

    def add(self, subscription: Subscriber) -> list[str]:
        """Register; returns the channels that had no subscriber before."""
        first = []
        for channel in subscription.channels:
            subscribers = self._by_channel.setdefault(channel, set())
            if not subscribers:
                first.append(channel)
            subscribers.add(subscription)
        return first

    def remove(self, subscription: Subscriber) -> list[str]:
        """Unregister; returns the channels left without any subscriber."""
        emptied = []
        for channel in subscription.channels:
            subscribers = self._by_channel.get(channel)
            if subscribers is None:
                continue
            subscribers.discard(subscription)
            if not subscribers:
                del self._by_channel[channel]
                emptied.append(channel)
        return emptied

    def deliver(
        self, channel: str, message: Message, *, exclude: Collection[Subscriber] = ()
    ) -> None:
        # A copy: a callback may add or remove subscribers of this channel.
        for subscription in tuple(self._by_channel.get(channel, ())):
            if subscription not in exclude:
                subscription.offer(channel, message)

    def close_all(self) -> None:
        for subscribers in self._by_channel.values():
            for subscription in subscribers:
                subscription.close()
        self._by_channel.clear()


class LocalPresence:
    """Per-device presence held in this process.

    Devices of a user are kept in a dict in refresh order (a heartbeat re-inserts its device),
    which is the order `aggregate_presence` wants. Deadlines sit in a heap with lazy deletion:
    a heartbeat pushes a new entry and the outdated one is skipped when it surfaces, so
    `expire()` costs O(expired · log n) instead of a scan of every device.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._users: dict[str, dict[str, DevicePresence]] = {}
        self._deadlines: list[tuple[int, str, str]] = []

    def now_ms(self) -> int:
        return math.floor(self._clock() * 1000)

    def heartbeat(
        self, user_id: str, device_id: str, status: PresenceStatus, view: str | None, ttl_s: float
    ) -> Presence:
        now = self.now_ms()
        expires_at_ms = now + ttl_ms(status, ttl_s)
        devices = self._users.setdefault(user_id, {})
        devices.pop(device_id, None)
        devices[device_id] = DevicePresence(device_id, status, view, expires_at_ms)
        heapq.heappush(self._deadlines, (expires_at_ms, user_id, device_id))
        return self._current(user_id, now)

    def refresh(self, user_id: str, device_id: str, ttl_s: float) -> bool:
        """Extend a live device in place (its refresh order kept); False if it is not live."""
        now = self.now_ms()
        device = self._users.get(user_id, {}).get(device_id)
        if device is None or device.expires_at_ms <= now:
            return False
        expires_at_ms = now + ttl_ms(device.status, ttl_s)
        # Assigning to an existing key keeps its place in the dict: the order is unchanged.
        self._users[user_id][device_id] = DevicePresence(
            device_id, device.status, device.view, expires_at_ms
        )
        heapq.heappush(self._deadlines, (expires_at_ms, user_id, device_id))
        return True

    def disconnect(self, user_id: str, device_id: str) -> Presence:
        devices = self._users.get(user_id)
        if devices is not None:
            devices.pop(device_id, None)
            if not devices:
                del self._users[user_id]
        return self._current(user_id, self.now_ms())

    def presence(self, user_ids: Sequence[str]) -> dict[str, Presence]:
        now = self.now_ms()
        return {user_id: self._current(user_id, now) for user_id in user_ids}

    def expire(self) -> tuple[list[Presence], list[tuple[str, str]]]:
        """Drop devices whose time ran out. Returns the users whose presence changed and the
        `(user_id, device_id)` pairs removed. Synchronous, hence atomic on the event loop:
        concurrent callers cannot both see the same device expire."""
        now = self.now_ms()
        due: dict[str, list[str]] = {}
        while self._deadlines and self._deadlines[0][0] <= now:
            expires_at_ms, user_id, device_id = heapq.heappop(self._deadlines)
            device = self._users.get(user_id, {}).get(device_id)
            if device is not None and device.expires_at_ms == expires_at_ms:
                due.setdefault(user_id, []).append(device_id)
        changed: list[Presence] = []
        removed: list[tuple[str, str]] = []
        for user_id, gone in due.items():
            devices = self._users[user_id]
            # "Before" is every stored device, expired or not: what the last heartbeat or
            # expire() told the user's friends. Comparing against it reports each change once.
            before = aggregate_presence(user_id, devices.values())
            for device_id in gone:
                del devices[device_id]
                removed.append((user_id, device_id))
            after = aggregate_presence(user_id, devices.values())
            if not devices:
                del self._users[user_id]
            if after != before:
                changed.append(after)
        return changed, removed

    def live_devices(self) -> list[tuple[str, DevicePresence, float]]:
        """`(user_id, device, seconds left)` for every live device, oldest refresh first per
        user: what the Redis hub writes back to Redis after an outage."""
        now = self.now_ms()
        return [
            (user_id, device, (device.expires_at_ms - now) / 1000)
            for user_id, devices in self._users.items()
            for device in devices.values()
            if device.expires_at_ms > now
        ]

    def _current(self, user_id: str, now_ms: int) -> Presence:
        devices = self._users.get(user_id, {})
        return aggregate_presence(
            user_id, (d for d in devices.values() if d.expires_at_ms > now_ms)
        )


class InMemoryRealtimeHub:
    """`RealtimeHub` for one process: subscribers and presence live in this process only."""

    def __init__(
        self, *, clock: Clock = time.monotonic, max_pending: int = DEFAULT_MAX_PENDING
    ) -> None:
        self._fanout = Fanout()
        self._presence = LocalPresence(clock)
        self._max_pending = max_pending
        self._closed = False

    async def publish(self, channel: str, message: Message) -> None:
        self._check_open()
        self._fanout.deliver(channel, message)

    @asynccontextmanager
    async def subscribe(
        self, channels: Sequence[str]
    ) -> AsyncIterator[AsyncIterator[tuple[str, Message]]]:
        self._check_open()
        subscription = Subscription(channel_set(channels), self._max_pending)
        self._fanout.add(subscription)
        try:
            yield subscription
        finally:
            self._fanout.remove(subscription)
            subscription.close()

    async def listen(self, channels: Sequence[str], on_message: OnMessage) -> LocalListening:
        self._check_open()
        listener = Listener(channel_set(channels), on_message)
        self._fanout.add(listener)
        return LocalListening(self._fanout, listener)

    async def heartbeat(
        self, user_id: str, device_id: str, status: PresenceStatus, view: str | None, ttl_s: float
    ) -> Presence:
        self._check_open()
        return self._presence.heartbeat(user_id, device_id, status, view, ttl_s)

    async def refresh(self, devices: Sequence[DeviceRefresh], ttl_s: float) -> list[int]:
        self._check_open()
        return [
            i
            for i, d in enumerate(devices)
            if not self._presence.refresh(d.user_id, d.device_id, ttl_s)
        ]

    async def disconnect(self, user_id: str, device_id: str) -> Presence:
        self._check_open()
        return self._presence.disconnect(user_id, device_id)

    async def presence(self, user_ids: Sequence[str]) -> dict[str, Presence]:
        self._check_open()
        return self._presence.presence(user_ids)

    async def expire(self) -> list[Presence]:
        self._check_open()
        changed, _removed = self._presence.expire()
        return changed

    async def close(self) -> None:
        """Ends every subscriber's iteration; later calls raise `RealtimeUnavailable`."""
        self._closed = True
        self._fanout.close_all()

    def _check_open(self) -> None:
        if self._closed:
            raise RealtimeUnavailable("the real-time hub is closed")
