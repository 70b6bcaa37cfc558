"""`hugmood learn`: train the personal mood model on this device's check-ins, now (nothing
leaves the device), and show what it learned: how well it predicts your latest check-ins and
which factors usually lift you or weigh on you."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from hugmood.client.cli_common import DEFAULT_VAULT, VaultOption, fail, out, with_device
from hugmood.client.device import Device

if TYPE_CHECKING:
    from hugmood.client.learning import LearnReport


def learn_command(
    epochs: Annotated[
        int, typer.Option(min=1, max=50, help="Passes over your check-ins (1 to 50).")
    ] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Train your personal mood model on this device, from your own check-ins only."""
    from hugmood.client.learning import NotEnoughCheckIns, forecasts, learn, load

    def act(device: Device) -> tuple[LearnReport, list[str]]:
        report = learn(device.vault, epochs=epochs)
        theta = load(device.vault)
        return report, [] if theta is None else forecasts(theta)

    try:
        report, said = with_device(vault, act)
    except NotEnoughCheckIns as e:
        fail(str(e))
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "checkIns": report.check_ins,
                    "heldOut": report.held_out,
                    "accuracyBefore": round(report.before.accuracy, 4),
                    "accuracyAfter": round(report.after.accuracy, 4),
                    "forecasts": said,
                }
            )
        )
        return
    out.print(
        f"Learned from {report.check_ins} check-ins on this device (nothing was sent). On your "
        f"latest {report.held_out}, kept aside, the mood's quadrant was right "
        f"{report.after.accuracy:.0%} of the time (before: {report.before.accuracy:.0%})."
    )
    for sentence in said:
        out.print(f"• {sentence[0].upper()}{sentence[1:]}.")


def register(app: typer.Typer) -> None:
    app.command("learn")(learn_command)
