"""What every client command shares: where the vault is, unlocking it, and clear failures."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from hugmood.client import agent, crypto
from hugmood.client.device import Device
from hugmood.client.errors import (
    ApiError,
    ClientError,
    InvalidInput,
    NotLoggedIn,
    Offline,
    VaultExists,
    VaultMissing,
    WrongPassphrase,
)
from hugmood.client.vault import Vault

T = TypeVar("T")

DEFAULT_VAULT = Path.home() / ".local" / "share" / "hugmood-client" / "vault.sqlite"
DEFAULT_SERVER = "http://127.0.0.1:8000"
PASSPHRASE_ENV = "HUGMOOD_CLIENT_PASSPHRASE"  # noqa: S105 (a variable name)
KDF_ENV = "HUGMOOD_CLIENT_KDF_COST"

out = Console()
err = Console(stderr=True)

VaultOption = Annotated[
    Path,
    typer.Option(
        "--vault",
        envvar="HUGMOOD_CLIENT_VAULT",
        help="The encrypted vault file on this device.",
        show_default=True,
    ),
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="HUGMOOD_CLIENT_SERVER",
        help=f"HugMood server URL (default: the one you logged in to, else {DEFAULT_SERVER}).",
    ),
]

USAGE_ERRORS = (InvalidInput, WrongPassphrase, VaultMissing, VaultExists)
REQUEST_WRONG = frozenset(
    {"VALIDATION", "NOT_FOUND", "FORBIDDEN", "NOT_DISCOVERABLE", "CONFLICT", "UNAUTHENTICATED"}
)
"""Refusals about what was asked (exit 2); others (unavailable, rate limited) exit 1."""


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@contextmanager
def clear_errors() -> Iterator[None]:
    """Every client error becomes one readable line; usage errors exit 2, the rest 1."""
    try:
        yield
    except USAGE_ERRORS as e:
        fail(str(e), 2)
    except ApiError as e:
        fail(f"the server refused: {e.message} ({e.code})", 2 if e.code in REQUEST_WRONG else 1)
    except Offline as e:
        fail(f"offline: {e}", 1)
    except NotLoggedIn as e:
        fail(str(e), 1)
    except ClientError as e:
        fail(str(e), 1)
    except sqlite3.Error as e:
        fail(f"the vault could not be read or written: {e}", 1)
    except OSError as e:
        fail(str(e), 1)


def kdf_params() -> crypto.KdfParams:
    """RFC 9106's parameters, unless `HUGMOOD_CLIENT_KDF_COST=m=KiB,t=N,p=N` (tests)."""
    raw = os.environ.get(KDF_ENV)
    if not raw:
        return crypto.RFC_9106
    try:
        parts = dict(part.split("=", 1) for part in raw.split(","))
        return crypto.KdfParams(int(parts["m"]), int(parts["t"]), int(parts["p"]))
    except (ValueError, KeyError):
        fail(f"{KDF_ENV} must look like m=65536,t=3,p=4 (got {raw!r})")


def passphrase(*, confirm: bool = False, prompt: str = "Vault passphrase") -> str:
    """From `HUGMOOD_CLIENT_PASSPHRASE` (scripts) or a hidden prompt."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    try:
        # On stderr, so `hugmood export | …` shows the question instead of seeming to hang.
        value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    except typer.Abort:
        fail(
            f"no passphrase given (run `hugmood unlock --for 15m` first, or set {PASSPHRASE_ENV} "
            "to run without a prompt)"
        )
    return value


def open_device(vault: Path) -> Device:
    """Unlock the vault at `vault` (it must exist): with `HUGMOOD_CLIENT_PASSPHRASE`, else
    the key the unlock agent keeps (`hugmood unlock`), else by asking."""
    if not Vault.exists(vault):
        raise VaultMissing(f"no vault at {vault}: run `hugmood login` first")
    if os.environ.get(PASSPHRASE_ENV) is None and (key := agent.key_for(vault)) is not None:
        try:
            return Device(Vault.unlock_with_key(vault, key))
        except WrongPassphrase:
            agent.stop(vault)  # the passphrase changed since: ask again
    return Device(Vault.unlock(vault, passphrase()))


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def with_device(vault: Path, action: Callable[[Device], T]) -> T:
    """Unlock, act, close: errors become clear messages."""
    with clear_errors():
        device = open_device(vault)
        try:
            return action(device)
        finally:
            device.vault.close()
    raise AssertionError("unreachable")
