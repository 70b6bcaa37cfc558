"""The one composition root: picks the backends from settings and wires HugMood together."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hugmood.analytics.community import CommunityMoodConsumer
from hugmood.analytics.minds import SimilarMinds
from hugmood.application.consumers import (
    BOARD_ROOMS,
    COMMUNITY_MOOD,
    EVENT_CONSUMERS,
    FEDERATION_OUTBOX,
    INSIGHTS,
    LEARNING,
    LIVE_RELAY,
    READ_MODELS,
    SIMILAR_MINDS,
    EventConsumer,
    Placement,
    consumer,
    known_event_types,
)
from hugmood.application.deliveries import DeliveryRecorder
from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import PERSONAL_DATA
from hugmood.application.federation_endpoint import FederationEndpoint
from hugmood.application.federation_outbox import FederationOutbox
from hugmood.application.federation_presence import tell_abroad
from hugmood.application.handlers.contribution import contributes_at
from hugmood.application.heavy_reads import HeavyReads, LocalReads
from hugmood.application.learning_consent import learns_by_default
from hugmood.application.messagebus import MessageBus
from hugmood.application.ports import ReadModelsProgress
from hugmood.application.retention import RetentionJob
from hugmood.application.scheduled_erasures import ErasureScheduler
from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.blobs.store import BlobStore
from hugmood.boards.rooms import BoardRooms
from hugmood.boards.store import BoardContentStore
from hugmood.config import Settings
from hugmood.edge.runtime import Edge, close_edge, open_edge
from hugmood.eventstore.mapper import MappedEventStore, Mapper
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.eventstore.store import EventStore
from hugmood.eventstore.upcasting import Upcasters
from hugmood.ids import UserId
from hugmood.insights.service import Insights, InsightsEffect, InsightsService
from hugmood.learning.remote import open_learning
from hugmood.messaging.bus import BusUnavailable, StreamSettings
from hugmood.messaging.consumer import BusConsumer, OrderedConsumer
from hugmood.messaging.parallel import ParallelConsumer
from hugmood.messaging.relay import EventRelay, subject_token
from hugmood.privacy.he.job import CommunityJob
from hugmood.privacy.keys.blobs import SealedBlobStore
from hugmood.privacy.keys.cells import SealedCells
from hugmood.privacy.keys.cipher import PersonalDataCipher
from hugmood.privacy.keys.datakeys import DataKeyStore
from hugmood.privacy.keys.master import load_master_key
from hugmood.private_files import private_dir
from hugmood.projections.catalog import all_projections
from hugmood.projections.progress import CheckpointWatcher
from hugmood.projections.runner import ProjectionRunner
from hugmood.projections.schema import prepare_read_models
from hugmood.realtime.hub import RealtimeHub
from hugmood.realtime.memory import InMemoryRealtimeHub
from hugmood.realtime.news import HubNews
from hugmood.realtime.presence import PresenceService
from hugmood.realtime.relay import LiveRelay
from hugmood.regions.audit import record_policy_change
from hugmood.regions.directory import Directory
from hugmood.regions.federation import Peer
from hugmood.regions.hosting import open_directory, open_federation
from hugmood.regions.policy import open_policies
from hugmood.reminders.scheduler import ReminderScheduler, open_mailer
from hugmood.security.mfa import MfaSecrets
from hugmood.security.oidc import OidcProvider
from hugmood.security.passwords import Argon2idPasswordHasher
from hugmood.security.ratelimit import SlidingWindowLimiter
from hugmood.security.throttle import InMemoryLoginThrottle
from hugmood.security.tokens import HmacSessionTokens
from hugmood.security.webauthn_passkeys import PasskeyCeremonies
from hugmood.services import Service
from hugmood.sql.beside import open_beside_the_log
from hugmood.sql.database import SqlDatabase
from hugmood.sql.postgres import PostgresDatabase
from hugmood.sql.sqlite import SqliteDatabase

log = logging.getLogger(__name__)
_S = TypeVar("_S", bound=Service)

if TYPE_CHECKING:
    from hugmood.messaging.jetstream import Nats


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Role(StrEnum):
    """What a process runs (`hugmood serve`, `hugmood serve --edge-only`, `hugmood worker`)."""

    ALL = "all"
    """Everything: the API and sockets, and every consumer (the embedded default)."""
    EDGE = "edge"
    """HTTP, GraphQL and sockets, with the consumers that push to its own sockets; the read
    models and the relay run in workers."""
    WORKER = "worker"
    """The relay and the consumers that may run anywhere (the read models), no sockets."""


def _runs(role: Role, entry: EventConsumer, only: frozenset[str] | None) -> bool:
    if entry.runs is Placement.WITH_SOCKETS:
        return role is not Role.WORKER
    return role is not Role.EDGE and (only is None or entry.name in only)


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
    role: Role = Role.ALL
    progress: ProjectionRunner | CheckpointWatcher | None = None
    """Where the read models are (`projections`, or their checkpoint on an edge)."""
    nats: Nats | None = None
    relay: EventRelay | None = None
    """The relay to JetStream, in a process that runs one."""
    reads: HeavyReads | None = None
    """Where the heavier queries run when not here: an edge's, in the workers over the mesh."""
    community: CommunityMoodConsumer | None = None
    """The analytics column store's consumer, where this process runs it."""
    minds: SimilarMinds | None = None
    """This process's similar-minds index, where it answers queries."""
    edge: Edge | None = None
    """The edge's caches, verified sessions and store-and-forward, where this process has them."""
    federation: FederationEndpoint | None = None
    """What this region answers the others (friends across a border), with several regions."""

    @property
    def heavy_reads(self) -> HeavyReads:
        """Mood history and board snapshots: over the mesh on an edge, else in this process."""
        return self.reads if self.reads is not None else LocalReads(self.readmodels, self.boards)

    @property
    def consumers(self) -> tuple[BusConsumer, ...]:
        """The durable consumers on the bus that this process runs."""
        return tuple(s for s in self.services if isinstance(s, BusConsumer))

    async def read_models_position(self) -> int:
        """The position every read model reflects, as this process knows it."""
        if isinstance(self.progress, CheckpointWatcher):
            return await self.progress.refresh()
        return self.projections.position


def upcasters() -> Upcasters:
    """Where upgrades of old event versions are registered (none yet: every event is v1)."""
    return Upcasters()


async def open_event_store(
    settings: Settings, registry: Upcasters, stack: AsyncExitStack
) -> tuple[MappedEventStore, DataKeyStore]:
    """The configured backend, behind the one mapper every event passes through: it
    encrypts each event's personal fields under its owner's data key. Both are closed
    with `stack`."""
    keys = await open_data_keys(settings, stack)
    backend = await _open_backend(settings)
    stack.push_async_callback(backend.close)
    cipher = PersonalDataCipher(keys, PERSONAL_DATA)
    return MappedEventStore(backend, Mapper(registry, cipher)), keys


async def open_data_keys(settings: Settings, stack: AsyncExitStack) -> DataKeyStore:
    """People's wrapped data keys: a SQLite file of their own beside the log (or in memory),
    or a table in PostgreSQL; the master key that wraps them is checked before anything else
    opens (a missing or wrong one refuses the start)."""
    master = load_master_key(settings)
    db = await open_beside_the_log(
        settings.database_url, settings.data_dir, "keys.sqlite3", schema=settings.postgres_schema
    )
    stack.push_async_callback(db.close)
    return await DataKeyStore.open(db, master)


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


async def open_nats(settings: Settings, stack: AsyncExitStack) -> Nats | None:
    """With NATS configured, the JetStream bus (connected, its stream set up later by whoever
    publishes); else None (the embedded bus is the store itself: consumers follow it)."""
    if not settings.nats_url:
        return None
    from hugmood.messaging.jetstream import JetStreamBus, JetStreamParking, Nats

    region = f"{settings.nats_subject_prefix}.{subject_token(settings.region)}"
    stream = StreamSettings(
        name=settings.nats_stream,
        subjects=(f"{region}.events.>",),
        storage="memory" if settings.nats_storage == "memory" else "file",
        replicas=settings.nats_replicas,
        max_age_s=settings.nats_max_age_s,
        duplicate_window_s=settings.nats_duplicate_window_s,
    )
    bus = await JetStreamBus.connect(settings.nats_url, stream)
    stack.push_async_callback(bus.close)
    parking = JetStreamParking(
        bus.jetstream, f"{settings.nats_stream}_PARKED", region, settings.nats_replicas
    )
    return Nats(bus, parking, f"{region}.events.>")


def open_relay(
    settings: Settings, store: EventStore, readmodels: SqlDatabase, nats: Nats
) -> EventRelay:
    """The relay that publishes the log to JetStream, under a lease in NATS KV."""
    from hugmood.messaging.jetstream import NatsKvLease

    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    lease = NatsKvLease(
        nats.bus.jetstream,
        f"{settings.nats_stream}_leases",
        "relay",
        holder,
        settings.relay_lease_ttl_s,
    )
    return EventRelay(
        store,
        readmodels,
        nats.bus,
        lease,
        region=settings.region,
        subject_prefix=settings.nats_subject_prefix,
    )


def analytics_path(settings: Settings) -> Path | None:
    """The DuckDB file of community mood: in the data dir, or in memory with the memory store."""
    if settings.database_url == "memory":
        return None
    return settings.data_dir / "analytics" / "community.duckdb"


async def _open_edge(
    settings: Settings,
    role: Role,
    store: EventStore,
    readmodels: SqlDatabase,
    deps: Dependencies,
    progress: ReadModelsProgress,
    runner: ProjectionRunner,
    *,
    holds: bool,
) -> Edge:
    """The `edge cache` consumer with, where configured, the caches; and on an edge process
    that serves (`holds`), its store-and-forward queue (a file of the edge's own data dir,
    never shared with the region)."""
    watcher = progress if isinstance(progress, CheckpointWatcher) else None

    async def read_models_at() -> int:
        return await watcher.refresh() if watcher is not None else runner.position

    queue_path = None
    if holds:
        private_dir(settings.data_dir / "edge")
        queue_path = settings.data_dir / "edge" / "held.sqlite3"
    return await open_edge(
        store=store,
        readmodels=readmodels,
        deps=deps,
        progress=progress,
        read_models_at=read_models_at,
        known_position=lambda: watcher.position if watcher is not None else runner.position,
        cache=role is Role.EDGE or settings.edge_cache,
        queue_path=queue_path,
        secret_key=settings.secret_key,
        max_entries=settings.edge_cache_entries,
        ttl_s=settings.edge_cache_ttl_s,
        session_grace_s=settings.edge_session_grace_s,
    )


def _service(services: list[Service], kind: type[_S]) -> _S | None:
    return next((s for s in services if isinstance(s, kind)), None)


def check_consumers(
    services: list[Service], role: Role = Role.ALL, only: frozenset[str] | None = None
) -> None:
    """Every entry of the event table this process runs has its service."""
    names = {s.name for s in services}
    unknown = sorted((only or set()) - {c.name for c in EVENT_CONSUMERS})
    if unknown:
        raise LookupError(f"no event consumers named {unknown}")
    missing = [c.name for c in EVENT_CONSUMERS if _runs(role, c, only) and c.name not in names]
    if missing:
        raise LookupError(f"no service implements the event consumers {missing}")


@asynccontextmanager
async def open_hugmood(
    settings: Settings,
    *,
    run_services: bool = True,
    consumers: frozenset[str] | None = None,
    directory: Directory | None = None,
    peers: Mapping[str, Peer] | None = None,
) -> AsyncIterator[HugMood]:
    """Open every backend and start the services of `role` (with `run_services` off, as
    one-off commands do, the read models are only read); close it all on the way out.
    `consumers` limits a worker to the named entries of the event table. `directory`: the
    global directory of the regions hosted with this one (else `HUGMOOD_DIRECTORY_URL`'s);
    `peers`: those regions, called directly (the ones in `HUGMOOD_REGION_URLS` over HTTP)."""
    settings = settings.with_secret()
    role = Role(settings.role)
    # The regions and their rules, checked before anything opens: a bad file stops here.
    policies = open_policies(settings)
    async with AsyncExitStack() as stack:
        if directory is None and settings.directory_url:
            directory = await open_directory(settings)
            if directory is not None:
                stack.push_async_callback(directory.close)
        federation = None
        if directory is not None:
            federation = open_federation(settings, policies.geography, directory, peers or {})
            stack.push_async_callback(federation.close)
        store, keys = await open_event_store(settings, upcasters(), stack)
        readmodels = await open_read_models(settings)
        stack.push_async_callback(readmodels.close)
        # Personal data in the read models is sealed under each person's key too.
        readmodels.cells = SealedCells(keys)
        # Images people add are sealed under their own key, like the rest of their data.
        blobs = SealedBlobStore(await open_blob_store(settings), keys)
        stack.push_async_callback(blobs.close)
        live = InMemoryRealtimeHub()
        stack.push_async_callback(live.close)
        hub = await open_hub(settings)
        stack.push_async_callback(hub.close)

        runner = ProjectionRunner(store, readmodels, all_projections())
        clock = SystemClock()
        content = BoardContentStore(store, readmodels, clock, origin=uuid.uuid4().hex, keys=keys)
        deps = Dependencies(
            store=store,
            readmodels=readmodels,
            clock=clock,
            hasher=Argon2idPasswordHasher(),
            throttle=InMemoryLoginThrottle(
                max_failures=settings.login_max_failures,
                lockout_s=settings.login_lockout_s,
                secret=settings.secret_key.encode(),
            ),
            # With several regions a token names its own, so an edge routes it at a glance.
            tokens=HmacSessionTokens(
                settings.secret_key.encode(), region=settings.region if directory else None
            ),
            directory=directory,
            federation=federation,
            hug_limiter=SlidingWindowLimiter(
                limit=settings.hugs_per_minute, window_s=60, what="hugs"
            ),
            blobs=blobs,
            session_ttl_hours=settings.session_ttl_hours,
            age_required=settings.age_required,
            rules=policies,
            age_rules=settings.applies_age_rules,
            mailer=open_mailer(settings),
            push_allow_loopback=settings.push_allow_loopback,
            reset_limiter=SlidingWindowLimiter(limit=5, window_s=3600, what="reset requests"),
            mfa=MfaSecrets(settings.secret_key.encode()),
            mfa_required=settings.mfa_required,
            passkeys=PasskeyCeremonies(
                rp_id=settings.passkey_rp_id(),
                rp_name="HugMood",
                origins=settings.passkey_origins(),
            ),
            oidc=OidcProvider(
                name=settings.oidc_name,
                issuer=settings.oidc_issuer,
                client_id=settings.oidc_client_id,
                client_secret=settings.oidc_client_secret,
                redirect_url=settings.oidc_redirect(),
            )
            if settings.oidc_issuer
            else None,
            data_keys=keys,
            boards=content,
        )
        # Read-your-writes: from the runner where this process applies the read models, from
        # their committed checkpoint where workers do.
        runs = {c.name for c in EVENT_CONSUMERS if _runs(role, c, consumers)}
        progress: ReadModelsProgress = runner
        if READ_MODELS not in runs and run_services:
            watcher = CheckpointWatcher(readmodels)
            stack.push_async_callback(watcher.close)
            progress = watcher
        edge = None
        if role is not Role.WORKER:
            holds = run_services and role is Role.EDGE
            edge = await _open_edge(
                settings, role, store, readmodels, deps, progress, runner, holds=holds
            )
            stack.push_async_callback(close_edge, edge)
        bus = edge.bus if edge is not None and edge.bus is not None else MessageBus(deps, progress)
        presence = PresenceService(
            hub,
            readmodels,
            heartbeat_s=settings.presence_heartbeat_s,
            also_tell=partial(tell_abroad, deps) if federation is not None else None,
        )
        deliveries = DeliveryRecorder(bus)
        boards = BoardRooms(
            deps,
            content,
            hub,
            rebase_min_bytes=settings.board_rebase_min_bytes,
            session_check_s=settings.ws_session_check_s,
        )
        nats = None
        if run_services:
            try:
                nats = await open_nats(settings, stack)
            except BusUnavailable as e:
                if role is not Role.EDGE:
                    raise
                # An edge takes commands into the store whether or not NATS is up: without
                # it, it answers the heavier queries itself instead of over the mesh.
                log.warning("starting without NATS (%s): the mesh is not used by this edge", e)
        insights = Insights(readmodels, bus)
        endpoint = (
            FederationEndpoint(
                deps,
                bus,
                boards.snapshot,
                news=HubNews(hub, presence),
            )
            if federation is not None
            else None
        )
        learning, learning_calls = await open_learning(
            settings,
            stack,
            store,
            blobs,
            hub,  # new versions are announced across processes (Redis when configured)
            nats=nats is not None,
            serves_http=role is not Role.WORKER,
            # Off until a person says yes, unless their country's rule makes learning opt-out.
            default_consent=lambda person: learns_by_default(deps, UserId(person)),
        )
        by_name: dict[str, Service] = {
            READ_MODELS: runner,
            LIVE_RELAY: LiveRelay(store, readmodels, progress, live),
            BOARD_ROOMS: boards,
            COMMUNITY_MOOD: CommunityMoodConsumer(
                store,
                readmodels,
                analytics_path(settings),
                contributes=partial(contributes_at, deps),
            ),
            SIMILAR_MINDS: SimilarMinds(store, readmodels, consumer(SIMILAR_MINDS).handles),
            INSIGHTS: InsightsService(store, readmodels, insights, progress),
            LEARNING: learning,
            FEDERATION_OUTBOX: FederationOutbox(deps, progress),
        }
        if nats is not None:
            # With NATS, the read models hear of new events from the bus (shared by every
            # process that runs them) instead of each following the store.
            by_name[READ_MODELS] = OrderedConsumer(
                READ_MODELS,
                store,
                nats.bus,
                nats.parking,
                runner,
                filter_subject=nats.subjects,
                known_types=known_event_types(),
            )
            # Insights are per person: the workers share them out.
            by_name[INSIGHTS] = ParallelConsumer(
                INSIGHTS,
                store,
                readmodels,
                nats.bus,
                nats.parking,
                InsightsEffect(insights, progress),
                types=consumer(INSIGHTS).handles,
                # Only check-ins reach it: mood events are the `mood` stream category.
                filter_subject=nats.subjects.removesuffix(">") + "mood.>",
                known_types=known_event_types(),
            )
        services: list[Service] = [by_name[name] for name in by_name if name in runs]
        services += learning_calls  # device calls forwarded to the active coordinator
        if role is not Role.WORKER:
            services += [presence, deliveries]
        # Edges accept contributions; whichever process holds the job secret releases them.
        services += CommunityJob.open(settings, readmodels, serves_http=role is not Role.WORKER)
        if role is not Role.EDGE:
            services.append(ReminderScheduler.open(settings, bus, deps))
            services.append(RetentionJob(bus, deps, settings.retention_check_s))
            services.append(ErasureScheduler(bus, readmodels, clock, settings.erasure_check_s))
        relay = None
        if nats is not None and role is not Role.EDGE:
            relay = open_relay(settings, store.stored, readmodels, nats)
            services.append(relay)
        reads: HeavyReads | None = None
        if nats is not None:
            from hugmood.mesh.start import edge_reads, open_mesh

            # The service mesh (decision 0015): this process's read side and its status.
            kind = "server" if role is Role.ALL else role.value
            mesh = await open_mesh(
                settings, stack, kind=kind, store=store, deps=deps, boards=boards, services=services
            )
            services.append(mesh)
            if role is Role.EDGE:
                reads = edge_reads(settings, mesh, LocalReads(readmodels, boards))
            if settings.federation_transport == "nats" and endpoint and role is not Role.WORKER:
                from hugmood.regions.nats_federation import FederationResponder

                # The other regions' calls, answered where `POST /federation` would be.
                responder = FederationResponder(
                    mesh.connection, endpoint, region=settings.region, key=settings.federation_key
                )
                services.append(responder)
        if edge is not None:
            edge.reads = lambda: reads if reads is not None else LocalReads(readmodels, boards)
            services += edge.services
        check_consumers(services, role, consumers)
        if run_services:
            # A changed rule is an audited event (`hugmood policy history`).
            await record_policy_change(store, policies.policy(settings.region), clock.now())
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
            role,
            progress if isinstance(progress, CheckpointWatcher) else runner,
            nats,
            relay,
            reads,
            _service(services, CommunityMoodConsumer),
            _service(services, SimilarMinds),
            edge,
            endpoint,
        )
