"""Mood history (raw or in day/week/month buckets), single entries and the friends' feed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from hugmood.application.queries.social import close_to, friend_ids, relationship
from hugmood.domain.common import shown
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.history import Aggregation, bucket_start
from hugmood.domain.moods import ContextFactors, MoodInsights, canonical_entry_id
from hugmood.domain.privacy import Privacy, Relationship, visible_privacies
from hugmood.domain.vocabulary import MOODS
from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.ids import EntryId, UserId
from hugmood.sql.database import Row, SqlDatabase, Statement
from hugmood.sql.migrations import Migration
from hugmood.sql.sealed import Sealed

MAX_RANGE = timedelta(days=3 * 366)
MAX_ENTRIES = 1000
MAX_FEED = 100


@dataclass(frozen=True, slots=True)
class MoodEntryView:
    entry_id: EntryId
    user_id: UserId
    mood_type: str
    intensity: float
    note: str | None
    context: ContextFactors
    privacy: Privacy
    recorded_at_ms: int
    created_at_ms: int
    updated_at_ms: int
    insights: MoodInsights | None = None
    """Derived on the owner's device; shown to the owner only (see the GraphQL type)."""
    photo_blob_id: str | None = None
    """The entry's photo, served to whoever may see the entry (`mood_photo`)."""


@dataclass(frozen=True, slots=True)
class MoodBucket:
    start: date
    """First local day of the bucket (a Monday for weeks, the 1st for months)."""
    count: int
    mean_intensity: float
    dominant_mood: str
    mean_energy: float
    mean_pleasantness: float


_ENTRY_COLUMNS = (
    "entry_id, user_id, mood_type, intensity, note, context_factors, privacy, recorded_at_ms,"
    " created_at_ms, updated_at_ms, insights,"
    " (SELECT blob_id FROM rm_mood_photos p WHERE p.entry_id = rm_mood_entries.entry_id)"
)


def _entry(row: Row) -> MoodEntryView:
    return MoodEntryView(
        entry_id=row[0],
        user_id=row[1],
        mood_type=row[2],
        intensity=float(row[3]),
        note=row[4],
        context=ContextFactors.from_data(orjson.loads(row[5])),
        privacy=Privacy(row[6]),
        recorded_at_ms=int(row[7]),
        created_at_ms=int(row[8]),
        updated_at_ms=int(row[9]),
        insights=MoodInsights.from_data(orjson.loads(row[10])) if row[10] else None,
        photo_blob_id=row[11],
    )


PRIVACY_SLOTS = len(Privacy)


def _privacy_params(allowed: frozenset[Privacy]) -> tuple[str, ...]:
    """Always one parameter per privacy setting, for `privacy IN ($a, $b, $c, $d)`; absent
    ones match nothing."""
    values = sorted(p.value for p in allowed)
    return (*values, *["-"] * (PRIVACY_SLOTS - len(values)))


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"{shown(name)} is not a known IANA time zone (e.g. Europe/Paris)", field="timeZone"
        ) from None


async def mood_history(
    db: SqlDatabase,
    *,
    viewer_id: UserId,
    owner_id: UserId,
    start: datetime,
    end: datetime,
    aggregation: Aggregation,
    zone: ZoneInfo,
) -> list[MoodEntryView] | list[MoodBucket]:
    """The owner's entries in [start, end) that the viewer may see, newest first when raw."""
    if end <= start:
        raise ValidationFailed("the range must end after it starts", field="to")
    if end - start > MAX_RANGE:
        raise ValidationFailed("the range may span at most three years", field="to")
    allowed = visible_privacies(await relationship(db, viewer_id, owner_id))
    if not allowed:
        return []
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    if aggregation is Aggregation.NONE:
        rows = await db.fetch(
            f"SELECT {_ENTRY_COLUMNS} FROM rm_mood_entries WHERE user_id = $1"
            " AND recorded_at_ms >= $2 AND recorded_at_ms < $3 AND privacy IN ($4, $5, $6, $7)"
            f" ORDER BY recorded_at_ms DESC LIMIT {MAX_ENTRIES}",
            owner_id,
            start_ms,
            end_ms,
            *_privacy_params(allowed),
        )
        return [_entry(r) for r in rows]
    rows = await db.fetch(
        "SELECT recorded_at_ms, mood_type, intensity FROM rm_mood_entries WHERE user_id = $1"
        " AND recorded_at_ms >= $2 AND recorded_at_ms < $3 AND privacy IN ($4, $5, $6, $7)"
        " ORDER BY recorded_at_ms",
        owner_id,
        start_ms,
        end_ms,
        *_privacy_params(allowed),
    )
    return bucket(rows, aggregation, zone)


@dataclass(slots=True)
class _Tally:
    count: int = 0
    intensity: float = 0.0
    energy: float = 0.0
    pleasantness: float = 0.0
    worded: int = 0
    moods: Counter[str] = field(default_factory=Counter)


def bucket(rows: Sequence[Row], aggregation: Aggregation, zone: ZoneInfo) -> list[MoodBucket]:
    """Group (recorded_at_ms, mood_type, intensity) rows into local-time buckets, oldest first."""
    tallies: dict[date, _Tally] = {}
    for at_ms, mood, intensity in rows:
        day = bucket_start(at_ms, aggregation, zone)
        tally = tallies.get(day)
        if tally is None:
            tally = tallies[day] = _Tally()
        tally.count += 1
        tally.intensity += intensity
        tally.moods[mood] += 1
        word = MOODS.get(mood)
        if word is not None:
            tally.worded += 1
            tally.energy += word.energy
            tally.pleasantness += word.pleasantness
    return [
        MoodBucket(
            start=start,
            count=t.count,
            mean_intensity=round(t.intensity / t.count, 4),
            # Most frequent mood; ties go to the word first in alphabetical order, so it is stable.
            dominant_mood=min(t.moods, key=lambda m: (-t.moods[m], m)),
            mean_energy=round(t.energy / max(t.worded, 1), 4),
            mean_pleasantness=round(t.pleasantness / max(t.worded, 1), 4),
        )
        for start, t in sorted(tallies.items())
    ]


async def mood_entry(
    db: SqlDatabase, *, viewer_id: UserId, entry_id: EntryId
) -> MoodEntryView | None:
    """One entry, or `None` if it does not exist or the viewer may not see it."""
    row = await db.fetchrow(
        f"SELECT {_ENTRY_COLUMNS} FROM rm_mood_entries WHERE entry_id = $1",
        canonical_entry_id(entry_id),
    )
    if row is None:
        return None
    entry = _entry(row)
    allowed = visible_privacies(await relationship(db, viewer_id, entry.user_id))
    return entry if entry.privacy in allowed else None


@dataclass(frozen=True, slots=True)
class MoodPhoto:
    blob_id: str
    content_type: str
    bytes: int


async def mood_photo(db: SqlDatabase, *, viewer_id: UserId, entry_id: EntryId) -> MoodPhoto | None:
    """The entry's photo, only if the viewer may see the entry (`mood_entry` decides)."""
    entry = await mood_entry(db, viewer_id=viewer_id, entry_id=entry_id)
    if entry is None or entry.photo_blob_id is None:
        return None
    row = await db.fetchrow(
        "SELECT blob_id, content_type, bytes FROM rm_mood_photos WHERE entry_id = $1",
        entry.entry_id,
    )
    return MoodPhoto(str(row[0]), str(row[1]), int(row[2])) if row else None


async def friends_feed(
    db: SqlDatabase, *, viewer_id: UserId, before_ms: int | None, limit: int
) -> list[MoodEntryView]:
    """Friends' entries the viewer may see (friends-only and public; close-friends ones from
    friends who put the viewer on their list), newest first."""
    if not 1 <= limit <= MAX_FEED:
        raise ValidationFailed(f"limit must be between 1 and {MAX_FEED}", field="limit")
    friend_may_see = _privacy_params(visible_privacies(Relationship.FRIEND))
    friends = await friend_ids(db, viewer_id)
    if not friends:
        return []
    listed_by = set(await close_to(db, viewer_id))
    closer = [f for f in friends if f in listed_by]
    ask = [*friend_may_see, Privacy.CLOSE_FRIENDS.value, limit, *friends, *closer]
    first = 2 + len(friend_may_see) + 2  # $1 is the time bound
    marks = ", ".join(f"${first + i}" for i in range(len(friends)))
    close_marks = ", ".join(f"${first + len(friends) + i}" for i in range(len(closer)))
    # The close-friends value is always a parameter of the statement (PostgreSQL must see
    # every parameter it is given), matching nothing when no friend listed the viewer.
    only_close = f"user_id IN ({close_marks})" if closer else "1 = 0"
    only_close = f" OR (privacy = ${first - 2} AND {only_close})"
    slots = ", ".join(f"${2 + i}" for i in range(len(friend_may_see)))
    rows = await db.fetch(
        f"SELECT {_ENTRY_COLUMNS} FROM rm_mood_entries"
        f" WHERE user_id IN ({marks}) AND recorded_at_ms < $1"
        f" AND (privacy IN ({slots}){only_close})"
        f" ORDER BY recorded_at_ms DESC LIMIT ${first - 1}",
        before_ms if before_ms is not None else 2**62,
        *ask,
    )
    return [_entry(r) for r in rows]


async def recent_visible(
    db: SqlDatabase, *, viewer_id: UserId, owner_id: UserId, limit: int
) -> list[MoodEntryView]:
    allowed = visible_privacies(await relationship(db, viewer_id, owner_id))
    if not allowed:
        return []
    rows = await db.fetch(
        f"SELECT {_ENTRY_COLUMNS} FROM rm_mood_entries WHERE user_id = $1"
        " AND privacy IN ($2, $3, $4, $5) ORDER BY recorded_at_ms DESC LIMIT $6",
        owner_id,
        *_privacy_params(allowed),
        limit,
    )
    return [_entry(r) for r in rows]


MAX_CHANGES = 1000


@dataclass(frozen=True, slots=True)
class MoodChanges:
    """The owner's entries changed after a cursor, and the ids deleted since, for sync."""

    entries: list[MoodEntryView]
    deleted_ids: list[str]
    cursor: int
    """The log position to ask from next time."""
    has_more: bool


async def my_mood_changes(
    db: SqlDatabase, *, user_id: UserId, after: int, limit: int
) -> MoodChanges:
    """A device downloads what the user's other devices recorded: entries ordered by the log
    position of their last change, so nothing changed after `cursor` is ever missed."""
    if not 1 <= limit <= MAX_CHANGES:
        raise ValidationFailed(f"limit must be between 1 and {MAX_CHANGES}", field="limit")
    rows = await db.fetch(
        f"SELECT {_ENTRY_COLUMNS}, changed_position FROM rm_mood_entries"
        " WHERE user_id = $1 AND changed_position > $2 ORDER BY changed_position LIMIT $3",
        user_id,
        after,
        limit + 1,
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    cursor = int(rows[-1][12]) if rows else after
    upper = cursor if has_more else 2**62
    deleted = await db.fetch(
        "SELECT entry_id, deleted_position FROM rm_mood_tombstones"
        " WHERE user_id = $1 AND deleted_position > $2 AND deleted_position <= $3"
        " ORDER BY deleted_position",
        user_id,
        after,
        upper,
    )
    if deleted and not has_more:
        cursor = max(cursor, int(deleted[-1][1]))
    return MoodChanges([_entry(r) for r in rows], [str(r[0]) for r in deleted], cursor, has_more)


# --- the tables, and the projection that fills them from the log ---------------------------

MOOD_ENTRIES_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_mood_entries (
    entry_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    mood_type TEXT NOT NULL,
    intensity DOUBLE PRECISION NOT NULL,
    note TEXT,
    context_factors TEXT NOT NULL,
    privacy TEXT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    insights TEXT,
    changed_position BIGINT NOT NULL DEFAULT 0
);
-- Covers the history aggregation: owner and time, then what each bucket sums.
CREATE INDEX IF NOT EXISTS rm_mood_entries_history
    ON rm_mood_entries (user_id, recorded_at_ms, privacy, mood_type, intensity);
CREATE INDEX IF NOT EXISTS rm_mood_entries_user_changes
    ON rm_mood_entries (user_id, changed_position);
CREATE TABLE IF NOT EXISTS rm_mood_tombstones (
    entry_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    deleted_position BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_mood_tombstones_user
    ON rm_mood_tombstones (user_id, deleted_position);
"""


MOOD_PHOTOS_SCHEMA = """
-- The photo on a check-in (at most one); gone with the entry.
CREATE TABLE IF NOT EXISTS rm_mood_photos (
    entry_id TEXT PRIMARY KEY,
    blob_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL
);
"""


class MoodEntriesProjection:
    name: str = "mood_entries"
    tables: tuple[str, ...] = ("rm_mood_entries", "rm_mood_tombstones", "rm_mood_photos")
    migrations: tuple[Migration, ...] = (
        Migration(1, "tables", MOOD_ENTRIES_SCHEMA),
        Migration(2, "photos", MOOD_PHOTOS_SCHEMA),
    )

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased":
            # An erased person is forgotten here (`privacy.keys`: their data key is gone).
            u = event.data["userId"]
            return [
                (
                    "DELETE FROM rm_mood_photos WHERE entry_id IN (SELECT entry_id FROM rm_mood_entries WHERE user_id = $1)",
                    (u,),
                ),
                ("DELETE FROM rm_mood_entries WHERE user_id = $1", (u,)),
                ("DELETE FROM rm_mood_tombstones WHERE user_id = $1", (u,)),
            ]
        d, at = event.data, to_epoch_ms(event.timestamp)
        match event.event_type:
            case "MoodRecorded":
                return [
                    (
                        "INSERT INTO rm_mood_entries (entry_id, user_id, mood_type, intensity, note,"
                        " context_factors, privacy, recorded_at_ms, created_at_ms, updated_at_ms,"
                        " insights, changed_position)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)"
                        " ON CONFLICT (entry_id) DO NOTHING",
                        (
                            d["entryId"],
                            d["ownerId"],
                            d["moodType"],
                            float(d["intensity"]),
                            Sealed(d["ownerId"], d["note"]),
                            Sealed(d["ownerId"], orjson.dumps(d["contextFactors"]).decode()),
                            d["privacy"],
                            d["recordedAtMs"],
                            at,
                            Sealed(d["ownerId"], _json_or_none(d.get("insights"))),
                            event.position,
                        ),
                    )
                ]
            case "MoodEdited":
                owner = str(event.user_id)  # an edit is always its owner's
                return [
                    (
                        "UPDATE rm_mood_entries SET mood_type = $2, intensity = $3, note = $4,"
                        " context_factors = $5, privacy = $6, recorded_at_ms = $7,"
                        " updated_at_ms = $8, changed_position = $9 WHERE entry_id = $1",
                        (
                            d["entryId"],
                            d["moodType"],
                            float(d["intensity"]),
                            Sealed(owner, d["note"]),
                            Sealed(owner, orjson.dumps(d["contextFactors"]).decode()),
                            d["privacy"],
                            d["recordedAtMs"],
                            at,
                            event.position,
                        ),
                    )
                ]
            case "MoodDeleted":
                # The tombstone lets the owner's other devices learn of the delete (sync).
                return [
                    ("DELETE FROM rm_mood_entries WHERE entry_id = $1", (d["entryId"],)),
                    ("DELETE FROM rm_mood_photos WHERE entry_id = $1", (d["entryId"],)),
                    (
                        "INSERT INTO rm_mood_tombstones (entry_id, user_id, deleted_position)"
                        " VALUES ($1, $2, $3) ON CONFLICT (entry_id) DO NOTHING",
                        (d["entryId"], event.user_id or "", event.position),
                    ),
                ]
            case "MoodPhotoAttached":
                return [
                    (
                        "INSERT INTO rm_mood_photos (entry_id, blob_id, content_type, bytes)"
                        " VALUES ($1, $2, $3, $4) ON CONFLICT (entry_id) DO UPDATE SET"
                        " blob_id = excluded.blob_id, content_type = excluded.content_type,"
                        " bytes = excluded.bytes",
                        (d["entryId"], d["blobId"], d["contentType"], int(d["bytes"])),
                    )
                ]
            case "MoodPhotoRemoved":
                return [("DELETE FROM rm_mood_photos WHERE entry_id = $1", (d["entryId"],))]
        return []


def _json_or_none(value: object) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
