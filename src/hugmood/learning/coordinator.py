"""The federated-learning coordinator's rules, in memory: registration with consent, rounds
tied to a model version, which updates count, when a round may close, and the evaluation gate
that publishes a new version only if it improved (run as a service by `learning.service`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from hugmood.learning.aggregation import (
    Update,
    UpdateRejected,
    aggregation_threshold,
    validate,
)
from hugmood.learning.model import Metrics, Vector
from hugmood.learning.privacy import EPSILON_BUDGET


class Outcome(StrEnum):
    """How a round ended."""

    PUBLISHED = "published"
    TOO_FEW_UPDATES = "too-few-updates"
    OVER_BUDGET = "over-budget"
    NOT_FINITE = "not-finite"
    NOT_IMPROVED = "not-improved"
    ABANDONED = "abandoned"
    """The coordinator restarted mid-round: its updates were in memory only, none counted."""
    UNMASKING_FAILED = "unmasking-failed"
    """Too few devices answered with their shares to remove the masks: the sum is lost."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a device says it can do when it registers."""

    model_parameters: int
    secure_aggregation: bool = True


@dataclass(frozen=True, slots=True)
class Version:
    number: int
    parameters: Vector
    epsilon: float
    """Privacy spent by the training that produced it (0 for version 0)."""
    metrics: Metrics | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A candidate's federated evaluation (clients' held-out data, weighted by examples) and
    its evaluation on the coordinator's fixed validation set."""

    federated: Metrics
    validation: Metrics


@dataclass
class Round:
    number: int
    version: int
    deadline: float
    accepted: dict[str, Update] = field(default_factory=dict)
    masked: set[str] = field(default_factory=set)
    """Clients whose masked update (secure aggregation) was accepted; the sum is the
    service's to rebuild."""

    @property
    def participants(self) -> int:
        return len(self.accepted) + len(self.masked)


def improved(candidate: Evaluation, current: Evaluation) -> bool:
    """The gate: lower loss on the clients' held-out data and on the validation set."""
    return (
        candidate.federated.loss < current.federated.loss
        and candidate.validation.loss < current.validation.loss
    )


class Coordinator:
    """Registers consenting clients, opens rounds on the current version, accepts each client's
    update once per round, and publishes a candidate only past the evaluation gate."""

    def __init__(
        self,
        initial: Vector,
        *,
        norm_bound: float,
        round_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.versions: list[Version] = [Version(0, initial.copy(), 0.0)]
        self.norm_bound = norm_bound
        self.round_seconds = round_seconds
        self._clock = clock
        self._registered: dict[str, Capabilities] = {}
        self._consented: set[str] = set()
        self._seen_updates: set[str] = set()
        self.current_round: Round | None = None
        self.rounds_closed = 0

    @property
    def current(self) -> Version:
        return self.versions[-1]

    @property
    def registered(self) -> int:
        return len(self._registered)

    def register(self, client: str, capabilities: Capabilities, *, consented: bool) -> None:
        if capabilities.model_parameters != self.current.parameters.shape[0]:
            raise UpdateRejected("INCOMPATIBLE", "the device's model has another shape")
        self._registered[client] = capabilities
        if consented:
            self._consented.add(client)
        else:
            self._consented.discard(client)

    def unregister(self, client: str) -> None:
        """Forget a client altogether (its person's account was erased)."""
        self.withdraw_consent(client)
        self._registered.pop(client, None)

    def withdraw_consent(self, client: str) -> None:
        self._consented.discard(client)
        if self.current_round is not None:
            self.current_round.accepted.pop(client, None)
            self.current_round.masked.discard(client)

    def open_round(self) -> Round:
        if self.current_round is not None:
            raise RuntimeError(f"round {self.current_round.number} is still open")
        self.current_round = Round(
            self.rounds_closed + 1, self.current.number, self._clock() + self.round_seconds
        )
        return self.current_round

    def consents(self, client: str) -> bool:
        return client in self._consented

    @property
    def consenting(self) -> int:
        return len(self._consented)

    @property
    def consenting_clients(self) -> frozenset[str]:
        return frozenset(self._consented)

    def admissible(self, update_id: str, client: str) -> Round:
        """The open round if `client` may send an update with this id now, else raise
        `UpdateRejected` saying why not."""
        if update_id in self._seen_updates:
            raise UpdateRejected("REPLAYED", "this update was already received")
        if client not in self._registered:
            raise UpdateRejected("NOT_REGISTERED", "the client has not registered")
        if client not in self._consented:
            raise UpdateRejected("NO_CONSENT", "the person has not opted in to learning")
        round_ = self.current_round
        if round_ is None or self._clock() > round_.deadline:
            raise UpdateRejected("NO_OPEN_ROUND", "no round is open")
        if client in round_.accepted or client in round_.masked:
            raise UpdateRejected("ALREADY_SENT", "the client already sent an update this round")
        return round_

    def submit(self, update_id: str, update: Update) -> None:
        """Count `update` in the open round, or raise `UpdateRejected` saying why not."""
        round_ = self.admissible(update_id, update.client)
        validate(update, version=round_.version, norm_bound=self.norm_bound)
        self._seen_updates.add(update_id)
        round_.accepted[update.client] = update

    def submit_masked(self, update_id: str, client: str, version: int) -> None:
        """Count a masked update (its shape is the secure round's to check)."""
        round_ = self.admissible(update_id, client)
        if version != round_.version:
            raise UpdateRejected(
                "STALE_VERSION", f"update is for version {version}, current is {round_.version}"
            )
        self._seen_updates.add(update_id)
        round_.masked.add(client)

    def can_close(self) -> bool:
        """Enough updates arrived, and the deadline passed or every consenting client sent."""
        round_ = self.current_round
        if round_ is None or round_.participants < aggregation_threshold(self.registered):
            return False
        return self._clock() >= round_.deadline or round_.participants >= len(self._consented)

    def close(
        self,
        aggregate: Callable[[list[Update]], Vector],
        evaluate: Callable[[Vector], Evaluation],
        *,
        epsilon: float,
    ) -> Version | None:
        """Aggregate the round's updates into a candidate and publish it if the gate passes;
        None when the round failed (too few updates), the candidate was not better, or its
        training spent more than the privacy budget (`epsilon` is what it states)."""
        return self.close_round(aggregate, evaluate, epsilon=epsilon)[1]

    def close_round(
        self,
        aggregate: Callable[[list[Update]], Vector],
        evaluate: Callable[[Vector], Evaluation],
        *,
        epsilon: float,
    ) -> tuple[Outcome, Version | None]:
        """`close`, saying how the round ended."""
        round_ = self.current_round
        if round_ is None:
            raise RuntimeError("no round is open")
        self.current_round = None
        self.rounds_closed += 1
        if round_.participants < aggregation_threshold(self.registered):
            return Outcome.TOO_FEW_UPDATES, None
        if epsilon > EPSILON_BUDGET:
            return Outcome.OVER_BUDGET, None
        candidate = self.current.parameters + aggregate(list(round_.accepted.values()))
        if not np.all(np.isfinite(candidate)):
            return Outcome.NOT_FINITE, None
        evaluation = evaluate(candidate)
        if not improved(evaluation, evaluate(self.current.parameters)):
            return Outcome.NOT_IMPROVED, None
        version = Version(self.current.number + 1, candidate, epsilon, evaluation.validation)
        self.versions.append(version)
        return Outcome.PUBLISHED, version

    # --- rebuilding from a journal (`learning.journal`) ----------------------------------

    def restore_round(self, number: int, version: int, deadline: float) -> None:
        self.current_round = Round(number, version, deadline)

    def restore_seen(self, update_id: str) -> None:
        """An update id accepted before a restart: refused as a replay from now on."""
        self._seen_updates.add(update_id)

    def restore_version(self, version: Version) -> None:
        if version.number != self.current.number + 1:
            raise ValueError(f"version {version.number} does not follow {self.current.number}")
        self.versions.append(version)

    def end_round(self) -> None:
        """The open round ends without aggregating (closed before a restart, or abandoned
        because its updates were lost with the process)."""
        self.current_round = None
        self.rounds_closed += 1
