"""The one composition root: picks the backends from settings and wires HugMood together."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from hugmood.application.consumers import EVENT_CONSUMERS
from hugmood.application.deliveries import DeliveryRecorder
from hugmood.application.dependencies import Dependencies
from hugmood.application.messagebus import MessageBus
from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.blobs.store import BlobStore
from hugmood.boards.rooms import BoardRooms
from hugmood.boards.store import BoardContentStore
from hugmood.config import Settings
from hugmood.eventstore.mapper import MappedEventStore, Mapper
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.eventstore.store import EventStore
from hugmood.eventstore.upcasting import Upcasters
from hugmood.private_files import private_dir
from hugmood.projections.catalog import all_projections
from hugmood.projections.runner import ProjectionRunner
from hugmood.projections.schema import prepare_read_models
from hugmood.realtime.hub import RealtimeHub
from hugmood.realtime.memory import InMemoryRealtimeHub
from hugmood.realtime.presence import PresenceService
from hugmood.realtime.relay import LiveRelay
from hugmood.reminders.scheduler import ReminderScheduler, open_mailer
from hugmood.security.passwords import Argon2idPasswordHasher
from hugmood.security.ratelimit import SlidingWindowLimiter
from hugmood.security.throttle import InMemoryLoginThrottle
from hugmood.security.tokens import HmacSessionTokens
from hugmood.services import Service
from hugmood.sql.database import SqlDatabase
from hugmood.sql.postgres import PostgresDatabase
from hugmood.sql.sqlite import SqliteDatabase


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class HugMood:
    """A running HugMood core: the event store, read models and the command bus."""

    settings: Settings
    store: EventStore
    readmodels: SqlDatabase
    projections: ProjectionRunner
    deps: Dependencies
    bus: MessageBus
    live: RealtimeHub
    """This process's live notifications (fed by the relay from the log), for subscriptions."""
    presence: PresenceService
    deliveries: DeliveryRecorder
    """Records in the background that pushed hugs reached a device."""
    boards: BoardRooms
    """This process's open board rooms (Yjs), following the log for other processes' edits."""
    services: tuple[Service, ...]
    """Every long-lived service, in the order they start (and stop in reverse)."""


def upcasters() -> Upcasters:
    """Where upgrades of old event versions are registered (none yet: every event is v1)."""
    return Upcasters()


async def open_event_store(settings: Settings, registry: Upcasters) -> EventStore:
    """The configured backend, behind the one mapper every event passes through."""
    return MappedEventStore(await _open_backend(settings), Mapper(registry))


async def _open_backend(settings: Settings) -> EventStore:
    if settings.database_url == "memory":
        return InMemoryEventStore()
    if settings.database_url == "sqlite":
        from hugmood.eventstore.sqlite import SqliteEventStore

        private_dir(settings.data_dir)
        return await SqliteEventStore.open(
            settings.data_dir / "events.sqlite3", synchronous=settings.sqlite_synchronous
        )
    from hugmood.eventstore.postgres import PostgresEventStore

    return await PostgresEventStore.open(settings.database_url, schema=settings.postgres_schema)


async def open_read_models(settings: Settings) -> SqlDatabase:
    """Read models live in their own SQLite file (or in memory), or beside the log in PostgreSQL."""
    db: SqlDatabase
    if settings.database_url == "memory":
        db = SqliteDatabase(None)
    elif settings.database_url == "sqlite":
        private_dir(settings.data_dir)
        # Read models can always be rebuilt from the log, and their checkpoint commits with
        # them, so a power cut at worst rolls both back together and they are re-projected:
        # they need no fsync per commit. The log itself keeps HUGMOOD_SQLITE_SYNCHRONOUS.
        db = SqliteDatabase(settings.data_dir / "readmodels.sqlite3", synchronous="NORMAL")
    else:
        db = await PostgresDatabase.connect(settings.database_url, schema=settings.postgres_schema)
    await prepare_read_models(db, all_projections())
    return db


async def open_hub(settings: Settings) -> RealtimeHub:
    """Presence and cross-process fan-out: Redis when configured, this process otherwise."""
    if not settings.redis_url:
        return InMemoryRealtimeHub()
    from hugmood.realtime.redis_hub import RedisRealtimeHub

    return await RedisRealtimeHub.connect(settings.redis_url, prefix=settings.redis_prefix)


async def open_blob_store(settings: Settings) -> BlobStore:
    """Blobs beside the log: a dict, files in `data_dir/blobs`, or a PostgreSQL table."""
    if settings.database_url == "memory":
        return InMemoryBlobStore()
    if settings.database_url == "sqlite":
        from hugmood.blobs.files import FileBlobStore

        return FileBlobStore(settings.data_dir / "blobs")
    from hugmood.blobs.postgres import PostgresBlobStore

    return await PostgresBlobStore.open(settings.database_url, schema=settings.postgres_schema)


async def open_relay(
    settings: Settings, store: EventStore, readmodels: SqlDatabase, stack: AsyncExitStack
) -> Service | None:
    """With NATS configured, the relay that publishes the log to JetStream; else None (the
    embedded bus is the store itself: consumers follow it in this process)."""
    if not settings.nats_url:
        return None
    from hugmood.messaging.bus import StreamSettings
    from hugmood.messaging.jetstream import JetStreamBus, NatsKvLease
    from hugmood.messaging.relay import EventRelay, subject_token

    stream = StreamSettings(
        name=settings.nats_stream,
        subjects=(f"{settings.nats_subject_prefix}.{subject_token(settings.region)}.events.>",),
        storage="memory" if settings.nats_storage == "memory" else "file",
        replicas=settings.nats_replicas,
        max_age_s=settings.nats_max_age_s,
        duplicate_window_s=settings.nats_duplicate_window_s,
    )
    bus = await JetStreamBus.connect(settings.nats_url, stream)
    stack.push_async_callback(bus.close)
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    lease = NatsKvLease(
        bus.jetstream, f"{settings.nats_stream}_leases", "relay", holder, settings.relay_lease_ttl_s
    )
    return EventRelay(
        store,
        readmodels,
        bus,
        lease,
        region=settings.region,
        subject_prefix=settings.nats_subject_prefix,
    )


def check_consumers(services: list[Service]) -> None:
    """Every entry of the event table has its service, and no service claims to be an entry
    that is not there."""
    names = {s.name for s in services}
    missing = [c.name for c in EVENT_CONSUMERS if c.name not in names]
    if missing:
        raise LookupError(f"no service implements the event consumers {missing}")


@asynccontextmanager
async def open_hugmood(settings: Settings, *, run_services: bool = True) -> AsyncIterator[HugMood]:
    """Open every backend and start every service (with `run_services` off, as one-off
    commands do, the read models are only read); close it all on the way out."""
    settings = settings.with_secret()
    async with AsyncExitStack() as stack:
        store = await open_event_store(settings, upcasters())
        stack.push_async_callback(store.close)
        readmodels = await open_read_models(settings)
        stack.push_async_callback(readmodels.close)
        blobs = await open_blob_store(settings)
        stack.push_async_callback(blobs.close)
        live = InMemoryRealtimeHub()
        stack.push_async_callback(live.close)
        hub = await open_hub(settings)
        stack.push_async_callback(hub.close)

        runner = ProjectionRunner(store, readmodels, all_projections())
        deps = Dependencies(
            store=store,
            readmodels=readmodels,
            clock=SystemClock(),
            hasher=Argon2idPasswordHasher(),
            throttle=InMemoryLoginThrottle(
                max_failures=settings.login_max_failures,
                lockout_s=settings.login_lockout_s,
                secret=settings.secret_key.encode(),
            ),
            tokens=HmacSessionTokens(settings.secret_key.encode()),
            hug_limiter=SlidingWindowLimiter(
                limit=settings.hugs_per_minute, window_s=60, what="hugs"
            ),
            blobs=blobs,
            session_ttl_hours=settings.session_ttl_hours,
            age_required=settings.age_required,
            mailer=open_mailer(settings),
            push_allow_loopback=settings.push_allow_loopback,
        )
        bus = MessageBus(deps, runner)
        presence = PresenceService(hub, readmodels, heartbeat_s=settings.presence_heartbeat_s)
        deliveries = DeliveryRecorder(bus)
        content = BoardContentStore(store, readmodels, deps.clock, origin=uuid.uuid4().hex)
        boards = BoardRooms(
            deps,
            content,
            hub,
            rebase_min_bytes=settings.board_rebase_min_bytes,
            session_check_s=settings.ws_session_check_s,
        )
        services: list[Service] = [
            runner,
            LiveRelay(store, readmodels, runner, live),
            presence,
            deliveries,
            boards,
            ReminderScheduler.open(settings, bus, deps),
        ]
        relay = await open_relay(settings, store, readmodels, stack) if run_services else None
        if relay is not None:
            services.append(relay)
        check_consumers(services)
        if run_services:
            for service in services:
                await stack.enter_async_context(service)
        yield HugMood(
            settings,
            store,
            readmodels,
            runner,
            deps,
            bus,
            live,
            presence,
            deliveries,
            boards,
            tuple(services),
        )
