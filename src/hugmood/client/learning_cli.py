"""`hugmood learn`: train the personal mood model on this device's check-ins and show what it
learned; with the person's consent, also take part in the coordinator's next round (only a
masked, clipped update leaves the device). `hugmood learning consent on|off` and `hugmood
learning status`."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hugmood.client.cli_common import DEFAULT_VAULT, VaultOption, fail, out, with_device
from hugmood.client.device import Device

if TYPE_CHECKING:
    from hugmood.client.learning import LearnReport
    from hugmood.client.learning_rounds import RoundReport


class Switch(StrEnum):
    ON = "on"
    OFF = "off"


def learn_command(
    epochs: Annotated[
        int, typer.Option(min=1, max=50, help="Passes over your check-ins (1 to 50).")
    ] = 5,
    take_part: Annotated[
        bool,
        typer.Option(
            "--take-part/--local-only",
            help="With your consent, also take part in the next federated round.",
        ),
    ] = True,
    wait: Annotated[
        float, typer.Option(min=1, max=3600, help="Seconds to wait for a round to take part in.")
    ] = 900,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Train your personal mood model on this device (from the global model when it has one);
    with consent, take part in the next round."""
    from hugmood.client.learning import NotEnoughCheckIns, forecasts, learn, load
    from hugmood.client.learning_rounds import consented
    from hugmood.client.learning_rounds import take_part as join_round

    def act(device: Device) -> tuple[LearnReport, list[str], RoundReport | None]:
        round_report = None
        if take_part and consented(device) and device.token is not None:
            round_report = join_round(device, wait_s=wait)
        report = learn(device.vault, epochs=epochs)
        theta = load(device.vault)
        return report, [] if theta is None else forecasts(theta), round_report

    try:
        report, said, taken = with_device(vault, act)
    except NotEnoughCheckIns as e:
        fail(str(e))
    if as_json:
        body: dict[str, Any] = {
            "checkIns": report.check_ins,
            "heldOut": report.held_out,
            "accuracyBefore": round(report.before.accuracy, 4),
            "accuracyAfter": round(report.after.accuracy, 4),
            "forecasts": said,
            "federated": None
            if taken is None
            else {"round": taken.round, "outcome": taken.outcome, "version": taken.version},
        }
        out.print_json(json.dumps(body))
        return
    if taken is None:
        out.print("Nothing was sent: you have not opted in to learning together.")
    else:
        out.print(
            f"Took part in round {taken.round} (a masked, clipped update only): {taken.outcome}; "
            f"this device now holds global version {taken.version}."
        )
    out.print(
        f"Learned from {report.check_ins} check-ins on this device. On your "
        f"latest {report.held_out}, kept aside, the mood's quadrant was right "
        f"{report.after.accuracy:.0%} of the time (before: {report.before.accuracy:.0%})."
    )
    for sentence in said:
        out.print(f"• {sentence[0].upper()}{sentence[1:]}.")


def consent_command(
    switch: Annotated[Switch, typer.Argument(help="on: take part; off: stop at once.")],
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Opt in to (or out of) learning together: with it on, your devices train on your
    check-ins and send a masked, clipped, noised update to federated rounds."""
    from hugmood.client.learning_rounds import set_consent

    with_device(vault, lambda device: set_consent(device, switch is Switch.ON))
    if switch is Switch.ON:
        out.print("You take part in learning together: only masked, clipped updates leave.")
    else:
        out.print("You no longer take part: this device sends nothing for learning.")


def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """The coordinator's rounds, participants and metrics, and the current version's epsilon."""
    from hugmood.client.learning_rounds import status

    about = with_device(vault, status)
    if as_json:
        out.print_json(json.dumps(about))
        return
    version = about["version"]
    accuracy = version["accuracy"]
    out.print(
        f"Consent: {'on' if about['consent'] else 'off'}. Global version {version['number']}"
        f" (epsilon {version['epsilon']:.2f} of {about['epsilonBudget']:.0f}"
        + ("" if accuracy is None else f", validation accuracy {accuracy:.0%}")
        + f"); {about['devices']} devices take part."
    )
    if about["round"] is not None:
        r = about["round"]
        out.print(f"Round {r['round']} is open ({r['phase']}, {r['participants']} joined).")
    for closed in about["rounds"][:10]:
        out.print(
            f"  round {closed['round']}: {closed['outcome']}, "
            f"{closed.get('participants', 0)} participants"
        )


def register(app: typer.Typer, learning: typer.Typer) -> None:
    app.command("learn")(learn_command)
    learning.command("consent")(consent_command)
    learning.command("status")(status_command)
