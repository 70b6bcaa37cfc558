"""The coordinator's rules: who may send, which updates count, when a round closes, the gate."""

from __future__ import annotations

import numpy as np
import pytest

from hugmood.learning.aggregation import Update, UpdateRejected, aggregate
from hugmood.learning.coordinator import Capabilities, Coordinator, Evaluation
from hugmood.learning.federation import Settings, run
from hugmood.learning.model import PARAMETERS, Metrics, Vector, initial_parameters
from hugmood.learning.simulation import simulate
from hugmood.learning.strategy import Strategy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _coordinator(clock: Clock, *, clients: int = 5) -> Coordinator:
    coordinator = Coordinator(initial_parameters(), norm_bound=5.0, round_seconds=60, clock=clock)
    for i in range(clients):
        coordinator.register(f"d{i}", Capabilities(PARAMETERS), consented=i != clients - 1)
    return coordinator


def _update(client: str, version: int = 0) -> Update:
    return Update(client, version, np.full(PARAMETERS, 0.01), 10)


def _refusal(coordinator: Coordinator, update_id: str, update: Update) -> str:
    with pytest.raises(UpdateRejected) as refused:
        coordinator.submit(update_id, update)
    return refused.value.code


def test_only_registered_consenting_clients_send_once_per_round_for_the_current_version() -> None:
    clock = Clock()
    coordinator = _coordinator(clock)
    assert _refusal(coordinator, "u0", _update("d0")) == "NO_OPEN_ROUND"
    coordinator.open_round()
    coordinator.submit("u1", _update("d0"))
    assert _refusal(coordinator, "u1", _update("d0")) == "REPLAYED"
    assert _refusal(coordinator, "u2", _update("d0")) == "ALREADY_SENT"
    assert _refusal(coordinator, "u3", _update("stranger")) == "NOT_REGISTERED"
    assert _refusal(coordinator, "u4", _update("d4")) == "NO_CONSENT"
    assert _refusal(coordinator, "u5", _update("d1", version=7)) == "STALE_VERSION"
    clock.now = 61
    assert _refusal(coordinator, "u6", _update("d2")) == "NO_OPEN_ROUND"


def test_a_withdrawn_consent_removes_the_update_already_sent() -> None:
    coordinator = _coordinator(Clock())
    round_ = coordinator.open_round()
    coordinator.submit("u1", _update("d0"))
    coordinator.withdraw_consent("d0")
    assert "d0" not in round_.accepted
    assert _refusal(coordinator, "u2", _update("d0")) == "NO_CONSENT"


def test_a_round_closes_at_its_deadline_once_the_threshold_is_met() -> None:
    clock = Clock()
    coordinator = _coordinator(clock)  # 5 registered: one update is enough (20%)
    coordinator.open_round()
    assert not coordinator.can_close()
    coordinator.submit("u1", _update("d0"))
    assert not coordinator.can_close()  # others may still send before the deadline
    clock.now = 60
    assert coordinator.can_close()


def _metrics(loss: float) -> Metrics:
    return Metrics(10, 0.5, loss, 0.1)


def _fedavg(updates: list[Update]) -> Vector:
    return aggregate(Strategy.FEDAVG, [u.delta for u in updates], [u.samples for u in updates])


def test_the_evaluation_gate_refuses_a_worse_model_and_publishes_a_better_one() -> None:
    coordinator = _coordinator(Clock())
    worse = lambda theta: Evaluation(  # noqa: E731
        _metrics(float(theta.sum()) + 1), _metrics(float(theta.sum()) + 1)
    )
    coordinator.open_round()
    coordinator.submit("u1", _update("d0"))
    assert coordinator.close(_fedavg, worse, epsilon=1.0) is None
    assert coordinator.current.number == 0
    better = lambda theta: Evaluation(  # noqa: E731
        _metrics(1 - float(theta.sum())), _metrics(1 - float(theta.sum()))
    )
    coordinator.open_round()
    coordinator.submit("u2", _update("d1"))
    version = coordinator.close(_fedavg, better, epsilon=1.5)
    assert version is not None and version.number == 1 and version.epsilon == 1.5


def test_a_small_federation_with_dp_improves_on_version_zero_and_states_its_epsilon() -> None:
    population = simulate(50, validation_people=10, seed=5, mean_check_ins=40)
    coordinator, reports = run(population, Settings(rounds=4, noise_multiplier=1.0, seed=1))
    assert coordinator.current.number >= 1
    assert 0 < coordinator.current.epsilon <= 8
    assert (
        reports[-1].validation.loss < reports[0].validation.loss or coordinator.current.number > 1
    )
    assert all(r.participants >= 10 for r in reports)


def test_robust_aggregation_holds_up_where_fedavg_is_poisoned() -> None:
    population = simulate(50, validation_people=10, seed=6, mean_check_ins=40)
    results = {}
    for strategy in (Strategy.FEDAVG, Strategy.MEDIAN):
        settings = Settings(rounds=3, noise_multiplier=None, strategy=strategy, poisoned=0.1)
        coordinator, _ = run(population, settings)
        results[strategy] = coordinator.current.number
    assert results[Strategy.MEDIAN] >= 1
    assert results[Strategy.MEDIAN] > results[Strategy.FEDAVG]


def test_no_version_is_published_past_the_privacy_budget() -> None:
    coordinator = _coordinator(Clock())
    better = lambda theta: Evaluation(  # noqa: E731
        _metrics(1 - float(theta.sum())), _metrics(1 - float(theta.sum()))
    )
    coordinator.open_round()
    coordinator.submit("u1", _update("d0"))
    assert coordinator.close(_fedavg, better, epsilon=8.01) is None


def test_rounds_through_secure_aggregation_publish_the_same_model_as_a_plain_sum() -> None:
    population = simulate(24, validation_people=4, seed=7, mean_check_ins=30)
    plain, _ = run(population, Settings(rounds=2, noise_multiplier=1.0, seed=3))
    secure, _ = run(population, Settings(rounds=2, noise_multiplier=1.0, seed=3, secure_degree=6))
    assert secure.current.number == plain.current.number
    assert np.abs(secure.current.parameters - plain.current.parameters).max() < 1e-5
