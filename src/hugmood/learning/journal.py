"""The coordinator made durable: every decision of `Coordinator` recorded as an event in one
stream of the event store, each published version's weights in the blob store, and the
coordinator rebuilt from that stream after a crash.

Updates themselves are never stored: an accepted update lives in the process's memory until
its round closes. A coordinator that restarts mid-round therefore ends that round as
`abandoned` (nothing of it is counted) and refuses the ids of the updates it had accepted, so
no update is counted twice; devices send a fresh update to the next round. One coordinator
writes the stream at a time: an append at a stale stream version fails.

Not yet run as a service (README, "Learning together, privately").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
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
        for event in events:
            await _apply(coordinator, event, blobs)
        durable = cls(coordinator, store, blobs, events[-1].stream_version if events else 0)
        open_round = coordinator.current_round
        if open_round is not None:
            await durable._record(
                [
                    (
                        "ModelRoundClosed",
                        {"round": open_round.number, "outcome": Outcome.ABANDONED.value},
                    )
                ]
            )
            coordinator.end_round()
        return durable

    async def register(self, client: str, capabilities: Capabilities, *, consented: bool) -> None:
        self._usable()
        self.coordinator.register(client, capabilities, consented=consented)
        await self._record(
            [
                (
                    "ModelClientRegistered",
                    {
                        "client": client,
                        "parameters": capabilities.model_parameters,
                        "secureAggregation": capabilities.secure_aggregation,
                        "consented": consented,
                    },
                )
            ]
        )

    async def withdraw_consent(self, client: str) -> None:
        self._usable()
        self.coordinator.withdraw_consent(client)
        await self._record([("ModelConsentWithdrawn", {"client": client})])

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
                    "participants": len(round_.accepted),
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


async def _apply(coordinator: Coordinator, event: RecordedEvent, blobs: BlobStore) -> None:
    data = event.data
    match event.event_type:
        case "ModelClientRegistered":
            coordinator.register(
                str(data["client"]),
                Capabilities(_int(data["parameters"]), bool(data["secureAggregation"])),
                consented=bool(data["consented"]),
            )
        case "ModelConsentWithdrawn":
            coordinator.withdraw_consent(str(data["client"]))
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
