"""`hugmood keys`: the master key that wraps every person's data key — make one, see the
store, rotate it (every data key re-wrapped, nothing else rewritten)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from hugmood.config import ConfigError, Settings

if TYPE_CHECKING:
    from hugmood.privacy.keys.datakeys import DataKeyStore

console = Console(stderr=True)
keys_app = typer.Typer(help="The master key that wraps every person's data key.")
NEW_KEY_VARIABLE = "HUGMOOD_NEW_MASTER_KEY"


def register(app: typer.Typer, settings: Callable[[], Settings]) -> None:
    app.add_typer(keys_app, name="keys")

    @keys_app.command("new-master-key")
    def new_master_key() -> None:
        """Print a fresh master key for HUGMOOD_MASTER_KEY (32 random bytes, URL-safe base64)."""
        from hugmood.privacy.keys.master import new_master_key_text

        typer.echo(new_master_key_text())

    @keys_app.command("status")
    def status() -> None:
        """How many people have a data key, how many were erased, and which master key wraps them."""
        try:
            counts = asyncio.run(_status(settings()))
        except ConfigError as e:
            console.print(f"[red]refused:[/red] {e}")
            raise typer.Exit(2) from None
        console.print(
            f"master key {counts[0]} from {counts[1]}; {counts[2]} data keys, "
            f"{counts[3]} destroyed by erasure"
        )

    @keys_app.command("rotate")
    def rotate() -> None:
        """Re-wrap every data key under a new master key. Stop every server first. The new key
        comes from HUGMOOD_NEW_MASTER_KEY, or (with a key file) is made and replaces the file."""
        try:
            count, where = asyncio.run(_rotate(settings()))
        except ConfigError as e:
            console.print(f"[red]refused:[/red] {e}")
            raise typer.Exit(2) from None
        console.print(f"re-wrapped {count} data keys; {where}")


async def _open(settings: Settings, stack: AsyncExitStack) -> DataKeyStore:
    from hugmood.bootstrap import open_data_keys

    return await open_data_keys(settings, stack)


def check_master_key(settings: Settings) -> None:
    """Refuse (ConfigError) before serving when the master key would not open the store."""

    async def check() -> None:
        async with AsyncExitStack() as stack:
            await _open(settings.with_secret(), stack)

    asyncio.run(check())


async def _status(settings: Settings) -> tuple[str, str, int, int]:
    async with AsyncExitStack() as stack:
        keys = await _open(settings, stack)
        total, destroyed = await keys.counts()
        return keys.master.key_id, keys.master.origin, total, destroyed


async def _rotate(settings: Settings) -> tuple[int, str]:
    from hugmood.privacy.keys.master import (
        MasterKey,
        decode_key,
        encode_key,
        new_master_key_text,
    )

    given = os.environ.get(NEW_KEY_VARIABLE, "")
    async with AsyncExitStack() as stack:
        keys = await _open(settings, stack)
        current = keys.master
        if not given and current.file is None:
            raise ConfigError(
                f"the master key comes from {current.origin}: set {NEW_KEY_VARIABLE} to the new "
                "key (`hugmood keys new-master-key`), rotate, then start with it"
            )
        text = given or new_master_key_text()
        new = MasterKey(decode_key(text, NEW_KEY_VARIABLE), NEW_KEY_VARIABLE, file=current.file)
        if new.key == current.key:
            raise ConfigError(f"{NEW_KEY_VARIABLE} is the master key already in use")
        if current.file is None:
            count = await keys.rotate(new)
            return count, "start every server with HUGMOOD_MASTER_KEY set to the new key"
        # The new key is on disk before any data key depends on it; it replaces the old file
        # only once every data key is re-wrapped.
        pending = current.file.with_name(current.file.name + ".new")
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(encode_key(new.key) + "\n")
            f.flush()
            os.fsync(f.fileno())
        count = await keys.rotate(replace(new, origin=str(current.file)))
        os.replace(pending, current.file)
        return count, f"the new key is in {current.file}"
