"""The coordinator made durable: every decision of `Coordinator` recorded as an event in one
stream of the event store, each published version's weights in the blob store, and the
coordinator rebuilt from that stream after a crash.

Updates themselves are never stored: an accepted update lives in the process's memory until
its round closes. A coordinator that restarts mid-round therefore ends that round as
`abandoned` (nothing of it is counted) and refuses the ids of the updates it had accepted, so
no update is counted twice; devices send a fresh update to the next round. One coordinator
writes the stream at a time: an append at a stale stream version fails.

People's consent is recorded here too (`ModelConsentChanged`): a device counts only while its
person's consent is on. `learning.service` runs it as a service.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import numpy as np

from hugmood.blobs.store import BlobStore
from hugmood.eventstore.envelope import JSONValue, NewEvent, RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.learning.aggregation import Update
from hugmood.learning.coordinator import (
    Capabilities,
    Coordinator,
    Evaluation,
    Outcome,
    Round,
    Version,
)
from hugmood.learning.model import Metrics, Vector

STREAM = "learning-coordinator"
_UPDATE_IDS = uuid.UUID("5f4c1d1e-93a4-4f5e-9a53-19d1f0c0a019")
"""Namespace of the accepted updates' event ids (one id per update id: appending it twice
stores it once)."""


HISTORY = 20
"""How many closed rounds `DurableCoordinator.closed` keeps for status."""
_RELEASED = {Outcome.PUBLISHED.value, Outcome.NOT_IMPROVED.value, Outcome.NOT_FINITE.value}


class JournalBroken(RuntimeError):
    """An append failed after the decision was taken in memory: reload from the store."""


def _weights(theta: Vector) -> bytes:
    return theta.astype("<f8").tobytes()


class DurableCoordinator:
    """`Coordinator`'s operations, each recorded before it returns."""

    def __init__(
        self, coordinator: Coordinator, store: EventStore, blobs: BlobStore, stream_version: int
    ) -> None:
        self.coordinator = coordinator
        self._store = store
        self._blobs = blobs
        self._version = stream_version
        self._broken = False
        self.people: dict[str, bool] = {}
        """Each person's consent as last recorded."""
        self.owners: dict[str, str] = {}
        """Each registered client's person."""
        self.closed: list[dict[str, JSONValue]] = []
        """The latest closed rounds (`ModelRoundClosed`'s data), oldest first."""
        self.releases = 0
        """Rounds whose noised sum was computed (each spends privacy, published or not)."""
        self._released_rounds: set[int] = set()
        self.log_position: int | None = None
        """How far in the log erased accounts were looked for (None: never)."""

    @classmethod
    async def load(
        cls,
        store: EventStore,
        blobs: BlobStore,
        *,
        initial: Vector,
        norm_bound: float,
        round_seconds: float,
        clock: Callable[[], float],
    ) -> DurableCoordinator:
        """The coordinator as its stream left it; a round left open is ended as abandoned."""
        coordinator = Coordinator(
            initial, norm_bound=norm_bound, round_seconds=round_seconds, clock=clock
        )
        events = await store.read_stream(STREAM)
        durable = cls(coordinator, store, blobs, events[-1].stream_version if events else 0)
        for event in events:
            await _apply(durable, event, blobs)
        if durable.log_position is None and events:
            # Never checkpointed: nobody erased before the journal began concerns its devices.
            durable.log_position = events[0].position - 1
        open_round = coordinator.current_round
        if open_round is not None:
            lost = sum(
                1
                for e in events
                if e.event_type == "ModelUpdateAccepted" and e.data["round"] == open_round.number
            )
            await durable._record(
                [
                    (
                        "ModelRoundClosed",
                        {
                            "round": open_round.number,
                            "outcome": Outcome.ABANDONED.value,
                            "participants": lost,
                        },
                    )
                ]
            )
            coordinator.end_round()
        return durable

    async def register(
        self,
        client: str,
        capabilities: Capabilities,
        *,
        consented: bool,
        person: str | None = None,
    ) -> None:
        self._usable()
        self.coordinator.register(client, capabilities, consented=consented)
        if person is not None:
            self.owners[client] = person
        await self._record(
            [
                (
                    "ModelClientRegistered",
                    {
                        "client": client,
                        "parameters": capabilities.model_parameters,
                        "secureAggregation": capabilities.secure_aggregation,
                        "consented": consented,
                        "person": person,
                    },
                )
            ]
        )

    async def withdraw_consent(self, client: str) -> None:
        self._usable()
        self.coordinator.withdraw_consent(client)
        await self._record([("ModelConsentWithdrawn", {"client": client})])

    async def set_consent(self, person: str, consented: bool) -> None:
        """Record a person's consent; withdrawing it withdraws every device of theirs (each
        registers again with consent to take part again)."""
        self._usable()
        clients = [c for c, p in self.owners.items() if p == person]
        events: list[tuple[str, dict[str, JSONValue]]] = [
            ("ModelConsentChanged", {"person": person, "consented": consented})
        ]
        if not consented:
            for client in clients:
                self.coordinator.withdraw_consent(client)
            events += [("ModelConsentWithdrawn", {"client": c}) for c in clients]
        self.people[person] = consented
        await self._record(events)

    async def submit_masked(self, update_id: str, client: str, version: int) -> None:
        """Accept a masked update (or raise `UpdateRejected`) and record that it was."""
        self._usable()
        self.coordinator.submit_masked(update_id, client, version)
        round_ = self.coordinator.current_round
        assert round_ is not None
        await self._record(
            [
                (
                    "ModelUpdateAccepted",
                    {"round": round_.number, "client": client, "updateId": update_id},
                )
            ],
            event_id=uuid.uuid5(_UPDATE_IDS, update_id),
        )

    async def end_round(self, outcome: Outcome) -> None:
        """End the open round without aggregating, saying why."""
        self._usable()
        round_ = self.coordinator.current_round
        if round_ is None:
            raise RuntimeError("no round is open")
        self.coordinator.end_round()
        await self._record(
            [
                (
                    "ModelRoundClosed",
                    {
                        "round": round_.number,
                        "outcome": outcome.value,
                        "participants": round_.participants,
                    },
                )
            ]
        )

    async def open_round(self) -> Round:
        self._usable()
        round_ = self.coordinator.open_round()
        await self._record(
            [
                (
                    "ModelRoundOpened",
                    {
                        "round": round_.number,
                        "version": round_.version,
                        "deadline": round_.deadline,
                    },
                )
            ]
        )
        return round_

    async def submit(self, update_id: str, update: Update) -> None:
        """Accept the update (or raise `UpdateRejected`) and record that it was accepted."""
        self._usable()
        self.coordinator.submit(update_id, update)
        round_ = self.coordinator.current_round
        assert round_ is not None
        await self._record(
            [
                (
                    "ModelUpdateAccepted",
                    {
                        "round": round_.number,
                        "client": update.client,
                        "updateId": update_id,
                        "samples": update.samples,
                    },
                )
            ],
            event_id=uuid.uuid5(_UPDATE_IDS, update_id),
        )

    async def close(
        self,
        aggregate: Callable[[list[Update]], Vector],
        evaluate: Callable[[Vector], Evaluation],
        *,
        epsilon: float,
    ) -> Version | None:
        """Close the round; a published version's weights go to the blob store first, then
        the version and the round's end are recorded together."""
        self._usable()
        round_ = self.coordinator.current_round
        if round_ is None:
            raise RuntimeError("no round is open")
        outcome, version = self.coordinator.close_round(aggregate, evaluate, epsilon=epsilon)
        events: list[tuple[str, dict[str, JSONValue]]] = []
        if version is not None:
            stored = await self._blobs.put(_weights(version.parameters))
            metrics = version.metrics
            events.append(
                (
                    "ModelVersionPublished",
                    {
                        "version": version.number,
                        "round": round_.number,
                        "weights": stored.blob_id,
                        "epsilon": version.epsilon,
                        "accuracy": None if metrics is None else metrics.accuracy,
                        "loss": None if metrics is None else metrics.loss,
                        "examples": None if metrics is None else metrics.examples,
                        "intensityError": None if metrics is None else metrics.intensity_error,
                    },
                )
            )
        events.append(
            (
                "ModelRoundClosed",
                {
                    "round": round_.number,
                    "outcome": outcome.value,
                    "participants": round_.participants,
                },
            )
        )
        await self._record(events)
        return version

    def _usable(self) -> None:
        if self._broken:
            raise JournalBroken("a recording failed: load the coordinator from the store again")

    async def _record(
        self,
        events: Sequence[tuple[str, dict[str, JSONValue]]],
        *,
        event_id: uuid.UUID | None = None,
    ) -> None:
        now = datetime.now(UTC)
        new = [
            NewEvent(event_id or uuid.uuid4(), kind, 1, now, None, data) for kind, data in events
        ]
        try:
            result = await self._store.append(STREAM, new, expected_version=self._version)
        except BaseException:
            self._broken = True
            raise
        self._version = result.stream_version
        for kind, data in events:
            self._note(kind, data)

    def _note(self, kind: str, data: Mapping[str, JSONValue]) -> None:
        if kind == "ModelCandidateReleased":
            self.releases += 1
            self._released_rounds.add(_int(data["round"]))
            return
        if kind != "ModelRoundClosed":
            return
        self.closed = [*self.closed[-(HISTORY - 1) :], dict(data)]
        released = data.get("round") in self._released_rounds
        if data.get("outcome") in _RELEASED and not released:
            self.releases += 1

    async def forget(self, person: str, position: int) -> None:
        """An erased account: its devices are unregistered and its consent forgotten; the
        log's `position` is where that was read."""
        self._usable()
        clients = [c for c, p in self.owners.items() if p == person]
        for client in clients:
            self.coordinator.unregister(client)
            del self.owners[client]
        self.people.pop(person, None)
        self.log_position = position
        await self._record(
            [("ModelPersonForgotten", {"person": person, "clients": clients, "position": position})]
        )

    async def checkpoint(self, position: int) -> None:
        """How far in the log erased accounts were looked for."""
        self._usable()
        self.log_position = position
        await self._record([("ModelLogCheckpoint", {"position": position})])

    async def release_candidate(self, round_number: int) -> None:
        """Record that a round's noised candidate left the coordinator (to the devices that
        evaluate it): it spends privacy even if the round ends without publishing it."""
        self._usable()
        await self._record([("ModelCandidateReleased", {"round": round_number})])


async def _apply(durable: DurableCoordinator, event: RecordedEvent, blobs: BlobStore) -> None:
    coordinator = durable.coordinator
    data = event.data
    durable._note(event.event_type, data)
    match event.event_type:
        case "ModelClientRegistered":
            coordinator.register(
                str(data["client"]),
                Capabilities(_int(data["parameters"]), bool(data["secureAggregation"])),
                consented=bool(data["consented"]),
            )
            if data.get("person") is not None:
                durable.owners[str(data["client"])] = str(data["person"])
        case "ModelConsentWithdrawn":
            coordinator.withdraw_consent(str(data["client"]))
        case "ModelConsentChanged":
            durable.people[str(data["person"])] = bool(data["consented"])
        case "ModelRoundOpened":
            coordinator.restore_round(
                _int(data["round"]), _int(data["version"]), _float(data["deadline"])
            )
        case "ModelUpdateAccepted":
            coordinator.restore_seen(str(data["updateId"]))
        case "ModelVersionPublished":
            raw = await blobs.get(str(data["weights"]))
            if raw is None:
                raise RuntimeError(f"the weights of version {data['version']} are missing")
            metrics = (
                None
                if data["examples"] is None
                else Metrics(
                    _int(data["examples"]),
                    _float(data["accuracy"]),
                    _float(data["loss"]),
                    _float(data["intensityError"]),
                )
            )
            coordinator.restore_version(
                Version(
                    _int(data["version"]),
                    np.frombuffer(raw, dtype="<f8").astype(np.float64),
                    _float(data["epsilon"]),
                    metrics,
                )
            )
        case "ModelCandidateReleased":
            pass  # counted by `_note`: privacy spent
        case "ModelPersonForgotten":
            clients = data["clients"]
            for client in clients if isinstance(clients, list) else []:
                coordinator.unregister(str(client))
                durable.owners.pop(str(client), None)
            durable.people.pop(str(data["person"]), None)
            durable.log_position = _int(data["position"])
        case "ModelLogCheckpoint":
            durable.log_position = _int(data["position"])
        case "ModelRoundClosed":
            coordinator.end_round()
        case _:
            raise RuntimeError(f"unknown event {event.event_type!r} in {STREAM}")


def _int(value: JSONValue) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _float(value: JSONValue) -> float:
    if not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)
