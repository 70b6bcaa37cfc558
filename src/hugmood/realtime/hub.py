"""The real-time hub port: fan-out to a user's connected devices, and per-device presence.

Two backends implement it and pass one contract suite (`tests/contracts/test_realtime_hub.py`):
in-memory (the embedded default, one process) and Redis (presence with expiring entries and
fan-out across server processes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from hugmood.unavailable import BackendUnavailable


class RealtimeUnavailable(BackendUnavailable):
    """The hub cannot serve: its backend could not be reached when it was started, or the hub
    is closed. (Once started, the Redis hub does not raise this when Redis goes away: it keeps
    serving the process's own connections and reconnects by itself.)"""


class PresenceStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class DevicePresence:
    """What one connected device last said about itself."""

    device_id: str
    status: PresenceStatus
    view: str | None
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class Presence:
    """A user's presence over all their devices: online while any device is online; away
    while every live device is away; offline when none is left. `view` comes from the most
    recently refreshed online device (or away device, when none is online)."""

    user_id: str
    status: PresenceStatus
    view: str | None


Message = Mapping[str, Any]
"""A JSON-serialisable message, delivered to every subscriber of a channel."""

OnMessage = Callable[[str, Message], None]
"""Called with `(channel, message)`; it must not block (hand slow work to a task)."""


@dataclass(frozen=True, slots=True)
class DeviceRefresh:
    """An open connection vouching for its device: what its last heartbeat said."""

    user_id: str
    device_id: str
    status: PresenceStatus
    view: str | None


class Listening(Protocol):
    """A registered `listen()` callback; `close()` unregisters it (idempotent)."""

    async def close(self) -> None: ...


class RealtimeHub(Protocol):
    async def publish(self, channel: str, message: Message) -> None:
        """Deliver to every current subscriber of `channel`, in this and (Redis) other processes.

        At most once: a subscriber that is not connected misses it. Durable delivery (hugs)
        is the event store's job; the hub only makes it immediate.
        """
        ...

    def subscribe(
        self, channels: Sequence[str]
    ) -> AbstractAsyncContextManager[AsyncIterator[tuple[str, Message]]]:
        """Receive `(channel, message)` for every message published on `channels` after the
        context is entered, in publish order per channel, until the context exits."""
        ...

    async def listen(self, channels: Sequence[str], on_message: OnMessage) -> Listening:
        """Like `subscribe`, but each message is handed to `on_message` as it arrives: no
        queue and no task per listener, for a server holding thousands of idle sockets.
        Messages published after `listen` returns are delivered; exceptions raised by the
        callback are logged and do not reach the publisher."""
        ...

    async def heartbeat(
        self, user_id: str, device_id: str, status: PresenceStatus, view: str | None, ttl_s: float
    ) -> Presence:
        """Record that the device is alive (`status` online or away) for `ttl_s` more seconds;
        returns the user's aggregated presence afterwards."""
        ...

    async def refresh(self, devices: Sequence[DeviceRefresh], ttl_s: float) -> list[int]:
        """Give each device that is still live `ttl_s` more seconds, keeping its status, view
        and place in its user's refresh order, so no aggregate changes. Returns the indexes
        of the devices it did not find (expired or never added): the caller sends those a
        real `heartbeat`, which tells friends they are back."""
        ...

    async def disconnect(self, user_id: str, device_id: str) -> Presence:
        """The device left cleanly; returns the user's aggregated presence afterwards."""
        ...

    async def presence(self, user_ids: Sequence[str]) -> dict[str, Presence]:
        """Aggregated presence of each user (expired devices count as gone)."""
        ...

    async def expire(self) -> list[Presence]:
        """Drop devices whose time ran out; return the users whose aggregated presence changed
        because of it (so the caller can tell their friends). Safe to call from every
        process: each change is returned by exactly one caller."""
        ...

    async def close(self) -> None: ...
