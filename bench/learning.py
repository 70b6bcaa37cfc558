"""Federated learning on a simulated population: accuracy against central training, DP's
budget, robustness to poisoning, personal copies, round time, secure aggregation's cost.

Run: `.venv/bin/python bench/learning.py [--quick] [--flower-python VENV/bin/python]`; one
JSON object a line (Flower needs its own venv: `python -m venv V && V/bin/pip install flwr`). Baselines,
measured in the same run: the same model trained centrally on the pooled check-ins (accuracy),
FedAvg without poisoned clients (robustness), the global model (personal copies), a plain
NumPy sum of the same rows (secure aggregation), the raw bytes of the updates (memory).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from subprocess import PIPE

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, machine_params
from hugmood.learning import model, secagg
from hugmood.learning.aggregation import Update
from hugmood.learning.federation import RoundReport, Settings, personal_gain, run
from hugmood.learning.privacy import GaussianAggregate, delta_for, epsilon
from hugmood.learning.simulation import Population, simulate
from hugmood.learning.strategy import Strategy
from hugmood.privacy.workers import start_pool

DEGREE = 20
"""Neighbours each device shares masks and secrets with (`hugmood learning simulate --secure`)."""
NOISE_MULTIPLIER = 4.0
"""50 rounds at this multiplier spend epsilon 7.2 with delta = 1/1000 (no sampling credit)."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--flower-python",
        help="the Python of a separate venv with flwr: compares rounds with Flower's FedAvg",
    )
    parser.add_argument("--secure-only", action="store_true", help="only secure aggregation's cost")
    args = parser.parse_args()
    people, rounds, secure_clients = (200, 15, 200) if args.quick else (1000, 50, 1000)
    started = time.perf_counter()
    population = simulate(people)
    held_out = population.pooled_held_out()
    base = {"people": people, "rounds": rounds, "quick": args.quick, **machine_params()}
    if args.secure_only:
        _secure_aggregation_cost(population, secure_clients, base, None)
        return
    print(f"# simulated {people} people in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    # The strongest central model of a small grid, chosen on the validation set.
    candidates = [
        model.train(
            model.initial_parameters(),
            population.pooled_train(),
            epochs=epochs,
            learning_rate=rate,
            rng=np.random.default_rng(1),
        )
        for epochs in (5, 20)
        for rate in (0.1, 0.5)
    ]
    best = max(candidates, key=lambda c: model.evaluate(c, population.validation).accuracy)
    central = model.evaluate(best, held_out)
    target = 0.97 * model.evaluate(best, population.validation).accuracy
    reached: list[int] = []
    coordinator, reports = run(
        population, Settings(rounds=rounds, noise_multiplier=NOISE_MULTIPLIER)
    )
    federated = model.evaluate(coordinator.current.parameters, held_out)
    for report in reports:
        if report.published is not None and report.validation.accuracy >= target:
            reached.append(report.number)
            break
    spent = epsilon(NOISE_MULTIPLIER, len(reports), delta_for(people))
    emit(
        "learning.federated_dp",
        "accuracy",
        federated.accuracy,
        "share",
        "central training on the pooled check-ins (best of 4 settings)",
        central.accuracy,
        {
            **base,
            "epsilon": round(spent, 2),
            "delta": delta_for(people),
            "noise_multiplier": NOISE_MULTIPLIER,
            "versions_published": coordinator.current.number,
            "rounds_to_97pct_of_central_on_validation": reached[0] if reached else None,
            "target": ">= 97% of central in <= 50 rounds at epsilon <= 8",
            "meets_target": federated.accuracy >= target and spent <= 8,
        },
        digits=4,
    )
    emit(
        "learning.federated_dp",
        "intensity_mae",
        federated.intensity_error,
        "0..1",
        "central training",
        central.intensity_error,
        base,
        lower_is_better=True,
        digits=4,
    )
    validation_accuracy = model.evaluate(best, population.validation).accuracy
    for hidden in (16, 64):
        emit(
            "learning.model_choice",
            f"validation_accuracy_mlp_{hidden}",
            _mlp_accuracy(population, hidden, epochs=5 if args.quick else 20),
            "share",
            "the logistic regression we ship, trained centrally",
            validation_accuracy,
            {**base, "hidden": hidden, "note": "MLP: best epoch on the validation set"},
            digits=4,
        )
    round_seconds = [r.seconds for r in reports]
    emit(
        "learning.round",
        "mean_s",
        float(np.mean(round_seconds)),
        "s",
        "(none: local training of every device included, in one process)",
        None,
        {**base, "participants_mean": float(np.mean([r.participants for r in reports]))},
        digits=3,
    )

    share, global_metrics, personal_metrics = personal_gain(
        coordinator.current.parameters, population.people
    )
    emit(
        "learning.personal",
        "accuracy",
        personal_metrics.accuracy,
        "share",
        "the global model on the same held-out check-ins",
        global_metrics.accuracy,
        {**base, "share_of_people_whose_loss_drops": round(share, 3)},
        digits=4,
    )

    if args.flower_python:
        _compare_with_flower(population, args.flower_python, rounds, base)
    else:
        print("# Flower comparison skipped (no --flower-python)", file=sys.stderr)

    poison_rounds = max(5, rounds // 3)
    clean, _ = run(population, Settings(rounds=poison_rounds, noise_multiplier=None))
    clean_accuracy = model.evaluate(clean.current.parameters, held_out).accuracy
    for strategy in Strategy:
        poisoned, _ = run(
            population,
            Settings(rounds=poison_rounds, noise_multiplier=None, strategy=strategy, poisoned=0.1),
        )
        emit(
            "learning.poisoned_10pct",
            f"accuracy_{strategy.value}",
            model.evaluate(poisoned.current.parameters, held_out).accuracy,
            "share",
            "FedAvg with no poisoned clients",
            clean_accuracy,
            {**base, "rounds": poison_rounds, "versions_published": poisoned.current.number},
            digits=4,
        )

    _secure_aggregation_cost(population, secure_clients, base, float(np.mean(round_seconds)))

    tracemalloc.start()
    one_round, _ = run(population, Settings(rounds=1, noise_multiplier=NOISE_MULTIPLIER))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    raw = people * model.PARAMETERS * 8
    emit(
        "learning.coordinator_memory",
        "peak_mb",
        peak / 1e6,
        "MB",
        "raw bytes of every device's update (float64)",
        raw / 1e6,
        {**base, "parameters": model.PARAMETERS, "versions": one_round.current.number},
        lower_is_better=True,
        comparable=False,
        digits=2,
    )


def _mlp_accuracy(population: Population, hidden: int, *, epochs: int = 20) -> float:
    """The alternative the model was chosen against: one hidden ReLU layer and a softmax
    head over the same features, trained centrally (minibatch SGD, the same batch size)."""
    rng = np.random.default_rng(2)
    data = population.pooled_train()
    w1 = rng.normal(0, np.sqrt(2 / data.x.shape[1]), (data.x.shape[1], hidden))
    b1 = np.zeros(hidden)
    w2 = rng.normal(0, np.sqrt(1 / hidden), (hidden, 4))
    b2 = np.zeros(4)

    def forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.maximum(x @ w1 + b1, 0.0)
        logits = h @ w2 + b2
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        return h, p / p.sum(axis=1, keepdims=True)

    best = 0.0
    for _ in range(epochs):
        order = rng.permutation(len(data))
        for start in range(0, len(data), 32):
            rows = order[start : start + 32]
            x, y = data.x[rows], data.quadrant[rows]
            h, p = forward(x)
            p[np.arange(len(rows)), y] -= 1.0
            p /= len(rows)
            dh = (p @ w2.T) * (h > 0)
            w2 -= 0.1 * (h.T @ p + 1e-3 * w2)
            b2 -= 0.1 * p.sum(axis=0)
            w1 -= 0.1 * (x.T @ dh + 1e-3 * w1)
            b1 -= 0.1 * dh.sum(axis=0)
        _, p = forward(population.validation.x)
        best = max(best, float((p.argmax(axis=1) == population.validation.quadrant).mean()))
    return best


def _rounds_to(reports: list[RoundReport], target: float) -> int | None:
    for report in reports:
        if report.validation.accuracy >= target:
            return report.number
    return None


def _compare_with_flower(
    population: Population, flower_python: str, rounds: int, base: dict[str, object]
) -> None:
    """Rounds to 97% of the best final validation accuracy, without DP: our FedAvg and
    Flower's `FedAvg.aggregate_fit` over the same updates (the same simulated devices)."""
    script = Path(__file__).resolve().parent / "_flower_fedavg.py"
    flower = subprocess.Popen([flower_python, str(script)], stdin=PIPE, stdout=PIPE)
    assert flower.stdin is not None
    assert flower.stdout is not None
    calls = 0

    def flower_fedavg(updates: list[Update]) -> np.ndarray:
        nonlocal calls
        calls += 1
        assert flower.stdin is not None
        assert flower.stdout is not None
        flower.stdin.write(f"{len(updates)} {model.PARAMETERS} {calls}\n".encode())
        flower.stdin.write(np.array([u.samples for u in updates], dtype=np.int64).tobytes())
        flower.stdin.write(np.stack([u.delta for u in updates]).astype(np.float64).tobytes())
        flower.stdin.flush()
        return np.frombuffer(flower.stdout.read(8 * model.PARAMETERS), dtype=np.float64)

    settings = Settings(rounds=rounds, noise_multiplier=None)
    t0 = time.perf_counter()
    _, ours = run(population, settings)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, theirs = run(population, settings, aggregator=flower_fedavg)
    theirs_s = time.perf_counter() - t0
    flower.stdin.close()
    flower.wait(timeout=30)
    target = 0.97 * max(ours[-1].validation.accuracy, theirs[-1].validation.accuracy)
    params = {**base, "dp": False, "target_validation_accuracy": round(target, 4)}
    emit(
        "learning.flower",
        "rounds_to_97pct",
        _rounds_to(ours, target),
        "rounds",
        "Flower 1.42 FedAvg.aggregate_fit on the same updates",
        _rounds_to(theirs, target),
        {
            **params,
            "final_accuracy_ours": round(ours[-1].validation.accuracy, 4),
            "final_accuracy_flower": round(theirs[-1].validation.accuracy, 4),
            "seconds_ours": round(ours_s, 2),
            "seconds_flower": round(theirs_s, 2),
        },
        lower_is_better=True,
        digits=0,
    )


def _secure_aggregation_cost(
    population: Population, clients: int, base: dict[str, object], round_mean_s: float | None
) -> None:
    """Where secure aggregation's time goes: each device's part, and the coordinator's
    unmasking in one process and spread over the machine's cores, against a plain sum; and a
    round's time when devices work in parallel, with and without it."""
    dp = GaussianAggregate(1.0, NOISE_MULTIPLIER)
    rng = np.random.default_rng(3)
    rows = {i: dp.row(rng.normal(0, 0.05, model.PARAMETERS), 40) for i in range(clients)}
    dropped = set(range(0, clients, 5))  # a fifth vanish after sharing their secrets
    t0 = time.perf_counter()
    plain = np.sum([rows[i] for i in rows if i not in dropped], axis=0)
    plain_s = time.perf_counter() - t0
    person = population.people[0]
    t0 = time.perf_counter()
    for _ in range(20):
        model.train(model.initial_parameters(), person.train, epochs=2, rng=rng)
    train_s = (time.perf_counter() - t0) / 20
    device_s, unmask = _secure_round(rows, dropped, degree=DEGREE)
    t0 = time.perf_counter()
    secure = secagg.from_fixed(unmask(None, 1))
    one_s = time.perf_counter() - t0
    workers = os.cpu_count() or 1
    with start_pool(workers) as pool:
        t0 = time.perf_counter()
        pooled = secagg.from_fixed(unmask(pool, workers))
        pool_s = time.perf_counter() - t0
    assert np.array_equal(secure, pooled)
    params = {
        **base,
        "clients": clients,
        "neighbours": DEGREE,
        "dropped": len(dropped),
        "rebuilds": clients,
        "max_error": float(np.abs(secure - plain).max()),
    }
    emit(
        "learning.secure_aggregation",
        "coordinator_unmask_s",
        one_s,
        "s",
        "plain NumPy sum of the same rows",
        plain_s,
        {**params, "processes": 1},
        lower_is_better=True,
        digits=4,
    )
    emit(
        "learning.secure_aggregation",
        "coordinator_unmask_pool_s",
        pool_s,
        "s",
        "the same unmasking in one process",
        one_s,
        {**params, "processes": workers},
        lower_is_better=True,
        digits=4,
    )
    emit(
        "learning.secure_aggregation",
        "device_s",
        device_s,
        "s",
        "the device's local training (2 epochs), which a plain round needs too",
        train_s,
        {**params, "check_ins": len(person.train)},
        lower_is_better=True,
        digits=4,
    )
    emit(
        "learning.secure_aggregation",
        "round_compute_s_devices_in_parallel",
        train_s + device_s + pool_s,
        "s",
        "the same round with a plain sum: one device's training plus the sum",
        train_s + plain_s,
        {**params, "processes": workers, "target": "<= 2x plain", "network": "not counted"},
        lower_is_better=True,
        digits=4,
    )
    if round_mean_s is not None:
        emit(
            "learning.secure_aggregation",
            "round_s_simulated_in_one_process",
            round_mean_s + device_s + pool_s,
            "s",
            "the simulation's plain round (every device's training in one process)",
            round_mean_s,
            {**params, "processes": workers},
            lower_is_better=True,
            digits=3,
        )


def _secure_round(
    rows: dict[int, np.ndarray], dropped: set[int], *, degree: int
) -> tuple[float, Callable[[Executor | None, int], np.ndarray]]:
    """Secure aggregation's steps timed apart: each device's part (sharing its secrets,
    masking, answering the unmasking; mean over devices), and the coordinator's unmasking
    to run and time."""
    clients = len(rows)
    parties = {i: secagg.Client(i, clients, degree, b"bench") for i in rows}
    keys = {i: c.public_key for i, c in parties.items()}
    transport = {i: c.transport_key for i, c in parties.items()}
    device = dict.fromkeys(rows, 0.0)
    bundles = []
    for i, client in parties.items():
        t0 = time.perf_counter()
        bundles.extend(client.share(transport))
        device[i] += time.perf_counter() - t0
    for sealed in bundles:
        t0 = time.perf_counter()
        parties[sealed.holder].hold(sealed, transport)
        device[sealed.holder] += time.perf_counter() - t0
    survivors = set(rows) - dropped
    masked, reveals = {}, []
    for i in survivors:
        t0 = time.perf_counter()
        masked[i] = parties[i].masked(secagg.to_fixed(rows[i]), keys)
        reveals.append(parties[i].reveal(survivors, dropped))
        device[i] += time.perf_counter() - t0
    per_device = float(np.mean([device[i] for i in survivors]))

    def unmask(pool: Executor | None, workers: int) -> np.ndarray:
        return secagg.unmask(
            masked,
            reveals,
            keys,
            clients=clients,
            degree=degree,
            context=b"bench",
            pool=pool,
            workers=workers,
        )

    return per_device, unmask


if __name__ == "__main__":
    main()
