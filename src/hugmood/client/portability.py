"""Data portability: export everything the device holds (JSON, CSV); import HugMood JSON (the
one format the web app writes too, docs/export-format.md) and Daylio's CSV export. An import is
checked whole before anything is written."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, tzinfo
from typing import Any

from hugmood.client.device import prepare_entry
from hugmood.client.errors import InvalidInput
from hugmood.client.records import Insights, LocalEntry

FORMAT = "hugmood-export"
CSV_COLUMNS = (
    "id", "recorded_at", "mood_type", "intensity", "privacy", "note", "location", "weather",
    "social_context", "tags", "sentiment", "emotions", "suggested_mood", "origin", "status",
)  # fmt: skip
IMPORT_NAMESPACE = uuid.UUID("6f1c3e0a-5a53-4e0b-9a8e-2f0d8c6b7a11")
DAYLIO_MOODS = {
    "rad": ("joyful", 0.9),
    "good": ("happy", 0.7),
    "meh": ("bored", 0.4),
    "bad": ("down", 0.7),
    "awful": ("hopeless", 0.9),
}
"""Daylio's five default moods on HugMood's vocabulary (custom mood names are matched by
word, or suggested from the name and the note)."""


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def export_json(
    handle: str | None,
    entries: list[LocalEntry],
    refused: list[Any],
    online: dict[str, Any] | None = None,
) -> str:
    """The whole vault as JSON; `online` adds what only the server holds (friends, hugs)."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "exportedAt": _iso(int(datetime.now(UTC).timestamp() * 1000)),
        "account": handle,
        "entries": [
            {
                "id": e.entry_id,
                "recordedAt": _iso(e.recorded_at_ms),
                "moodType": e.mood_type,
                "intensity": e.intensity,
                "note": e.note,
                "contextFactors": e.context,
                "privacy": e.privacy,
                "insights": e.insights.to_data() if e.insights else None,
                "origin": e.origin,
                "status": e.status,
                "refusal": e.refusal,
            }
            for e in entries
        ],
        "refused": [{"id": i, "kind": k, "reason": r} for i, k, r in refused],
        **(online or {"server": "not reached: friends and hugs are not included"}),
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_csv(entries: list[LocalEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        i = e.insights
        writer.writerow(
            [
                e.entry_id, _iso(e.recorded_at_ms), e.mood_type, e.intensity, e.privacy or "",
                e.note or "", e.context.get("location") or "", e.context.get("weather") or "",
                e.context.get("socialContext") or "", "|".join(e.context.get("tags") or []),
                "" if i is None else i.sentiment, "" if i is None else "|".join(i.emotions),
                "" if i is None else i.suggested_mood or "", e.origin, e.status,
            ]
        )  # fmt: skip
    return buffer.getvalue()


def import_hugmood_json(text: str, now: datetime) -> list[LocalEntry]:
    try:
        document = json.loads(text)
    except ValueError as e:
        raise InvalidInput(f"not JSON: {e}") from None
    if not isinstance(document, dict):
        raise InvalidInput(f'not a HugMood export (expected "format": "{FORMAT}")')
    if document.get("format") == FORMAT:
        if document.get("version") != 1:
            raise InvalidInput(
                f"this export is version {str(document.get('version'))[:10]}; "
                "this HugMood reads version 1"
            )
        raw_entries = document.get("entries")
    elif "moodEntries" in document:  # the web app's exports before the shared format
        raw_entries = document.get("moodEntries")
    else:
        raise InvalidInput(f'not a HugMood export (expected "format": "{FORMAT}")')
    if not isinstance(raw_entries, list):
        raise InvalidInput('a HugMood export needs an "entries" list')
    entries = []
    for n, raw in enumerate(raw_entries, start=1):
        try:
            at = datetime.fromisoformat(str(raw["recordedAt"]).replace("Z", "+00:00"))
            entry = prepare_entry(
                intensity=float(raw["intensity"]),
                mood_type=str(raw["moodType"]),
                note=raw.get("note"),
                context=raw.get("contextFactors") or {},
                privacy=raw.get("privacy"),
                recorded_at=at,
                entry_id=str(raw["id"]),
                now=now,
            )
        except InvalidInput as e:
            raise InvalidInput(f"entry {n}: {e}", field=e.field) from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InvalidInput(f"entry {n}: missing or malformed {e}") from None
        insights = Insights.from_data(raw.get("insights")) or entry.insights
        entries.append(
            LocalEntry(**{**_fields(entry), "insights": insights})  # keep the exported insights
        )
    return entries


def _fields(entry: LocalEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in LocalEntry.__slots__}


def import_daylio_csv(text: str, now: datetime, zone: tzinfo) -> list[LocalEntry]:
    """Daylio's CSV export: full_date, date, weekday, time, mood, activities, note_title, note."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    needed = {"full_date", "time", "mood"}
    if reader.fieldnames is None or not needed <= set(reader.fieldnames):
        raise InvalidInput("not a Daylio CSV export: it needs the columns full_date, time and mood")
    entries = []
    for line, row in enumerate(reader, start=2):
        try:
            entries.append(_daylio_entry(row, now, zone))
        except InvalidInput as e:
            raise InvalidInput(f"line {line}: {e}", field=e.field) from None
    return entries


def _daylio_entry(row: dict[str, str], now: datetime, zone: tzinfo) -> LocalEntry:
    stamp = f"{row['full_date'].strip()} {row['time'].strip()}"
    at = None
    for pattern in ("%Y-%m-%d %I:%M %p", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            at = datetime.strptime(stamp, pattern).replace(tzinfo=zone)
            break
        except ValueError:
            continue
    if at is None:
        raise InvalidInput(f"cannot read the date and time {stamp!r}", field="time")
    label = row["mood"].strip().lower()
    mood, intensity = DAYLIO_MOODS.get(label, (None, 0.6))
    title, body = (row.get("note_title") or "").strip(), (row.get("note") or "").strip()
    note = "\n".join(part for part in (title, body) if part) or None
    if mood is None:
        from hugmood.client.analysis import analyse
        from hugmood.domain.vocabulary import MOODS

        mood = label if label in MOODS else analyse(f"{label}. {note or ''}").suggested_mood
    tags = [_tag(a) for a in (row.get("activities") or "").split("|") if _tag(a)][:10]
    entry_id = uuid.uuid5(IMPORT_NAMESPACE, f"daylio|{stamp}|{label}|{note}")
    return prepare_entry(
        intensity=intensity,
        mood_type=mood,
        note=note,
        context={"tags": tags},
        privacy="private",
        recorded_at=at,
        entry_id=str(entry_id),
        now=now,
    )


def _tag(activity: str) -> str:
    cleaned = "".join(ch for ch in activity.strip().lower() if ch.isalnum() or ch in " _-")
    return cleaned.strip()[:32]
