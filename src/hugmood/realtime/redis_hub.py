"""The Redis real-time hub: fan-out across server processes and presence they all share.

Local first. Every hub holds the in-memory parts (`Fanout`, `LocalPresence`): a publish is
handed to this process's subscribers at once and then PUBLISHed to Redis tagged with this hub's
instance id, and the listener drops messages carrying its own id, so local subscribers get
each message exactly once and never wait on Redis. Heartbeats are recorded locally and in Redis.

While Redis is reachable it is the authority for presence: each user has a hash of device →
`"<refresh seq> <expires ms> <writer> <json [status, view]>"`, and one sorted set holds every
device's deadline, so a read costs O(that user's devices) and `expire()` touches only what is
due. Lua scripts do each change atomically and take the time from Redis (`TIME`), so processes
with skewed clocks agree on what has expired; the expire script removes due devices and returns
them in one step, so when several processes call `expire()` at once each change is claimed by
exactly one of them.

When Redis goes away (any command or the pub/sub connection fails) the hub serves from its
local parts: its own subscribers keep receiving what this process publishes, and presence
answers for the devices connected here. The listener task reconnects with backoff; once the
pub/sub connection is subscribed again it writes the local devices back to Redis (and removes
the ones that left here meanwhile), and only then marks Redis up, so a reader never sees the
gap. Messages published during the outage are not replayed: the hub is at most once, and
durable delivery is the event store's job.

Key layout (`B` = `hm:<prefix>:`): channels `B c:<channel>`, presence `B p:<user>`, deadlines
`B p-due`, refresh counter `B p-seq`, control channel `B hub:<instance>`. The scripts compute
presence keys from the prefix, so this targets a single Redis server, not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hugmood.realtime.hub import (
    DevicePresence,
    DeviceRefresh,
    Message,
    OnMessage,
    Presence,
    PresenceStatus,
    RealtimeUnavailable,
)
from hugmood.realtime.memory import (
    DEFAULT_MAX_PENDING,
    Clock,
    Fanout,
    Listener,
    LocalPresence,
    Subscriber,
    Subscription,
    aggregate_presence,
    channel_set,
    ttl_ms,
)
from hugmood.realtime.redis_presence import DISCONNECT as _DISCONNECT
from hugmood.realtime.redis_presence import EXPIRE as _EXPIRE
from hugmood.realtime.redis_presence import FORGET as _FORGET
from hugmood.realtime.redis_presence import HEARTBEAT as _HEARTBEAT
from hugmood.realtime.redis_presence import KEY_GRACE_MS
from hugmood.realtime.redis_presence import READ as _READ
from hugmood.realtime.redis_presence import REFRESH as _REFRESH
from hugmood.realtime.redis_presence import devices as _devices
from hugmood.realtime.redis_presence import live_presence as _live

log = logging.getLogger(__name__)

UNAVAILABLE: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
"""Errors meaning "Redis cannot be reached now" (OSError covers the builtin TimeoutError)."""

EXPIRE_BATCH = 500
REFRESH_BATCH = 500
RESYNC_PASSES = 5
_LIVENESS_PING = "liveness"


class _Recycle(Exception):
    """A command failed although the pub/sub connection looked fine: rebuild the session."""


_SESSION_ENDS: tuple[type[BaseException], ...] = (*UNAVAILABLE, _Recycle)


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


class RedisRealtimeHub:
    """`RealtimeHub` shared by every process connected to the same Redis and prefix.

    Create it with `connect()`, which fails with `RealtimeUnavailable` if Redis cannot be
    reached at start. After that an outage never surfaces to callers (see the module doc).
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str,
        clock: Clock = time.monotonic,
        max_pending: int = DEFAULT_MAX_PENDING,
        reconnect_delay_s: tuple[float, float] = (0.05, 2.0),
        liveness_s: float = 5.0,
        barrier_timeout_s: float = 2.0,
    ) -> None:
        self._client = client
        base = f"hm:{prefix}:" if prefix else "hm:"
        self._channel_prefix = base + "c:"
        self._presence_prefix = base + "p:"
        self._deadlines_key = base + "p-due"
        self._seq_key = base + "p-seq"
        self._instance = uuid.uuid4().hex
        self._control_channel = f"{base}hub:{self._instance}"
        self._max_pending = max_pending
        self._min_delay_s, self._max_delay_s = reconnect_delay_s
        self._liveness_s = liveness_s
        self._barrier_timeout_s = barrier_timeout_s
        self._poll_s = min(0.25, liveness_s / 2)

        self._fanout = Fanout()
        self._local = LocalPresence(clock)
        # Devices that left this process while Redis was away, to remove from Redis on return.
        self._tombstones: set[tuple[str, str]] = set()
        # Subscriptions whose SUBSCRIBE is not yet confirmed (see `_attach`), and the PING
        # tokens that will confirm them.
        self._gated: set[Subscriber] = set()
        self._barriers: dict[str, tuple[Subscriber, asyncio.Future[None]]] = {}
        self._tokens = 0

        self._pubsub: PubSub | None = None
        # Serialises (un)subscribing with the listener's session start and teardown, so the
        # set of channels subscribed in Redis always matches the fanout's.
        self._pubsub_lock = asyncio.Lock()
        self._up = False
        self._session_was_up = False
        self._up_event = asyncio.Event()
        self._recycle = False
        self._closed = False
        self._listener: asyncio.Task[None] | None = None

        self._heartbeat_script = client.register_script(_HEARTBEAT)
        self._disconnect_script = client.register_script(_DISCONNECT)
        self._forget_script = client.register_script(_FORGET)
        self._read_script = client.register_script(_READ)
        self._expire_script = client.register_script(_EXPIRE)
        self._refresh_script = client.register_script(_REFRESH)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        prefix: str,
        clock: Clock = time.monotonic,
        timeout_s: float = 2.0,
        reconnect_delay_s: tuple[float, float] = (0.05, 2.0),
        liveness_s: float = 5.0,
    ) -> RedisRealtimeHub:
        """Connect to Redis at `url`; keys and channels are isolated by `prefix`.

        `timeout_s` bounds connecting and each command, so an unreachable Redis is noticed
        quickly and the hub falls back to local delivery instead of stalling callers.
        """
        client = Redis.from_url(
            url,
            decode_responses=True,
            # RESP2: redis-py 8 defaults to RESP3, where a PING on a subscribed connection
            # answers with a bare string that its decoded pub/sub parser misreads; under RESP2
            # it is a proper ["pong", token] message, which the subscribe barrier relies on.
            protocol=2,
            # The hub has its own reconnect loop; redis-py's default retries would make
            # every call during an outage wait through their backoff first.
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
        )
        hub = cls(
            client,
            prefix=prefix,
            clock=clock,
            reconnect_delay_s=reconnect_delay_s,
            liveness_s=liveness_s,
            barrier_timeout_s=timeout_s,
        )
        try:
            await client.ping()
            hub._listener = asyncio.create_task(hub._run(), name="realtime-redis-listener")
            await asyncio.wait_for(hub._up_event.wait(), timeout_s)
        except UNAVAILABLE as e:
            await hub.close()
            cause = str(e) or type(e).__name__
            raise RealtimeUnavailable(f"Redis is not reachable at {_redacted(url)}: {cause}") from e
        return hub

    @property
    def connected(self) -> bool:
        """Whether Redis is in use now (False while degraded to local delivery)."""
        return self._up

    # -- fan-out ---------------------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> None:
        """This process's subscribers get `message` itself, at once; other processes get a
        JSON copy through Redis (the same content, so treat messages as read-only)."""
        self._check_open()
        # Serialise first: a message Redis cannot carry fails before anyone receives it.
        payload = orjson.dumps({"o": self._instance, "m": message}, default=_mapping)
        self._fanout.deliver(channel, message)
        if self._up:
            try:
                await self._client.publish(self._channel_prefix + channel, payload)
            except UNAVAILABLE as e:
                self._lost(e)

    @asynccontextmanager
    async def subscribe(
        self, channels: Sequence[str]
    ) -> AsyncIterator[AsyncIterator[tuple[str, Message]]]:
        self._check_open()
        subscription = Subscription(channel_set(channels), self._max_pending)
        token = await self._attach(subscription)
        try:
            if token is not None:
                await self._await_barrier(token)
            yield subscription
        finally:
            await self._detach(subscription, token)
            subscription.close()

    async def listen(self, channels: Sequence[str], on_message: OnMessage) -> RedisListening:
        self._check_open()
        listener = Listener(channel_set(channels), on_message)
        token = await self._attach(listener)
        if token is not None:
            await self._await_barrier(token)
        return RedisListening(self, listener, token)

    async def _attach(self, subscription: Subscriber) -> str | None:
        """Register locally and, when connected, subscribe in Redis; returns the barrier token.

        Local messages reach the subscription at once. Remote ones are held back ("gated")
        until Redis answers a PING sent after the SUBSCRIBE: replies come in order on the
        pub/sub connection, so messages read before that PONG were published before this
        subscription existed, and every message published after it is read after the PONG.
        """
        async with self._pubsub_lock:
            first = self._fanout.add(subscription)
            pubsub = self._pubsub
            if pubsub is None:
                # Not connected: the listener's next session subscribes to all fanout channels.
                return None
            self._tokens += 1
            token = f"sub:{self._tokens}"
            self._gated.add(subscription)
            self._barriers[token] = (subscription, asyncio.get_running_loop().create_future())
            try:
                if first:
                    await pubsub.subscribe(*(self._channel_prefix + c for c in first))
                await pubsub.ping(token)
            except UNAVAILABLE as e:
                self._release(token)
                self._lost(e)
                return None
            return token

    async def _await_barrier(self, token: str) -> None:
        barrier = self._barriers.get(token)
        if barrier is None:
            return
        done, _ = await asyncio.wait({barrier[1]}, timeout=self._barrier_timeout_s)
        if not done:
            self._release(token)
            self._lost(RedisTimeoutError("no reply to the PING that confirms a SUBSCRIBE"))

    async def _detach(self, subscription: Subscriber, token: str | None) -> None:
        async with self._pubsub_lock:
            if token is not None:
                self._release(token)
            emptied = self._fanout.remove(subscription)
            if self._pubsub is not None and emptied:
                try:
                    await self._pubsub.unsubscribe(*(self._channel_prefix + c for c in emptied))
                except UNAVAILABLE as e:
                    self._lost(e)

    def _release(self, token: str) -> None:
        barrier = self._barriers.pop(token, None)
        if barrier is not None:
            subscription, future = barrier
            self._gated.discard(subscription)
            if not future.done():
                future.set_result(None)

    # -- presence --------------------------------------------------------------------------

    async def heartbeat(
        self, user_id: str, device_id: str, status: PresenceStatus, view: str | None, ttl_s: float
    ) -> Presence:
        self._check_open()
        local = self._local.heartbeat(user_id, device_id, status, view, ttl_s)
        self._tombstones.discard((user_id, device_id))
        if self._up:
            try:
                return await self._write(user_id, device_id, status, view, ttl_ms(status, ttl_s))
            except UNAVAILABLE as e:
                self._lost(e)
        return local

    async def refresh(self, devices: Sequence[DeviceRefresh], ttl_s: float) -> list[int]:
        self._check_open()
        local_missing = [
            i
            for i, d in enumerate(devices)
            if not self._local.refresh(d.user_id, d.device_id, ttl_s)
        ]
        if not self._up or not devices:
            return local_missing
        ttl = ttl_ms(PresenceStatus.ONLINE, ttl_s)
        missing: list[int] = []
        try:
            for start in range(0, len(devices), REFRESH_BATCH):
                batch = devices[start : start + REFRESH_BATCH]
                args: list[Any] = [self._presence_prefix, ttl, KEY_GRACE_MS]
                for d in batch:
                    args += [d.user_id, d.device_id, _member(d.user_id, d.device_id)]
                found = await self._refresh_script(keys=[self._deadlines_key], args=args)
                missing += [start + int(n) - 1 for n in found]
        except UNAVAILABLE as e:
            self._lost(e)
            return local_missing
        return missing

    async def disconnect(self, user_id: str, device_id: str) -> Presence:
        self._check_open()
        local = self._local.disconnect(user_id, device_id)
        if self._up:
            try:
                now, flat = await self._disconnect_script(
                    keys=[self._presence_prefix + user_id, self._deadlines_key],
                    args=[device_id, _member(user_id, device_id)],
                )
                return _live(user_id, flat, now)
            except UNAVAILABLE as e:
                self._lost(e)
        self._tombstones.add((user_id, device_id))
        return local

    async def presence(self, user_ids: Sequence[str]) -> dict[str, Presence]:
        self._check_open()
        if self._up and user_ids:
            try:
                now, *hashes = await self._read_script(
                    keys=[self._presence_prefix + u for u in user_ids]
                )
                return {u: _live(u, flat, now) for u, flat in zip(user_ids, hashes, strict=True)}
            except UNAVAILABLE as e:
                self._lost(e)
        return self._local.presence(user_ids)

    async def expire(self) -> list[Presence]:
        self._check_open()
        # The local copy expires too, to stay a faithful fallback; while Redis is up, Redis
        # alone reports (it sees every process's devices, and claims each change once).
        local_changed, removed = self._local.expire()
        if self._up:
            try:
                return await self._expire_in_redis()
            except UNAVAILABLE as e:
                self._lost(e)
        self._tombstones.update(removed)
        return local_changed

    async def _expire_in_redis(self) -> list[Presence]:
        changed: list[Presence] = []
        while True:
            count, groups = await self._expire_script(
                keys=[self._deadlines_key], args=[self._presence_prefix, EXPIRE_BATCH]
            )
            for user_id, flat, gone in zip(groups[::3], groups[1::3], groups[2::3], strict=True):
                before = _devices(flat)
                removed = set(gone)
                after = [d for d in before if d.device_id not in removed]
                presence = aggregate_presence(user_id, after)
                if presence != aggregate_presence(user_id, before):
                    changed.append(presence)
            if count < EXPIRE_BATCH:
                return changed

    async def _write(
        self, user_id: str, device_id: str, status: PresenceStatus, view: str | None, ttl: int
    ) -> Presence:
        now, flat = await self._heartbeat_script(
            keys=[self._presence_prefix + user_id, self._deadlines_key, self._seq_key],
            args=[
                device_id,
                ttl,
                self._instance,
                orjson.dumps([status.value, view]),
                _member(user_id, device_id),
                KEY_GRACE_MS,
            ],
        )
        return _live(user_id, flat, now)

    # -- connection lifecycle --------------------------------------------------------------

    def _lost(self, error: BaseException) -> None:
        """A command failed: serve locally from now on, and have the listener rebuild the
        session (it alone marks Redis up again, after resubscribing and resyncing)."""
        if self._up:
            log.warning("Redis unavailable (%s); serving this process's connections locally", error)
        self._up = False
        self._up_event.clear()
        self._recycle = True

    async def _run(self) -> None:
        """The listener: one session at a time, reconnecting with capped exponential backoff."""
        delay = self._min_delay_s
        while not self._closed:
            self._session_was_up = False
            try:
                await self._session()
            except _SESSION_ENDS as e:
                log.debug("Redis session ended: %r", e)
            except Exception:
                # A bug, not an outage; log it loudly but keep the hub reconnecting rather
                # than leave the process degraded for good.
                log.exception("Redis listener failed; reconnecting")
            # A session that got connected ends by raising too: reset the backoff after one,
            # so every outage starts reconnecting quickly.
            delay = self._min_delay_s if self._session_was_up else min(delay * 2, self._max_delay_s)
            await asyncio.sleep(delay)

    async def _session(self) -> bool:
        """Subscribe, resync presence, mark Redis up, then pump messages until it fails."""
        self._recycle = False
        up = False
        pubsub = self._client.pubsub()
        try:
            async with self._pubsub_lock:
                channels = [self._channel_prefix + c for c in self._fanout.channels()]
                await pubsub.subscribe(self._control_channel, *channels)
                await pubsub.ping("session")
                self._pubsub = pubsub
            # Messages read before this PONG come from channels already subscribed above,
            # so they are delivered; once it arrives, every subscription is in place.
            await self._pump(pubsub, until="session")
            await self._resync()
            # No await between the last resync pass and this: no heartbeat can slip between.
            self._up = up = self._session_was_up = True
            self._up_event.set()
            log.info("Redis connected: real-time fan-out and presence are shared across processes")
            await self._pump(pubsub, until=None)
        finally:
            if up and not self._closed:
                log.warning("Redis connection lost; serving this process's connections locally")
            self._up = False
            self._up_event.clear()
            async with self._pubsub_lock:
                self._pubsub = None
                for token in list(self._barriers):
                    self._release(token)
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        return up

    async def _resync(self) -> None:
        """Write this process's devices to Redis, and remove those that left it meanwhile.

        Runs while `_up` is False, so heartbeats land only in the local copy; passes repeat
        until one finds nothing new (a heartbeat that arrived during the previous pass), so
        Redis ends up with exactly the local state when `_up` turns True.
        """
        written: dict[tuple[str, str], DevicePresence] = {}
        for _ in range(RESYNC_PASSES):
            tombstones, self._tombstones = self._tombstones, set()
            pending = [
                (user_id, device, left)
                for user_id, device, left in self._local.live_devices()
                if written.get((user_id, device.device_id)) is not device
            ]
            if not tombstones and not pending:
                return
            for user_id, device_id in tombstones:
                await self._forget_script(
                    keys=[self._presence_prefix + user_id, self._deadlines_key],
                    args=[device_id, _member(user_id, device_id), self._instance],
                )
            for user_id, device, left in pending:
                ttl = max(1, round(left * 1000))
                await self._write(user_id, device.device_id, device.status, device.view, ttl)
                written[(user_id, device.device_id)] = device

    async def _pump(self, pubsub: PubSub, *, until: str | None) -> None:
        """Dispatch pub/sub traffic; return when the PONG for `until` arrives.

        Also checks liveness: after `liveness_s` of silence it PINGs, and a PING unanswered
        for another `liveness_s` means a dead connection (a peer that vanished without a TCP
        reset would otherwise leave the hub believing it is connected).
        """
        loop = asyncio.get_running_loop()
        heard_at = loop.time()
        pinged_at: float | None = None
        while not self._recycle:
            message: dict[str, Any] | None = await pubsub.get_message(timeout=self._poll_s)
            now = loop.time()
            if message is None:
                if pinged_at is not None and now - pinged_at > self._liveness_s:
                    raise RedisConnectionError("Redis did not answer a PING on pub/sub")
                if pinged_at is None and now - heard_at > self._liveness_s:
                    await pubsub.ping(_LIVENESS_PING)
                    pinged_at = now
                continue
            heard_at, pinged_at = now, None
            kind = message["type"]
            if kind == "message":
                self._deliver_remote(message["channel"], message["data"])
            elif kind == "pong":
                self._release(message["data"])
                if message["data"] == until:
                    return
        raise _Recycle

    def _deliver_remote(self, redis_channel: str, data: str) -> None:
        channel = redis_channel.removeprefix(self._channel_prefix)
        try:
            envelope = orjson.loads(data)
            origin, message = envelope["o"], envelope["m"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignoring a message on %s that no hub published", redis_channel)
            return
        if origin == self._instance:
            return  # already delivered locally when it was published
        self._fanout.deliver(channel, message, exclude=self._gated)

    async def close(self) -> None:
        """Stop the listener, end every subscriber's iteration and close the connections.
        Presence entries stay in Redis until they expire (the devices' sockets close anyway)."""
        if self._closed:
            return
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.wait({self._listener})
        self._fanout.close_all()
        self._gated.clear()
        await self._client.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise RealtimeUnavailable("the real-time hub is closed")


def _member(user_id: str, device_id: str) -> str:
    """A device's member in the deadline set: JSON, so no separator can be ambiguous."""
    return orjson.dumps([user_id, device_id]).decode()


def _mapping(value: object) -> object:
    # orjson encodes dicts only; a Message is any Mapping.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class RedisListening:
    """`Listening` for a listener of the Redis hub: closing unsubscribes what it alone used."""

    __slots__ = ("_hub", "_listener", "_token")

    def __init__(self, hub: RedisRealtimeHub, listener: Listener, token: str | None) -> None:
        self._hub = hub
        self._listener = listener
        self._token = token

    async def close(self) -> None:
        if not self._listener.closed:
            self._listener.close()
            await self._hub._detach(self._listener, self._token)
