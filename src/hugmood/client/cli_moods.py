"""`hugmood mood add|list`, `hugmood export` and `hugmood import`: check-ins on this device."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from hugmood.client import portability, server_export
from hugmood.client.analysis import analyse
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
from hugmood.client.device import Device
from hugmood.client.errors import ClientError, InvalidInput, Offline
from hugmood.client.records import LocalEntry
from hugmood.private_files import PRIVATE_FILE

if TYPE_CHECKING:
    from hugmood.client.learning import Suggestion

mood_app = typer.Typer(help="Check in and look back, on this device (works offline).")
SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """Intensities 0..1 as block characters, oldest first."""
    return "".join(SPARKS[min(int(v * len(SPARKS)), len(SPARKS) - 1)] for v in values)


def _prompt_missing(
    mood: str | None,
    intensity: float | None,
    note: str | None,
    expected: Callable[[str | None], Suggestion | None],
) -> tuple[str | None, float, str | None]:
    """Ask, in a terminal, for what was not given. Without a note to read a mood from, the
    personal model (`hugmood learn`) pre-suggests one, and an intensity, for this moment."""
    if intensity is not None:
        return mood, intensity, note
    if not sys.stdin.isatty():
        fail("give --intensity (0 to 1), or run in a terminal to be asked")
    note = (
        note
        or typer.prompt("How are you? (a note, optional)", default="", show_default=False)
        or None
    )
    mood = (
        mood
        or typer.prompt(
            "Mood word (empty: suggest one from the note)", default="", show_default=False
        )
        or None
    )
    guess = expected(note) if mood is None else None
    if mood is None and note:
        # The suggestion is shown and kept only if the person says so (Enter), or replaced.
        suggested = analyse(note).suggested_mood
        mood = typer.prompt(
            f"Your note sounds {suggested}: Enter to keep it, or type another mood word",
            default=suggested,
        )
    elif mood is None and guess is not None:
        mood = typer.prompt(
            f"At times like this you usually feel {guess.mood} "
            f"({guess.likelihood:.0%} likely, your own model): Enter to keep it, or type "
            "another mood word",
            default=guess.mood,
        )
    if guess is not None:
        intensity = typer.prompt("Intensity from 0 to 1", type=float, default=guess.intensity)
    else:
        intensity = typer.prompt("Intensity from 0 to 1", type=float)
    return mood, intensity, note


@mood_app.command("add")
def add(
    mood: Annotated[
        str | None,
        typer.Option(
            "--mood",
            "-m",
            help="A vocabulary word (calm, sad, …); suggested from the note if left out.",
        ),
    ] = None,
    intensity: Annotated[
        float | None,
        typer.Option("--intensity", "-i", help="0 (barely) to 1 (completely). Asked if left out."),
    ] = None,
    note: Annotated[
        str | None,
        typer.Option(
            "--note", "-n", help="What is going on; stays on this device unless shareNotes allows."
        ),
    ] = None,
    privacy: Annotated[
        str | None,
        typer.Option(
            help="private, close-friends, friends-only or public (default: your account's)."
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="When you felt it, e.g. 2026-11-24T18:30 (default now)."),
    ] = None,
    location: Annotated[str | None, typer.Option(help="Where you are.")] = None,
    weather: Annotated[str | None, typer.Option(help="sunny, cloudy, rainy, …")] = None,
    social: Annotated[str | None, typer.Option("--with", help="alone, friends, family, …")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="A free tag (repeatable).")
    ] = None,
    sync_now: Annotated[bool, typer.Option("--sync", help="Sync right away if online.")] = False,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Check in: analysed and sealed on this device at once, uploaded at the next sync."""
    when = _parse_time(at) if at is not None else None
    with clear_errors():
        device = open_device(vault)
        try:

            def expected(text: str | None) -> Suggestion | None:
                # Only when asking: the model (NumPy) is not loaded for every check-in.
                from hugmood.client.learning import suggestion_for
                from hugmood.learning.features import Context

                moment = (when or datetime.now(UTC)).astimezone()
                return suggestion_for(
                    device.vault,
                    Context(
                        hour=moment.hour,
                        weekday=moment.weekday(),
                        weather=weather,
                        company=social,
                        tags=frozenset(tag or ()),
                        sentiment=analyse(text).sentiment if text else None,
                    ),
                )

            mood, level, note = _prompt_missing(mood, intensity, note, expected)
            entry = device.check_in(
                intensity=level,
                mood_type=mood,
                note=note,
                context={
                    "location": location,
                    "weather": weather,
                    "socialContext": social,
                    "tags": tag or [],
                },
                privacy=privacy,
                recorded_at=when,
            )
            _show_checked_in(entry, device.share_notes)
            if sync_now:
                try:
                    report = run(device.sync())
                    out.print(f"synced: uploaded {report.uploaded}, downloaded {report.downloaded}")
                except Offline as e:
                    err.print(f"[yellow]offline ({e}); it syncs next time[/]")
        finally:
            device.vault.close()


def _shorten(text: str, width: int) -> str:
    """The start of a note, cut at a word and marked with … when longer than `width`."""
    one_line = " ".join(text.split())
    if len(one_line) <= width:
        return one_line
    cut = one_line[: width - 1]
    at_word = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return at_word.rstrip(" ,.;:") + "…"


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at must be an ISO time such as 2026-11-24T18:30 (got {text!r})")
    return moment if moment.tzinfo is not None else moment.astimezone()


def _show_checked_in(entry: LocalEntry, share_notes: str) -> None:
    out.print(
        f"Checked in [bold]{entry.mood_type}[/bold] at intensity {entry.intensity} (id {entry.entry_id})"
    )
    if entry.insights is not None:
        i = entry.insights
        out.print(
            f"sentiment {i.sentiment:+.2f}; emotions: {', '.join(i.emotions) or 'none found'}; "
            f"suggested mood: {i.suggested_mood}"
        )
        leaves = (
            "the note leaves this device at sync"
            if entry.note_to_upload(share_notes)
            else "the note stays on this device (only insights are uploaded)"
        )
        out.print(leaves)
    out.print("Saved in the vault; it uploads at the next `hugmood sync`.")


@mood_app.command("list")
def list_moods(
    limit: Annotated[
        int, typer.Option(help="How many of the latest entries.", min=1, max=100000)
    ] = 20,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Your latest entries on this device, with a sparkline of intensity."""
    with clear_errors():
        device = open_device(vault)
        try:
            entries = device.vault.entries(limit=limit)
        finally:
            device.vault.close()
    table = Table(title=f"Your last {len(entries)} check-ins")
    for column in ("when", "mood", "intensity", "sentiment", "emotions", "note", "sync"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.recorded_at.astimezone().strftime("%Y-%m-%d %H:%M"),
            e.mood_type,
            f"{e.intensity:.2f}",
            f"{e.insights.sentiment:+.2f}" if e.insights else "",
            ", ".join(e.insights.emotions) if e.insights else "",
            _shorten(e.note or "", 40),
            e.status if e.status != "refused" else f"refused: {e.refusal}",
        )
    out.print(table)
    out.print(f"intensity: {sparkline([e.intensity for e in reversed(entries)])}")


def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or csv.")] = "json",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: standard output)."),
    ] = None,
    from_server: Annotated[
        bool,
        typer.Option(
            "--from-server",
            help="Everything the server holds about you instead (profile, check-ins, friends,"
            " hugs, boards, settings), streamed to the file.",
        ),
    ] = False,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Export everything this device holds (entries, notes, insights, refusals)."""
    if fmt not in ("json", "csv"):
        fail(f"--format must be json or csv (got {fmt!r})")
    if from_server:
        server_export.download(fmt, output, vault)
        return
    with clear_errors():
        device = open_device(vault)
        try:
            entries = device.vault.entries(newest_first=False)
            text = (
                portability.export_json(
                    device.handle, entries, device.vault.refused(), _server_side(device)
                )
                if fmt == "json"
                else portability.export_csv(entries)
            )
        finally:
            device.vault.close()
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            # A diary export is health data: readable by its owner alone, like the vault.
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                os.fchmod(f.fileno(), PRIVATE_FILE)
                f.write(text)
        except OSError as e:
            fail(f"cannot write {output}: {e.strerror}", 1)
        err.print(f"exported {len(entries)} entries to {output}")


def _server_side(device: Device) -> dict[str, Any] | None:
    """Friends and hugs (only the server holds them), or `None` when offline or logged out."""
    if device.token is None:
        return None

    async def fetch() -> dict[str, Any]:
        async with device.client() as api:
            return {
                "friends": await api.friends(),
                "hugsReceived": await api.inbox(limit=100),
                "hugsSent": await api.sent_hugs(limit=100),
            }

    try:
        return run(fetch())
    except ClientError as e:
        err.print(f"[yellow]friends and hugs not exported: {e}[/]")
        return None


def import_(
    path: Annotated[
        Path,
        typer.Argument(
            help="A HugMood JSON export or a Daylio CSV export.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="hugmood or daylio (default: from the file name)."),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="Time zone of Daylio's local times (default: this machine's)."),
    ] = None,
    vault: VaultOption = DEFAULT_VAULT,
) -> None:
    """Import entries (checked whole first; entries already here are skipped)."""
    kind = fmt or ("daylio" if path.suffix.lower() == ".csv" else "hugmood")
    if kind not in ("hugmood", "daylio"):
        fail(f"--format must be hugmood or daylio (got {kind!r})")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    zone = _zone(tz)
    now = datetime.now(UTC)
    with clear_errors():
        try:
            entries = (
                portability.import_hugmood_json(text, now)
                if kind == "hugmood"
                else portability.import_daylio_csv(text, now, zone)
            )
        except InvalidInput as e:
            fail(f"{path}: {e}; nothing was imported")
        device = open_device(vault)
        try:
            added = device.vault.add_entries(entries)
        finally:
            device.vault.close()
    out.print(
        f"imported {added} new entries ({len(entries) - added} were already here); they upload at the next sync"
    )


def _zone(name: str | None) -> tzinfo:
    if name is None:
        return datetime.now().astimezone().tzinfo or UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"{name!r} is not a known time zone (e.g. Europe/Paris)")


def register(app: typer.Typer) -> None:
    app.add_typer(mood_app, name="mood")
    app.command()(export)
    app.command("import")(import_)
