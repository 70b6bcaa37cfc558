"""The federated-learning coordinator as a service (`consumers.LEARNING`): it rebuilds the
coordinator from its journal, runs secure-aggregation rounds for signed-in devices (phases
that end when every device answered or at their deadline, so stragglers cannot stall a
round), adds the DP noise, gates and publishes versions, and tells live subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from hugmood.blobs.store import BlobStore
from hugmood.eventstore.store import ConcurrencyError, EventStore
from hugmood.learning import model, secagg
from hugmood.learning.aggregation import Update, UpdateRejected, aggregation_threshold
from hugmood.learning.consent import DefaultConsent, off_by_default
from hugmood.learning.coordinator import Capabilities, Evaluation, Outcome, Version
from hugmood.learning.federation import VALIDATION_NORM_BOUND
from hugmood.learning.journal import STREAM, DurableCoordinator, JournalBroken
from hugmood.learning.model import Examples, Vector
from hugmood.learning.privacy import EPSILON_BUDGET, GaussianAggregate, delta_for, epsilon
from hugmood.learning.secure_round import MIN_PARTICIPANTS, Phase, Report, SecureRound
from hugmood.learning.simulation import simulate
from hugmood.messaging.bus import BusUnavailable
from hugmood.messaging.lease import Lease, SingleProcessLease
from hugmood.privacy.workers import open_pool
from hugmood.realtime.hub import RealtimeHub
from hugmood.services import Loop, Service

log = logging.getLogger(__name__)

VERSIONS_CHANNEL = "learning:versions"
"""The live channel a published version is announced on (`{"version", "epsilon"}`)."""
ERASURES_BATCH = 500
CHECKPOINT_EVERY_S = 300.0
"""How often, at most, the place in the log where erasures were looked for is journalled
(looking again from an older place after a restart only forgets someone twice)."""
MAX_DEVICES = 10
"""Devices one person may register: more would only inflate the threshold (one joins)."""
PHASES = 5
"""Join, share, mask, unmask, evaluate."""
POOL_FROM = 64
"""Rounds of at least this many devices rebuild their secrets in worker processes."""
VALIDATION_SEED = 1019
"""The coordinator's fixed validation set: simulated check-ins, never anyone's real data."""


class LearningUnavailable(RuntimeError):
    """The coordinator is not running in this process."""


@dataclass(frozen=True, slots=True)
class LearningSettings:
    round_seconds: float = 600.0
    """A round's whole life; each of its five phases gets a fifth of it at most."""
    noise_multiplier: float = 4.0
    norm_bound: float = 1.0
    """The clipping bound C each device applies to its update."""
    degree: int = 20
    """Neighbours each device shares masks with (the complete graph in small rounds)."""
    tick_seconds: float = 0.2


def client_id(person: str, device: str) -> str:
    """A device's id in the coordinator: bound to its person, so no one can act for another's
    device by naming it."""
    return f"{person}/{device}"


class Responder(Protocol):
    """Answers other processes' device calls while this coordinator is the active one."""

    async def open(self, service: FederatedLearning) -> None: ...

    async def close(self) -> None: ...


class FederatedLearning(Service):
    """The coordinator. Several processes may run it; the one holding `lease` is the active
    one (its journal admits one writer), answering other processes through `responder`."""

    name = "federated learning"

    def __init__(
        self,
        store: EventStore,
        blobs: BlobStore,
        live: RealtimeHub,
        settings: LearningSettings,
        *,
        clock: Callable[[], float] = time.time,
        rng: np.random.Generator | None = None,
        validation: Examples | None = None,
        lease: Lease | None = None,
        responder: Responder | None = None,
        default_consent: DefaultConsent = off_by_default,
    ) -> None:
        super().__init__()
        self._default_consent = default_consent
        self.settings = settings
        self._lease: Lease = lease or SingleProcessLease()
        self._responder = responder
        self._renewed_at = 0.0
        self._log_position: int | None = None
        self._checkpointed_at = 0.0
        self._unsaved = False
        """Others' events were read since the last checkpoint."""
        self.active = False
        """Whether this process holds the lease and so runs rounds and answers calls."""
        self._store = store
        self._blobs = blobs
        self._live = live
        self._clock = clock
        self._rng = rng or np.random.default_rng()
        self._validation = validation
        self._dp = GaussianAggregate(settings.norm_bound, settings.noise_multiplier)
        self._lock = asyncio.Lock()
        self._durable: DurableCoordinator | None = None
        self._secure: SecureRound | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._workers = max(1, min(4, os.cpu_count() or 1))

    async def starting(self) -> None:
        if self._validation is None:
            self._validation = await asyncio.to_thread(
                lambda: simulate(0, seed=VALIDATION_SEED, validation_people=40).validation
            )
        await self._keep_lease()

    async def stopping(self) -> None:
        if self._responder is not None:
            await self._responder.close()
        if self.active:
            self.active = False
            await self._lease.release()

    async def _keep_lease(self) -> None:
        """Take or renew the lease (every third of its life); becoming active, load the
        journal as the last holder left it; losing it, stop answering."""
        now = time.monotonic()
        if self.active and now - self._renewed_at < self._lease.ttl_s / 3:
            return
        try:
            held = await (self._lease.renew() if self._lease.held else self._lease.acquire())
        except BusUnavailable as e:
            log.warning("learning coordinator lease: %s", e)
            held = False
        if held:
            self._renewed_at = now
        if held and not self.active:
            async with self._lock:
                await self._load()
                self.active = True
            if self._responder is not None:
                await self._responder.open(self)
            log.info("this process now coordinates federated learning")
        elif not held and self.active:
            self.active = False
            if self._responder is not None:
                await self._responder.close()
            async with self._lock:
                self._secure = None
            log.warning("this process lost the learning coordinator's lease")

    async def stopped(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _rebuilders(self) -> ProcessPoolExecutor:
        """Worker processes for the Shamir rebuilds (pure Python: one core each), started
        on the first large round."""
        if self._pool is None:
            self._pool = await open_pool(self._workers)
        return self._pool

    def loops(self) -> Sequence[tuple[str, Loop]]:
        # Two loops, as the relay's: closing a large round takes seconds, and the lease must
        # be renewed meanwhile or another process would take over mid-close.
        return (("hold the lease", self._hold_lease), ("rounds", self._rounds))

    async def _load(self) -> None:
        self._secure = None
        self._log_position = None
        self._durable = await DurableCoordinator.load(
            self._store,
            self._blobs,
            initial=model.initial_parameters(),
            norm_bound=VALIDATION_NORM_BOUND,
            round_seconds=self.settings.round_seconds,
            clock=self._clock,
        )

    async def _hold_lease(self) -> None:
        while True:
            await self._keep_lease()
            await asyncio.sleep(min(self.settings.tick_seconds, self._lease.ttl_s / 6))

    async def _rounds(self) -> None:
        while True:
            if self.active:
                await self.advance()
            await asyncio.sleep(self.settings.tick_seconds)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[DurableCoordinator]:
        """The coordinator, under the lock; if another process wrote its journal meanwhile
        (two coordinators: one deployment should run one), it is reloaded and the call is
        refused as unavailable rather than half done."""
        async with self._lock:
            try:
                yield self.durable
            except (JournalBroken, ConcurrencyError) as e:
                log.warning("the learning journal moved under this coordinator: reloading")
                await self._load()
                raise LearningUnavailable("the coordinator is catching up; try again") from e

    @property
    def durable(self) -> DurableCoordinator:
        if self._durable is None or not self.active:
            raise LearningUnavailable("the learning coordinator does not run in this process")
        return self._durable

    # --- what devices ask -----------------------------------------------------------------

    async def status(self, person: str, device: str | None) -> dict[str, Any]:
        async with self._lock:
            durable = self.durable
            coordinator = durable.coordinator
            current = coordinator.current
            client = None if device is None else client_id(person, device)
            round_: dict[str, Any] | None = None
            if coordinator.current_round is not None and self._secure is not None:
                round_ = self._secure.view(client or "")
                round_["deadline"] = coordinator.current_round.deadline
                round_["participants"] = len(self._secure.joined)
            return {
                "consent": await self._consents(person),
                "registered": client is not None and coordinator.consents(client),
                "version": _version(current),
                "round": round_,
                "rounds": list(reversed(durable.closed)),
                "roundsClosed": coordinator.rounds_closed,
                "devices": coordinator.consenting,
                "normBound": self.settings.norm_bound,
                "noiseMultiplier": self.settings.noise_multiplier,
                "weightCap": self._dp.weight_cap,
                "epsilonBudget": EPSILON_BUDGET,
            }

    async def _consents(self, person: str) -> bool:
        """Their choice, else their country's default (opt-in nearly everywhere: no)."""
        chosen = self.durable.people.get(person)
        return await self._default_consent(person) if chosen is None else chosen

    async def model(self) -> tuple[Version, bytes]:
        async with self._lock:
            current = self.durable.coordinator.current
            return current, current.parameters.astype("<f8").tobytes()

    async def set_consent(self, person: str, consented: bool) -> None:
        async with self._writing() as durable:
            secure = self._secure
            if not consented and secure is not None:
                clients = [c for c, owner in durable.owners.items() if owner == person]
                if not all([secure.withdraw(c) for c in clients]):
                    await self._end(Outcome.ABANDONED)  # their update is in the sum already
            await durable.set_consent(person, consented)

    async def register(self, person: str, device: str, parameters: int) -> None:
        """A device of a consenting person registers (again) to take part."""
        async with self._writing() as durable:
            if not await self._consents(person):
                raise UpdateRejected("NO_CONSENT", "you have not opted in to learning")
            client = client_id(person, device)
            theirs = [c for c, owner in durable.owners.items() if owner == person]
            if client not in theirs and len(theirs) >= MAX_DEVICES:
                raise UpdateRejected(
                    "TOO_MANY_DEVICES", f"at most {MAX_DEVICES} devices of a person take part"
                )
            await durable.register(
                client,
                Capabilities(parameters, secure_aggregation=True),
                consented=True,
                person=person,
            )

    async def join(
        self, person: str, device: str, round_number: object, version: object, keys: Keys
    ) -> None:
        async with self._lock:
            client = self._participant(person, device)
            secure = self._open(round_number)
            if version != secure.version:
                raise UpdateRejected(
                    "STALE_VERSION", f"the round trains version {secure.version}, not {version}"
                )
            owners = self.durable.owners
            if any(owners.get(c) == person and c != client for c in secure.joined):
                # DP bounds what one person adds to a round: one update, from one device.
                raise UpdateRejected(
                    "ALREADY_SENT", "another of your devices takes part in this round"
                )
            secure.join(client, keys[0], keys[1])

    async def share(
        self, person: str, device: str, round_number: object, bundles: list[tuple[int, bytes]]
    ) -> None:
        async with self._lock:
            client = self._participant(person, device)
            self._open(round_number).share(client, bundles)

    async def mask(
        self,
        person: str,
        device: str,
        round_number: object,
        version: object,
        update_id: str,
        words: secagg.Words,
    ) -> None:
        async with self._writing() as durable:
            client = self._participant(person, device)
            secure = self._open(round_number)
            durable.coordinator.admissible(update_id, client)
            if not isinstance(version, int) or isinstance(version, bool):
                raise UpdateRejected("BAD_SHAPE", "version must be an integer")
            index = secure.check_mask(client, words)
            await durable.submit_masked(update_id, client, version)
            secure.masked[index] = words

    async def reveal(
        self, person: str, device: str, round_number: object, shares: list[tuple[int, str, bytes]]
    ) -> None:
        async with self._lock:
            client = self._participant(person, device)
            self._open(round_number).reveal(client, shares)

    def _participant(self, person: str, device: str) -> str:
        client = client_id(person, device)
        durable = self.durable
        if durable.owners.get(client) != person:
            raise UpdateRejected("NOT_REGISTERED", "this device has not registered for learning")
        if not durable.coordinator.consents(client):
            raise UpdateRejected("NO_CONSENT", "you have not opted in to learning")
        return client

    def _open(self, round_number: object) -> SecureRound:
        secure = self._secure
        if secure is None or self.durable.coordinator.current_round is None:
            raise UpdateRejected("NO_OPEN_ROUND", "no round is open")
        if round_number != secure.number:
            raise UpdateRejected("NO_OPEN_ROUND", f"round {round_number} is not the open round")
        return secure

    # --- rounds ---------------------------------------------------------------------------

    async def advance(self) -> None:
        """Open a round when enough devices take part; move the open one on when every
        device answered or its phase's time is up; close it at the end."""
        with contextlib.suppress(LearningUnavailable):
            async with self._writing():
                await self._advance()

    def _needed(self) -> int:
        return max(MIN_PARTICIPANTS, aggregation_threshold(self.durable.coordinator.registered))

    async def _forget_erased(self) -> None:
        """Follow the log for erased accounts (from the journal's checkpoint): their devices
        leave any round and the coordinator forgets them, consent included."""
        durable = self.durable
        if self._log_position is None and durable.log_position is None:
            # An empty journal: nobody registered, nobody to forget before now.
            self._log_position = await self._store.last_position()
        position = self._log_position or durable.log_position or 0
        for event in await self._store.read_all(position, ERASURES_BATCH):
            position = event.position
            if event.stream_id != STREAM:
                self._unsaved = True  # the log moved on, not only by this journal
            if event.event_type != "UserErased":
                continue
            person = str(event.data["userId"])
            secure = self._secure
            if secure is not None:
                clients = [c for c, owner in durable.owners.items() if owner == person]
                if not all([secure.withdraw(c) for c in clients]):
                    await self._end(Outcome.ABANDONED)
            await durable.forget(person, position)
        self._log_position = position
        now = time.monotonic()
        # A checkpoint only saves a restart rescanning what others wrote since the last one,
        # and only where there are devices to forget: never for this journal's own events.
        due = now - self._checkpointed_at > CHECKPOINT_EVERY_S
        if self._unsaved and durable.owners and due:
            await durable.checkpoint(position)
            self._checkpointed_at, self._unsaved = now, False

    async def _advance(self) -> None:
        await self._forget_erased()
        durable = self.durable
        coordinator = durable.coordinator
        now = self._clock()
        fifth = self.settings.round_seconds / PHASES
        round_ = coordinator.current_round
        if round_ is None:
            if coordinator.consenting >= self._needed():
                opened = await durable.open_round()
                self._secure = SecureRound(
                    opened.number,
                    opened.version,
                    model.PARAMETERS + 1,
                    self.settings.degree,
                    phase_ends=now + fifth,
                )
            return
        secure = self._secure
        if secure is None:  # cannot happen: a loaded open round is abandoned
            await durable.end_round(Outcome.ABANDONED)
            return
        if secure.phase is Phase.JOIN:
            # One device a person joins: the phase is complete once every consenting person
            # has a device in it.
            people = {durable.owners.get(c, c) for c in coordinator.consenting_clients}
            if len(secure.joined) < len(people) and now < secure.phase_ends:
                return
            if len(secure.joined) < self._needed() or not secure.start_sharing():
                await self._end(Outcome.TOO_FEW_UPDATES)
                return
            secure.phase_ends = now + fifth
            return
        if not secure.everyone_answered() and now < min(secure.phase_ends, round_.deadline):
            return
        if secure.phase is Phase.SHARE:
            moved = secure.start_masking()
        elif secure.phase is Phase.MASK:
            moved = secure.start_unmasking() and len(secure.masked) >= self._needed()
        elif secure.phase is Phase.UNMASK:
            if await self._unmask(secure):
                secure.phase_ends = now + fifth
            return
        else:
            await self._close(secure)
            return
        if not moved:
            await self._end(Outcome.TOO_FEW_UPDATES)
            return
        secure.phase_ends = now + fifth

    async def _end(self, outcome: Outcome) -> None:
        self._secure = None
        await self.durable.end_round(outcome)

    async def _unmask(self, secure: SecureRound) -> bool:
        """Rebuild the sum, noise it and hand the candidate to the devices to evaluate (its
        release is journalled first: it spends privacy whatever the round's end)."""
        try:
            pool = await self._rebuilders() if secure.clients >= POOL_FROM else None
            words = await asyncio.to_thread(secure.unmask, pool, self._workers)
            total = secagg.from_fixed(words)
        except (secagg.UnmaskingFailed, ValueError) as e:
            log.warning("round %s: the sum could not be unmasked (%s)", secure.number, e)
            await self._end(Outcome.UNMASKING_FAILED)
            return False
        durable = self.durable
        spent = epsilon(
            self.settings.noise_multiplier,
            durable.releases + 1,
            delta_for(max(1, durable.coordinator.registered)),
        )
        if spent > EPSILON_BUDGET:  # the noised sum must not leave: nothing is released
            await self._end(Outcome.OVER_BUDGET)
            return False
        await durable.release_candidate(secure.number)
        current = durable.coordinator.current.parameters
        secure.start_evaluating(self._dp.noised_mean(total, self._rng), current)
        return True

    async def _close(self, secure: SecureRound) -> None:
        """Gate the candidate on the devices' held-out check-ins and the validation set."""
        durable = self.durable
        update = secure.update
        assert update is not None
        self._secure = None
        spent = epsilon(
            self.settings.noise_multiplier,
            durable.releases,
            delta_for(max(1, durable.coordinator.registered)),
        )
        current = durable.coordinator.current.parameters
        federated = secure.federated()

        def evaluate(theta: Vector) -> Evaluation:
            assert self._validation is not None
            validation = model.evaluate(theta, self._validation)
            if federated is None:  # no device reported: the validation set alone decides
                return Evaluation(validation, validation)
            on_devices = federated[1] if np.array_equal(theta, current) else federated[0]
            return Evaluation(on_devices, validation)

        version = await durable.close(
            lambda updates: _only(update, updates), evaluate, epsilon=spent
        )
        if version is not None:
            await self._live.publish(
                VERSIONS_CHANNEL, {"version": version.number, "epsilon": version.epsilon}
            )

    async def evaluation(
        self, person: str, device: str, round_number: object, report: Report
    ) -> None:
        async with self._lock:
            client = self._participant(person, device)
            self._open(round_number).evaluation(client, report)


Keys = tuple[bytes, bytes]
"""A device's masking and transport public keys for one round."""


def _only(noised: Vector, updates: list[Update]) -> Vector:
    """The secure round's noised mean (the coordinator holds no update in the clear)."""
    if updates:
        raise RuntimeError("a secure round holds no update in the clear")
    return noised


def _version(version: Version) -> dict[str, Any]:
    metrics = version.metrics
    return {
        "number": version.number,
        "epsilon": version.epsilon,
        "accuracy": None if metrics is None else metrics.accuracy,
        "loss": None if metrics is None else metrics.loss,
    }
