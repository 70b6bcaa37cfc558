"""`hugmood mfa`: an authenticator app as the second step of signing in, and `hugmood login`'s
second step.

A code can come from `HUGMOOD_CLIENT_MFA_CODE` (scripts, tests) instead of the prompt.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from hugmood.client.api import AsyncHugMoodClient, Session
from hugmood.client.cli_common import (
    DEFAULT_VAULT,
    VaultOption,
    clear_errors,
    err,
    fail,
    open_device,
    out,
    run,
)
from hugmood.client.errors import SecondStepNeeded

CODE_ENV = "HUGMOOD_CLIENT_MFA_CODE"
T = TypeVar("T")

mfa_app = typer.Typer(
    help="Two-step sign-in with an authenticator app (passkeys: in the web app).",
    no_args_is_help=True,
)


def ask_code(prompt: str) -> str:
    return os.environ.get(CODE_ENV) or typer.prompt(prompt, err=True)


def split_code(answer: str) -> tuple[str | None, str | None]:
    """Six digits are an app's code; anything else is taken as a recovery code."""
    plain = "".join(answer.split())
    return (plain, None) if plain.isdigit() and len(plain) == 6 else (None, answer.strip())


def show_setup(setup: dict[str, str]) -> None:
    out.print("Add HugMood to your authenticator app with this key (shown once):")
    out.print(f"  [bold]{setup['secret']}[/bold]")
    out.print(f"  or this URI (many apps read it as a QR code): {setup['otpauthUri']}")


def show_recovery_codes(codes: list[str]) -> None:
    out.print(
        "Recovery codes: each signs you in once if you lose the app. Keep them somewhere "
        "safe; they are not shown again."
    )
    for code in codes:
        out.print(f"  {code}")


async def second_step(api: AsyncHugMoodClient, held: SecondStepNeeded) -> Session:
    """Finish a sign-in `login` held back: a code, or setting the app up when required."""
    if "TOTP" in held.methods:
        code, recovery = split_code(
            ask_code("Code from your authenticator app (or a recovery code)")
        )
        return await api.complete_login(held.mfa_token, code=code, recovery_code=recovery)
    if "ENROL_TOTP" in held.methods:
        err.print(held.message)
        show_setup(await api.start_authenticator_setup(held.mfa_token))
        code = ask_code("A code from the app, to check it is set up")
        codes, session = await api.confirm_authenticator_setup(code, held.mfa_token)
        show_recovery_codes(codes)
        if session is None:
            raise RuntimeError("the server turned the app on but started no session")
        return session
    fail(
        "this account's second step is a passkey, which the command line cannot use: sign "
        "in with the web app (Settings can add an authenticator app for the command line)"
    )


def _signed_in(vault: VaultOption, action: Callable[[AsyncHugMoodClient], Awaitable[T]]) -> T:
    with clear_errors():
        device = open_device(vault)
        try:

            async def go() -> T:
                async with device.client() as api:
                    return await action(api)

            return run(go())
        finally:
            device.vault.close()


@mfa_app.command()
def enable(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Set up an authenticator app: its key, a first code to check it, recovery codes."""

    async def go(api: AsyncHugMoodClient) -> None:
        show_setup(await api.start_authenticator_setup())
        code = ask_code("A code from the app, to check it is set up")
        codes, _ = await api.confirm_authenticator_setup(code)
        out.print("Two-step sign-in is on: signing in now asks for a code.")
        show_recovery_codes(codes)

    _signed_in(vault, go)


@mfa_app.command()
def disable(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Turn the authenticator app off (your password and a code or a recovery code)."""
    password = os.environ.get("HUGMOOD_CLIENT_PASSWORD") or typer.prompt(
        "Password", hide_input=True, err=True
    )
    code, recovery = split_code(ask_code("Code from your authenticator app (or a recovery code)"))

    async def go(api: AsyncHugMoodClient) -> None:
        await api.turn_off_authenticator(password, code=code, recovery_code=recovery)
        out.print("The authenticator app is off; its recovery codes no longer work.")

    _signed_in(vault, go)


@mfa_app.command("recovery-codes")
def recovery_codes(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Ten new recovery codes for a current code from the app; the old ones stop working."""
    code = ask_code("Code from your authenticator app")

    async def go(api: AsyncHugMoodClient) -> None:
        show_recovery_codes(await api.new_recovery_codes(code))

    _signed_in(vault, go)


@mfa_app.command()
def status(vault: VaultOption = DEFAULT_VAULT) -> None:
    """Your second factors: the app, recovery codes left, passkeys."""

    async def go(api: AsyncHugMoodClient) -> None:
        factors = await api.second_factors()
        app = "on" if factors["authenticatorApp"] else "off"
        out.print(f"Authenticator app: {app}; recovery codes left: {factors['recoveryCodesLeft']}")
        for passkey in factors["passkeys"]:
            out.print(f"Passkey: {passkey['name']} (added {passkey['addedAt'][:10]})")
        if factors["required"]:
            out.print("This server requires a second factor for every account.")

    _signed_in(vault, go)


def register(app: typer.Typer) -> None:
    app.add_typer(mfa_app, name="mfa")
