"""The bus on NATS JetStream (nats-py): a file-backed, replicated stream with JetStream's
de-duplication by `Nats-Msg-Id`, durable pull consumers with explicit acks, and the lease
that lets exactly one relay publish at a time (a key in a NATS KV bucket with a TTL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.kv import KeyValue

from hugmood.messaging.bus import (
    MSG_ID_HEADER,
    BusConfigError,
    BusUnavailable,
    Delivery,
    OutgoingMessage,
    Published,
    StreamSettings,
)
from hugmood.messaging.parking import (
    ParkedMessage,
    UnknownParked,
    parked_message,
    parking_headers,
)
from hugmood.messaging.relay import subject_token

log = logging.getLogger(__name__)

MORE_WAIT_S = 0.005
"""After the first message of a pull, how long to wait for more that are not there yet."""
NATS_ERRORS: tuple[type[BaseException], ...] = (nats.errors.Error, OSError, TimeoutError)
"""What nats-py raises when the server is away, slow or refuses: all become `BusUnavailable`."""


async def connect(url: str, *, name: str = "hugmood", timeout_s: float = 5.0) -> Client:
    """A connection that reconnects by itself for as long as the process runs; `BusUnavailable`
    if the server cannot be reached now."""
    try:
        # nats-py retries a first connection as it would a reconnection (forever, with these
        # settings): a server that is not there now is an error, bounded here.
        async with asyncio.timeout(timeout_s):
            return await nats.connect(
                url,
                name=name,
                connect_timeout=timeout_s,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                allow_reconnect=True,
                error_cb=_connection_error,
                disconnected_cb=_disconnected,
                reconnected_cb=_reconnected,
            )
    except NATS_ERRORS as e:
        raise BusUnavailable(f"NATS at {url} could not be reached: {e or type(e).__name__}") from e


_last_error_logged = 0.0


async def _connection_error(error: Exception) -> None:
    """One line (no traceback) at most every ten seconds while NATS stays away."""
    global _last_error_logged
    now = asyncio.get_running_loop().time()
    if now - _last_error_logged >= 10:
        _last_error_logged = now
        log.warning("NATS: %s", error or type(error).__name__)


async def _disconnected() -> None:
    log.info("NATS: disconnected (it reconnects by itself unless closed)")


async def _reconnected() -> None:
    log.info("NATS: reconnected")


@dataclass(frozen=True, slots=True)
class _JetStreamDelivery:
    _msg: Msg

    @property
    def subject(self) -> str:
        return self._msg.subject

    @property
    def data(self) -> bytes:
        return self._msg.data

    @property
    def headers(self) -> Mapping[str, str]:
        return self._msg.headers or {}

    @property
    def msg_id(self) -> str:
        return (self._msg.headers or {}).get(MSG_ID_HEADER, "")

    @property
    def sequence(self) -> int:
        return int(self._msg.metadata.sequence.stream)

    @property
    def attempt(self) -> int:
        return int(self._msg.metadata.num_delivered)

    async def ack(self) -> None:
        # Not confirmed (`ack_sync` would be a round trip per message): an ack that is lost
        # only means the message comes again, which every consumer takes as a duplicate.
        try:
            await self._msg.ack()
        except NATS_ERRORS as e:
            raise BusUnavailable(f"the ack of message {self.sequence} was not sent") from e

    async def nak(self, delay_s: float | None = None) -> None:
        try:
            await self._msg.nak(delay=delay_s)
        except NATS_ERRORS as e:
            raise BusUnavailable(f"the nak of message {self.sequence} was not sent") from e


class JetStreamBus:
    """The `EventBus` port on one JetStream stream."""

    def __init__(
        self,
        nc: Client,
        settings: StreamSettings,
        *,
        ack_timeout_s: float = 10.0,
        owns_connection: bool = True,
    ) -> None:
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream(timeout=ack_timeout_s)
        self._settings = settings
        self._ack_timeout_s = ack_timeout_s
        self._owns_connection = owns_connection
        self._pullers: dict[str, JetStreamContext.PullSubscription] = {}

    @classmethod
    async def connect(cls, url: str, settings: StreamSettings, **kwargs: Any) -> Self:
        return cls(await connect(url), settings, **kwargs)

    @property
    def jetstream(self) -> JetStreamContext:
        return self._js

    @property
    def connected(self) -> bool:
        """Whether the connection to NATS is up now (it reconnects by itself)."""
        return bool(self._nc.is_connected)

    async def start(self) -> None:
        wanted = self._stream_config()
        try:
            try:
                info = await self._js.stream_info(self._settings.name)
            except nats.js.errors.NotFoundError:
                await self._js.add_stream(wanted)
                log.info("created the JetStream stream %s", self._settings.name)
                return
            have = info.config
            if have.storage != wanted.storage:
                raise BusConfigError(
                    f"the stream {self._settings.name} keeps its messages in "
                    f"{have.storage} storage, not the configured {self._settings.storage}; a "
                    "stream's storage cannot change: move it, or configure what it has"
                )
            if (
                sorted(have.subjects or []) != sorted(wanted.subjects or [])
                or have.num_replicas != wanted.num_replicas
                or have.max_age != wanted.max_age
                or have.duplicate_window != wanted.duplicate_window
            ):
                await self._js.update_stream(wanted)
                log.info("updated the JetStream stream %s to its settings", self._settings.name)
        except NATS_ERRORS as e:
            raise BusUnavailable(f"the stream {self._settings.name} could not be set up") from e

    async def publish(self, messages: Sequence[OutgoingMessage]) -> list[Published]:
        # Publish every message before waiting on any ack: one round trip for the batch rather
        # than one per message. They leave on one connection in this order, so the stream
        # stores them in this order; if any fails, the caller publishes the whole batch again
        # and the message ids remove what was already stored. No `wait_stall`: nats-py would
        # then wrap each publish in `asyncio.wait_for`, which yields to the loop and so sends
        # one socket write per message; the ack timeout below bounds the whole batch instead.
        futures: list[asyncio.Future[Any]] = []
        try:
            for message in messages:
                headers = {**message.headers, MSG_ID_HEADER: message.msg_id}
                futures.append(
                    await self._js.publish_async(message.subject, message.data, headers=headers)
                )
            async with asyncio.timeout(self._ack_timeout_s):
                acks = await asyncio.gather(*futures)
        except NATS_ERRORS as e:
            for future in futures:
                future.cancel()
            raise BusUnavailable(f"publishing {len(messages)} messages was not acknowledged") from e
        return [Published(int(ack.seq), bool(ack.duplicate)) for ack in acks]

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
        try:
            puller = self._pullers.get(consumer)
            if puller is None:
                puller = await self._js.pull_subscribe(
                    filter_subject or ">",
                    durable=consumer,
                    stream=self._settings.name,
                    config=ConsumerConfig(
                        ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL,
                        ack_wait=ack_wait_s,
                        max_ack_pending=max_ack_pending,
                    ),
                )
                self._pullers[consumer] = puller
            # nats-py's fetch of a batch, when nothing is there yet, waits until the whole
            # batch came or the timeout passed: a trickle of messages would each wait the
            # full timeout. So wait for one, then take whatever else is there already.
            try:
                msgs = await puller.fetch(1, timeout=timeout)
            except (nats.errors.TimeoutError, TimeoutError):
                # Nothing came in time; nats-py raises either one, depending on where in
                # its fetch the deadline passed.
                return []
            if max_messages > 1:
                with contextlib.suppress(nats.errors.TimeoutError, TimeoutError):
                    msgs += await puller.fetch(max_messages - 1, timeout=MORE_WAIT_S)
        except NATS_ERRORS as e:
            raise BusUnavailable(f"pulling for the consumer {consumer} failed") from e
        return [_JetStreamDelivery(m) for m in msgs]

    async def close(self) -> None:
        for puller in self._pullers.values():
            try:
                await puller.unsubscribe()
            except NATS_ERRORS:
                log.debug("unsubscribing a puller while closing failed", exc_info=True)
        self._pullers.clear()
        if self._owns_connection and not self._nc.is_closed:
            await self._nc.close()

    def _stream_config(self) -> StreamConfig:
        s = self._settings
        return StreamConfig(
            name=s.name,
            subjects=list(s.subjects),
            storage=StorageType.FILE if s.storage == "file" else StorageType.MEMORY,
            num_replicas=s.replicas,
            max_age=s.max_age_s,
            duplicate_window=s.duplicate_window_s,
        )


class NatsKvLease:
    """A lease on one key of a NATS KV bucket whose entries expire after `ttl_s`: taking it is
    creating the key (only if absent), keeping it is updating it from the revision last
    written (a compare-and-set), so a holder that stops renewing loses it within `ttl_s` and
    a holder that was paused finds out on its next renewal instead of carrying on."""

    def __init__(self, js: JetStreamContext, bucket: str, key: str, holder: str, ttl_s: float):
        self._js = js
        self._bucket = bucket
        self._key = key
        self.holder = holder
        self.ttl_s = ttl_s
        self._kv: KeyValue | None = None
        self._revision: int | None = None

    @property
    def held(self) -> bool:
        return self._revision is not None

    async def acquire(self) -> bool:
        if self._revision is not None:
            return await self.renew()
        try:
            kv = await self._bucket_kv()
            self._revision = await kv.create(self._key, self.holder.encode())
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        except NATS_ERRORS as e:
            raise BusUnavailable(f"the lease {self._bucket}/{self._key} could not be taken") from e
        return True

    async def renew(self) -> bool:
        if self._revision is None:
            return False
        try:
            kv = await self._bucket_kv()
            self._revision = await kv.update(self._key, self.holder.encode(), last=self._revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            self._revision = None
            return False
        except NATS_ERRORS as e:
            self._revision = None
            raise BusUnavailable(f"the lease {self._bucket}/{self._key} was not renewed") from e
        return True

    async def release(self) -> None:
        revision, self._revision = self._revision, None
        if revision is None:
            return
        try:
            kv = await self._bucket_kv()
            await kv.delete(self._key, last=revision)
        except NATS_ERRORS:
            # It expires by itself within ttl_s: releasing only lets a successor start sooner.
            log.info("the lease %s/%s was left to expire", self._bucket, self._key)

    async def _bucket_kv(self) -> KeyValue:
        if self._kv is None:
            try:
                self._kv = await self._js.key_value(self._bucket)
            except nats.js.errors.BucketNotFoundError:
                self._kv = await self._js.create_key_value(
                    bucket=self._bucket, ttl=self.ttl_s, history=1, storage=StorageType.FILE
                )
        return self._kv


class JetStreamParking:
    """Parked messages in a stream of their own (file storage, kept until retried or
    discarded), on subjects `<prefix>.parked.<consumer>`."""

    def __init__(self, js: JetStreamContext, stream: str, subject_prefix: str, replicas: int = 1):
        self._js = js
        self._stream = stream
        self._prefix = subject_prefix
        self._replicas = replicas
        self._ready = False

    async def park(self, consumer: str, delivery: Delivery, reason: str) -> None:
        await self._ensure()
        headers = parking_headers(consumer, delivery, reason)
        try:
            await self._js.publish(
                f"{self._prefix}.parked.{subject_token(consumer)}", delivery.data, headers=headers
            )
        except NATS_ERRORS as e:
            raise BusUnavailable(f"parking a message of {consumer} was not acknowledged") from e

    async def list(self, *, limit: int = 100) -> list[ParkedMessage]:
        await self._ensure()
        found: list[ParkedMessage] = []
        sequence = 1
        try:
            while len(found) < limit:
                try:
                    raw = await self._js.get_msg(
                        self._stream, seq=sequence, subject=f"{self._prefix}.parked.>", next=True
                    )
                except nats.js.errors.NotFoundError:
                    break
                found.append(parked_message(int(raw.seq or 0), raw.data or b"", raw.headers or {}))
                sequence = int(raw.seq or 0) + 1
        except NATS_ERRORS as e:
            raise BusUnavailable("the parked messages could not be read") from e
        return found

    async def count(self) -> int:
        await self._ensure()
        try:
            info = await self._js.stream_info(self._stream)
        except NATS_ERRORS as e:
            raise BusUnavailable("the parked messages could not be counted") from e
        return int(info.state.messages)

    async def get(self, sequence: int) -> ParkedMessage:
        await self._ensure()
        try:
            raw = await self._js.get_msg(self._stream, seq=sequence)
        except nats.js.errors.NotFoundError:
            raise UnknownParked(f"no parked message number {sequence}") from None
        except NATS_ERRORS as e:
            raise BusUnavailable(f"parked message {sequence} could not be read") from e
        return parked_message(sequence, raw.data or b"", raw.headers or {})

    async def discard(self, sequence: int) -> None:
        await self.get(sequence)
        try:
            await self._js.delete_msg(self._stream, sequence)
        except nats.js.errors.NotFoundError:
            raise UnknownParked(f"no parked message number {sequence}") from None
        except NATS_ERRORS as e:
            raise BusUnavailable(f"parked message {sequence} could not be removed") from e

    async def _ensure(self) -> None:
        if self._ready:
            return
        config = StreamConfig(
            name=self._stream,
            subjects=[f"{self._prefix}.parked.>"],
            storage=StorageType.FILE,
            num_replicas=self._replicas,
        )
        try:
            try:
                await self._js.stream_info(self._stream)
            except nats.js.errors.NotFoundError:
                await self._js.add_stream(config)
        except NATS_ERRORS as e:
            raise BusUnavailable(f"the parking stream {self._stream} could not be set up") from e
        self._ready = True


@dataclass(frozen=True, slots=True)
class Nats:
    """This process's connection to the distributed log: the bus and its parked messages."""

    bus: JetStreamBus
    parking: JetStreamParking
    subjects: str
    """The subjects of this region's events (`<prefix>.<region>.events.>`)."""
