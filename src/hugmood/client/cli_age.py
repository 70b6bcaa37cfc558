"""`hugmood verify-age`: prove an age to the server with zero knowledge from this device."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from hugmood.client.age import store_credential, stored_credential, verify_age
from hugmood.client.cli_common import (
    DEFAULT_VAULT,
    VaultOption,
    clear_errors,
    fail,
    open_device,
    out,
)
from hugmood.privacy.zk.credentials import THRESHOLDS, Credential, issue_test_credential
from hugmood.privacy.zk.errors import AgeVerificationError


def verify_age_command(
    threshold: Annotated[
        int, typer.Option(help=f"The age to prove: one of {', '.join(map(str, THRESHOLDS))}.")
    ] = 16,
    credential: Annotated[
        Path | None,
        typer.Option(help="Import an age credential (JSON) into the vault first."),
    ] = None,
    test_birth_date: Annotated[
        str | None,
        typer.Option(
            help="Development only: get a credential from HugMood's TEST issuer for this "
            "birth date (YYYY-MM-DD). Servers in production refuse it."
        ),
    ] = None,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Prove you are at least THRESHOLD years old, without telling the server your birth date.

    The credential stays in this device's vault; a Longfellow zero-knowledge proof of
    `age_over_THRESHOLD` (a few seconds of CPU) is bound to a one-time challenge from the
    server, which keeps only the outcome.
    """
    if threshold not in THRESHOLDS:
        fail(f"--threshold must be one of {', '.join(map(str, THRESHOLDS))} (got {threshold})")
    if credential is not None and test_birth_date is not None:
        fail("give either --credential or --test-birth-date, not both")
    with clear_errors():
        device = open_device(vault)
        try:
            held: Credential | None
            if credential is not None:
                held = Credential.from_json(credential.read_text())
                store_credential(device, held)
            elif test_birth_date is not None:
                try:
                    born = date.fromisoformat(test_birth_date)
                except ValueError:
                    fail(f"--test-birth-date must be YYYY-MM-DD (got {test_birth_date!r})")
                out.print("[yellow]Using HugMood's TEST issuer: for development only.[/yellow]")
                held = issue_test_credential(born)
                store_credential(device, held)
            else:
                held = stored_credential(device)
            if held is None:
                fail(
                    "no age credential in this vault: import one with --credential FILE "
                    "(or, in development, --test-birth-date YYYY-MM-DD)"
                )
            with out.status(f"Proving age {threshold} or over (a few seconds)…"):
                verified = verify_age(device, held, threshold)
            out.print(
                f"Verified: age {verified.threshold} or over, vouched for by "
                f"{verified.issuer}, at {verified.at}. Your birth date was not sent "
                f"(proof: {verified.proof_bytes // 1024} KB)."
            )
        except AgeVerificationError as e:
            fail(str(e))
        finally:
            device.vault.close()


def register(app: typer.Typer) -> None:
    app.command("verify-age")(verify_age_command)
