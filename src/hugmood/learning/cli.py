"""`hugmood learning simulate`: federated rounds over a simulated population, with the rules,
DP accounting and (optionally) secure aggregation of the real learning loop; one line a round
and a summary against the same model trained centrally."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hugmood.learning.strategy import Strategy

learning_app = typer.Typer(help="Federated learning of the mood model (simulation for now).")


@learning_app.command("simulate")
def simulate_command(
    people: Annotated[int, typer.Option(min=10, max=100_000, help="Simulated people.")] = 1000,
    rounds: Annotated[int, typer.Option(min=1, max=500, help="Federated rounds.")] = 50,
    noise_multiplier: Annotated[
        float,
        typer.Option(min=0.0, help="Gaussian noise over the clipping bound; 0 turns DP off."),
    ] = 4.0,
    strategy: Annotated[
        Strategy, typer.Option(help="How updates are combined (robust options: no DP).")
    ] = Strategy.FEDAVG,
    poisoned: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of people sending poisoned updates.")
    ] = 0.0,
    secure: Annotated[
        bool, typer.Option("--secure", help="Sum updates through secure aggregation (slow).")
    ] = False,
    seed: Annotated[int, typer.Option(help="The population's seed (same seed, same people).")] = 19,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """Run federated rounds over simulated diaries and compare with central training."""
    dp = noise_multiplier > 0
    if not dp and secure:
        raise typer.BadParameter("--secure needs DP on (the secure sum carries the DP rows)")
    if dp and strategy is not Strategy.FEDAVG:
        raise typer.BadParameter(
            "robust strategies need each update in the clear: use --noise-multiplier 0"
        )
    from hugmood.learning import model
    from hugmood.learning.federation import RoundReport, Settings, central_baseline, run
    from hugmood.learning.simulation import simulate

    population = simulate(people, seed=seed)
    settings = Settings(
        rounds=rounds,
        noise_multiplier=noise_multiplier if dp else None,
        strategy=strategy,
        poisoned=poisoned,
        secure_degree=20 if secure else None,
    )

    def show(report: RoundReport) -> None:
        line = {
            "round": report.number,
            "participants": report.participants,
            "rejected": report.rejected,
            "published": report.published,
            "epsilon": round(report.epsilon, 3),
            "validationAccuracy": round(report.validation.accuracy, 4),
            "seconds": round(report.seconds, 3),
        }
        typer.echo(json.dumps(line) if as_json else " ".join(f"{k}={v}" for k, v in line.items()))

    coordinator, reports = run(population, settings, on_round=show)
    held_out = population.pooled_held_out()
    federated = model.evaluate(coordinator.current.parameters, held_out)
    central = model.evaluate(central_baseline(population, epochs=5, seed=1), held_out)
    summary = {
        "version": coordinator.current.number,
        "epsilon": round(coordinator.current.epsilon, 3),
        "roundsRun": len(reports),
        "federatedAccuracy": round(federated.accuracy, 4),
        "centralAccuracy": round(central.accuracy, 4),
    }
    typer.echo(json.dumps(summary) if as_json else " ".join(f"{k}={v}" for k, v in summary.items()))
