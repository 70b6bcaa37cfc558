"""Federated rounds over a simulated population: devices train locally from the current
version, some drop out, the coordinator validates and aggregates (FedAvg, or a robust option),
with clipping, central Gaussian noise and the accountant, optionally through secure
aggregation, and publishes a version only past the evaluation gate."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hugmood.learning import model, secagg
from hugmood.learning.aggregation import Update, UpdateRejected, aggregate
from hugmood.learning.coordinator import Capabilities, Coordinator, Evaluation
from hugmood.learning.model import Metrics, Vector
from hugmood.learning.privacy import EPSILON_BUDGET, GaussianAggregate, delta_for, epsilon
from hugmood.learning.simulation import Person, Population
from hugmood.learning.strategy import Strategy

VALIDATION_NORM_BOUND = 10.0
"""Updates with a larger norm are refused outright (clipping applies below it)."""


@dataclass(frozen=True, slots=True)
class Settings:
    rounds: int = 50
    local_epochs: int = 2
    learning_rate: float = 0.5
    dropout: tuple[float, float] = (0.1, 0.3)
    """Each round, a share drawn from this range of the people does not take part."""
    strategy: Strategy = Strategy.FEDAVG
    norm_bound: float = 1.0
    """The clipping bound C under DP."""
    noise_multiplier: float | None = 4.0
    """None: no clipping, noise or accounting (plain federated averaging)."""
    secure_degree: int | None = None
    """Sum through secure aggregation with this many neighbours each; None: a plain sum."""
    poisoned: float = 0.0
    """Share of people who send poisoned updates (the honest update reversed and scaled up)."""
    seed: int = 7


@dataclass(frozen=True, slots=True)
class RoundReport:
    number: int
    participants: int
    rejected: int
    published: int | None
    """The version published by this round, None if the gate (or the budget) held it back."""
    epsilon: float
    validation: Metrics
    seconds: float


def weighted(metrics: list[Metrics]) -> Metrics:
    """Metrics of several clients' held-out data combined, weighted by their examples."""
    n = sum(m.examples for m in metrics)
    if n == 0:
        return Metrics(0, 0.0, float("inf"), 0.0)
    return Metrics(
        n,
        sum(m.accuracy * m.examples for m in metrics) / n,
        sum(m.loss * m.examples for m in metrics) / n,
        sum(m.intensity_error * m.examples for m in metrics) / n,
    )


def central_baseline(population: Population, *, epochs: int, seed: int) -> Vector:
    """The same model trained on everyone's pooled check-ins (what federation competes with)."""
    rng = np.random.default_rng(seed)
    return model.train(
        model.initial_parameters(), population.pooled_train(), epochs=epochs, rng=rng
    )


def run(
    population: Population,
    settings: Settings,
    *,
    on_round: Callable[[RoundReport], None] | None = None,
    aggregator: Callable[[list[Update]], Vector] | None = None,
) -> tuple[Coordinator, list[RoundReport]]:
    """The rounds, each reported to `on_round`; without DP, `aggregator` (when given) combines
    the updates instead of `settings.strategy` (bench/learning.py passes Flower's FedAvg)."""
    rng = np.random.default_rng(settings.seed)
    now = itertools.count()
    coordinator = Coordinator(
        model.initial_parameters(),
        norm_bound=VALIDATION_NORM_BOUND,
        round_seconds=3600,
        clock=lambda: float(next(now)),
    )
    people = {f"device-{p.key}": p for p in population.people}
    poisoned = set(rng.choice(sorted(people), int(settings.poisoned * len(people)), replace=False))
    for client in people:
        coordinator.register(client, Capabilities(model.PARAMETERS), consented=True)
    dp = (
        None
        if settings.noise_multiplier is None
        else GaussianAggregate(settings.norm_bound, settings.noise_multiplier)
    )
    delta = delta_for(len(people))
    reports: list[RoundReport] = []
    update_ids = itertools.count()
    for number in range(1, settings.rounds + 1):
        spent = 0.0 if dp is None else epsilon(dp.noise_multiplier, number, delta)
        if spent > EPSILON_BUDGET:
            break
        started = time.perf_counter()
        round_ = coordinator.open_round()
        global_theta = coordinator.current.parameters
        share_out = rng.uniform(*settings.dropout)
        taking_part = [c for c in people if rng.random() >= share_out]
        rejected = 0
        for client in taking_part:
            person = people[client]
            local = model.train(
                global_theta,
                person.train,
                epochs=settings.local_epochs,
                learning_rate=settings.learning_rate,
                rng=rng,
            )
            change = local - global_theta
            if client in poisoned:
                change = -change * (
                    0.99 * VALIDATION_NORM_BOUND / max(float(np.linalg.norm(change)), 1e-9)
                )
            try:
                coordinator.submit(
                    f"u{next(update_ids)}",
                    Update(client, round_.version, change, len(person.train)),
                )
            except UpdateRejected:
                rejected += 1
        evaluators = [people[c] for c in round_.accepted]

        def evaluate(theta: Vector, evaluators: list[Person] = evaluators) -> Evaluation:
            federated = weighted([model.evaluate(theta, p.held_out) for p in evaluators])
            return Evaluation(federated, model.evaluate(theta, population.validation))

        def combine(updates: list[Update], number: int = number) -> Vector:
            if dp is None and aggregator is not None:
                return aggregator(updates)
            if dp is None:
                return aggregate(
                    settings.strategy, [u.delta for u in updates], [u.samples for u in updates]
                )
            rows = [dp.row(u.delta, u.samples) for u in updates]
            return dp.noised_mean(_sum(rows, settings.secure_degree, number), rng)

        version = coordinator.close(combine, evaluate, epsilon=spent)
        report = RoundReport(
            number,
            len(round_.accepted),
            rejected,
            None if version is None else version.number,
            spent,
            model.evaluate(coordinator.current.parameters, population.validation),
            time.perf_counter() - started,
        )
        reports.append(report)
        if on_round is not None:
            on_round(report)
    return coordinator, reports


def _sum(rows: list[Vector], secure_degree: int | None, number: int) -> Vector:
    if secure_degree is None:
        total: Vector = np.sum(rows, axis=0)
        return total
    vectors = dict(enumerate(rows))
    return secagg.secure_sum(
        vectors,
        clients=len(rows),
        degree=secure_degree,
        drop_after_sharing=set(),
        context=f"round {number}".encode(),
    )


def personal_gain(
    theta: Vector, people: tuple[Person, ...], *, epochs: int = 3, seed: int = 11
) -> tuple[float, Metrics, Metrics]:
    """Share of people whose personal copy (fine-tuned on their own check-ins) has a lower
    loss on their held-out check-ins than the global model, and both models' pooled metrics."""
    rng = np.random.default_rng(seed)
    gains = 0
    global_metrics: list[Metrics] = []
    personal_metrics: list[Metrics] = []
    for person in people:
        mine = model.fine_tune(theta, person.train, epochs=epochs, rng=rng)
        g, p = model.evaluate(theta, person.held_out), model.evaluate(mine, person.held_out)
        gains += p.loss < g.loss
        global_metrics.append(g)
        personal_metrics.append(p)
    return gains / len(people), weighted(global_metrics), weighted(personal_metrics)
