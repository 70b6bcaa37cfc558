"""The complete export of one person's data (GDPR art. 20), written piece by piece.

`export_json` and `export_csv` are async generators of bytes: check-ins and hugs are read a
page at a time and images one at a time, so a long history never sits in memory at once.
Everything is read as the application sees it (read models, the event store through its
mapper, the blob store): decrypted, whatever protects it at rest. The format is
`docs/export-format.md`; what is and is not included is decided there too.
"""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from hugmood.application.queries.hugs import DELETED_ACCOUNT
from hugmood.application.queries.identity import account_by_id, accounts_by_ids
from hugmood.application.queries.reminders import email as email_of
from hugmood.application.queries.reminders import reminder as reminder_of
from hugmood.application.streams import load
from hugmood.blobs.store import BlobStore
from hugmood.domain.errors import NotFound
from hugmood.domain.sealed import SealedState, evolve_sealed, sealed_stream
from hugmood.eventstore.store import EventStore
from hugmood.ids import BoardId, UserId
from hugmood.sql.database import Row, SqlDatabase

FORMAT = "hugmood-export"
VERSION = 1
PAGE = 1000
"""Rows read per query: large enough to be quick, small enough to keep memory flat."""

CSV_COLUMNS = (
    "id", "recorded_at", "mood_type", "intensity", "privacy", "note", "location", "weather",
    "social_context", "tags", "sentiment", "emotions", "suggested_mood", "origin", "status",
)  # fmt: skip
"""The columns of the client's CSV export (`client.portability`), so both open alike."""


class BoardContents(Protocol):
    async def board_snapshot(self, *, viewer_id: UserId, board_id: BoardId) -> dict[str, Any]:
        """A board's items as JSON (`boards.model.snapshot`); the caller is a member."""
        ...


@dataclass(frozen=True, slots=True)
class ExportSources:
    """Where a person's data is read from: the same stores the application reads."""

    readmodels: SqlDatabase
    store: EventStore
    blobs: BlobStore
    boards: BoardContents


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC (`2026-12-04T19:30:00.000Z`); three a check-in,
    so the cheap way (a `datetime` each cost half the export's time)."""
    if ms is None:
        return None
    seconds, millis = divmod(int(ms), 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


BEFORE_ALL = (-(2**62), "")
"""A (time, id) key before every row: where keyset pagination starts."""


async def _pages(db: SqlDatabase, sql: str, *args: Any) -> AsyncIterator[Sequence[Row]]:
    """Keyset pagination: `sql` takes `args`, then the last row's (time, id) key and `PAGE`,
    and reads at most `PAGE` rows after that key, ordered by it (their first two columns)."""
    last: tuple[Any, ...] = BEFORE_ALL
    while True:
        rows = await db.fetch(sql, *args, *last, PAGE)
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        last = (rows[-1][0], rows[-1][1])


_ENTRIES = (
    "SELECT recorded_at_ms, e.entry_id, mood_type, intensity, note, context_factors, privacy,"
    " created_at_ms, updated_at_ms, insights, p.blob_id, p.content_type"
    " FROM rm_mood_entries e LEFT JOIN rm_mood_photos p ON p.entry_id = e.entry_id"
    " WHERE user_id = $1"
    " AND (recorded_at_ms > $2 OR (recorded_at_ms = $2 AND e.entry_id > $3))"
    " ORDER BY recorded_at_ms, e.entry_id LIMIT $4"
)


async def entry_rows(db: SqlDatabase, user_id: UserId) -> AsyncIterator[Sequence[Row]]:
    """Every check-in of the person, oldest first, a page at a time."""
    async for rows in _pages(db, _ENTRIES, user_id):
        yield rows


def _entry(row: Row) -> dict[str, Any]:
    return {
        "id": row[1],
        "recordedAt": iso(int(row[0])),
        "moodType": row[2],
        "intensity": float(row[3]),
        "note": row[4],
        "contextFactors": orjson.loads(row[5]),
        "privacy": row[6],
        "insights": orjson.loads(row[9]) if row[9] else None,
        "origin": "server",
        "status": "synced",
        "createdAt": iso(int(row[7])),
        "updatedAt": iso(int(row[8])),
    }


async def _blob(blobs: BlobStore, blob_id: str, content_type: str | None) -> dict[str, Any]:
    data = await blobs.get(blob_id)
    return {
        "blobId": blob_id,
        "contentType": content_type,
        "base64": base64.b64encode(data).decode() if data is not None else None,
    }


async def _profile(db: SqlDatabase, user_id: UserId) -> dict[str, Any]:
    account = await account_by_id(db, user_id)
    if account is None:
        raise NotFound("there is no such account", field="userId")
    return {
        "userId": account.user_id,
        "handle": account.handle,
        "displayName": account.display_name,
        "bio": account.bio,
        "homeRegion": account.home_region,
        "registeredAt": iso(account.registered_at_ms),
    }


async def _people(db: SqlDatabase, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """The public face (id, handle, display name) of the people named: nothing else of theirs."""
    accounts = await accounts_by_ids(db, list(dict.fromkeys(ids)))
    return {
        i: {"userId": a.user_id, "handle": a.handle, "displayName": a.display_name}
        for i, a in accounts.items()
    }


def _person(people: dict[str, dict[str, str]], user_id: str) -> dict[str, str]:
    if user_id == DELETED_ACCOUNT:
        return {"userId": "", "handle": "", "displayName": "A deleted account"}
    return people.get(user_id) or {"userId": user_id, "handle": "", "displayName": ""}


async def _settings(sources: ExportSources, user_id: UserId) -> dict[str, Any]:
    db = sources.readmodels
    account = await db.fetchrow(
        "SELECT default_visibility, appear_offline FROM rm_accounts WHERE user_id = $1", user_id
    )
    reminder = await reminder_of(db, user_id)
    email = await email_of(db, user_id)
    push = await db.fetch(
        "SELECT endpoint FROM rm_push_subscriptions WHERE user_id = $1 ORDER BY endpoint_key",
        user_id,
    )
    hugs = await db.fetchrow(
        "SELECT accepted_types, muted_ids FROM rm_hug_settings WHERE user_id = $1", user_id
    )
    close = await db.fetch(
        "SELECT friend_id, since_ms FROM rm_close_friends WHERE owner_id = $1"
        " ORDER BY since_ms, friend_id",
        user_id,
    )
    discoverable = await db.fetchrow(
        "SELECT discoverable FROM rm_discoverable WHERE user_id = $1", user_id
    )
    muted = orjson.loads(hugs[1]) if hugs else []
    people = await _people(db, [str(r[0]) for r in close] + [str(m) for m in muted])
    sealed = (await load(sources.store, sealed_stream(user_id), SealedState(), evolve_sealed)).state
    return {
        "defaultVisibility": account[0] if account else None,
        "appearOffline": bool(account[1]) if account else False,
        "discoverable": bool(discoverable[0]) if discoverable else False,
        "reminders": None
        if reminder is None
        else {
            "enabled": reminder.enabled,
            "time": reminder.time,
            "days": list(reminder.days),
            "timeZone": reminder.time_zone,
            "byPush": reminder.by_push,
            "byEmail": reminder.by_email,
            "quietDays": reminder.quiet_days,
        },
        "email": {"address": email.address, "pending": email.pending},
        "pushEndpoints": [str(r[0]) for r in push],
        "hugs": {
            "acceptedTypes": orjson.loads(hugs[0]) if hugs else None,
            "muted": [_person(people, str(m)) for m in muted],
        },
        "closeFriends": [{**_person(people, str(r[0])), "since": iso(int(r[1]))} for r in close],
        "sealedMode": {
            "keyId": sealed.key_id,
            "entries": [
                {"recordedAt": iso(at), "keyId": key_id, "ciphertext": ciphertext}
                for at, key_id, ciphertext in sealed.entries
            ],
        },
    }


async def _connections(db: SqlDatabase, user_id: UserId) -> dict[str, Any]:
    friendships = await db.fetch(
        "SELECT other_id, status, since_ms FROM rm_friendships WHERE user_id = $1"
        " ORDER BY since_ms, other_id",
        user_id,
    )
    blocks = await db.fetch(
        "SELECT blocked_id, since_ms FROM rm_blocks WHERE blocker_id = $1"
        " ORDER BY since_ms, blocked_id",
        user_id,
    )
    people = await _people(db, [str(r[0]) for r in friendships] + [str(r[0]) for r in blocks])
    return {
        "friendships": [
            {**_person(people, str(r[0])), "status": r[1], "since": iso(int(r[2]))}
            for r in friendships
        ],
        "blocked": [{**_person(people, str(r[0])), "since": iso(int(r[1]))} for r in blocks],
    }


async def _insights(db: SqlDatabase, user_id: UserId) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT insight_id, kind, key, sentence, numbers_json, generated_at_ms, helpful,"
        " dismissed, superseded FROM rm_insights WHERE owner_id = $1"
        " ORDER BY generated_at_ms, insight_id",
        user_id,
    )
    return [
        {
            "id": r[0],
            "kind": r[1],
            "key": r[2],
            "sentence": r[3],
            "numbers": orjson.loads(r[4]),
            "generatedAt": iso(int(r[5])),
            "helpful": bool(r[6]),
            "dismissed": bool(r[7]),
            "superseded": bool(r[8]),
        }
        for r in rows
    ]


_HUGS = (
    "SELECT sent_at_ms, hug_id, sender_id, recipient_id, hug_type, message, status,"
    " delivered_at_ms, seen_at_ms, withdrawn_at_ms FROM rm_hugs WHERE {side} = $1{extra}"
    " AND (sent_at_ms > $2 OR (sent_at_ms = $2 AND hug_id > $3))"
    " ORDER BY sent_at_ms, hug_id LIMIT $4"
)
_HUGS_SENT = _HUGS.format(side="sender_id", extra="")
_HUGS_RECEIVED = _HUGS.format(side="recipient_id", extra=" AND status <> 'withdrawn'")
"""A hug its sender withdrew is no longer the recipient's: it leaves their export too."""


async def _hugs(db: SqlDatabase, sql: str, user_id: UserId, other: int) -> AsyncIterator[bytes]:
    first = True
    async for rows in _pages(db, sql, user_id):
        people = await _people(db, [str(r[other]) for r in rows])
        for r in rows:
            hug = {
                "id": r[1],
                "with": _person(people, str(r[other])),
                "type": r[4],
                "message": r[5],
                "status": r[6],
                "sentAt": iso(int(r[0])),
                "deliveredAt": iso(r[7]),
                "seenAt": iso(r[8]),
                "withdrawnAt": iso(r[9]),
            }
            yield (b"" if first else b",") + _json(hug)
            first = False


async def _boards(sources: ExportSources, user_id: UserId) -> AsyncIterator[bytes]:
    """Each board the person is a member of, with the items they added (and those items'
    images); other members' items are theirs and are only counted."""
    db = sources.readmodels
    rows = await db.fetch(
        "SELECT b.board_id, b.owner_id, b.title, b.description, b.archived, b.created_at_ms,"
        " m.role, m.added_at_ms FROM rm_board_members m JOIN rm_boards b"
        " ON b.board_id = m.board_id WHERE m.user_id = $1 ORDER BY b.created_at_ms, b.board_id",
        user_id,
    )
    people = await _people(db, [str(r[1]) for r in rows])
    for n, r in enumerate(rows):
        content = await sources.boards.board_snapshot(viewer_id=user_id, board_id=r[0])
        mine = [i for i in content.get("items", []) if i.get("addedBy") == user_id]
        head = {
            "id": r[0],
            "owner": _person(people, str(r[1])),
            "title": r[2],
            "description": r[3],
            "archived": bool(r[4]),
            "createdAt": iso(int(r[5])),
            "role": r[6],
            "memberSince": iso(int(r[7])),
            "otherMembersItems": len(content.get("items", [])) - len(mine),
        }
        yield (b"," if n else b"") + _json(head)[:-1] + b',"myItems":['
        for k, item in enumerate(mine):
            body = {**item, "addedAt": iso(item.get("addedAt"))}
            if item.get("kind") == "image" and isinstance(item.get("blobId"), str):
                body["image"] = await _blob(sources.blobs, item["blobId"], None)
            yield (b"," if k else b"") + _json(body)
        yield b"]}"


async def export_json(sources: ExportSources, user_id: UserId) -> AsyncIterator[bytes]:
    """The whole archive as one JSON object, in pieces (`docs/export-format.md`)."""
    db = sources.readmodels
    profile = await _profile(db, user_id)
    head = {
        "format": FORMAT,
        "version": VERSION,
        "source": "server",
        "exportedAt": iso(int(datetime.now(UTC).timestamp() * 1000)),
        "account": profile["handle"],
        "profile": profile,
        "settings": await _settings(sources, user_id),
        **await _connections(db, user_id),
        "insights": await _insights(db, user_id),
    }
    yield _json(head)[:-1] + b',"entries":['
    first = True
    async for rows in entry_rows(db, user_id):
        # One piece a page (a photo, up to a few MB, is a piece of its own entry's).
        page = []
        for row in rows:
            entry = _entry(row)
            if row[10] is not None:
                entry["photo"] = await _blob(sources.blobs, str(row[10]), row[11])
            page.append(_json(entry))
        yield (b"" if first else b",") + b",".join(page)
        first = False
    yield b'],"hugsSent":['
    async for piece in _hugs(db, _HUGS_SENT, user_id, other=3):
        yield piece
    yield b'],"hugsReceived":['
    async for piece in _hugs(db, _HUGS_RECEIVED, user_id, other=2):
        yield piece
    yield b'],"boards":['
    async for piece in _boards(sources, user_id):
        yield piece
    yield b"]}\n"


def _csv_line(values: Sequence[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue().encode()


def _csv_row(row: Row) -> list[Any]:
    context = orjson.loads(row[5])
    insights = orjson.loads(row[9]) if row[9] else None
    return [
        row[1], iso(int(row[0])), row[2], float(row[3]), row[6], row[4] or "",
        context.get("location") or "", context.get("weather") or "",
        context.get("socialContext") or "", "|".join(context.get("tags") or []),
        "" if insights is None else insights.get("sentiment", ""),
        "" if insights is None else "|".join(insights.get("emotions") or []),
        "" if insights is None else insights.get("suggestedMood") or "", "server", "synced",
    ]  # fmt: skip


async def export_csv(sources: ExportSources, user_id: UserId) -> AsyncIterator[bytes]:
    """Every check-in as a CSV row (the client's columns), oldest first, in pieces."""
    await _profile(sources.readmodels, user_id)
    yield _csv_line(CSV_COLUMNS)
    async for rows in entry_rows(sources.readmodels, user_id):
        yield b"".join(_csv_line(_csv_row(r)) for r in rows)


Exporter = Callable[[ExportSources, UserId], AsyncIterator[bytes]]
EXPORTERS: dict[str, tuple[Exporter, str]] = {
    "json": (export_json, "application/json"),
    "csv": (export_csv, "text/csv; charset=utf-8"),
}
