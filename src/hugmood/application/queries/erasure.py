"""Erasures: the deletions waiting out their grace period, and what an erasure must find that
no other read model keeps — every blob a person stored (also ones no longer shown) and every
board they were ever a member of (also ones they left), kept until the person is erased."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.eventstore.envelope import RecordedEvent
from hugmood.ids import UserId
from hugmood.sql.database import SqlDatabase, Statement
from hugmood.sql.migrations import Migration


@dataclass(frozen=True, slots=True)
class Traces:
    blobs: tuple[str, ...]
    """Blobs the person stored: mood photos, board images."""
    boards: tuple[str, ...]
    """Boards the person created or was added to, whether or not they are still on them."""


async def traces_of(db: SqlDatabase, user_id: UserId) -> Traces:
    blobs = await db.fetch(
        "SELECT blob_id FROM rm_uploads WHERE user_id = $1 ORDER BY blob_id", user_id
    )
    boards = await db.fetch(
        "SELECT board_id FROM rm_boards_joined WHERE user_id = $1 ORDER BY board_id", user_id
    )
    return Traces(tuple(str(r[0]) for r in blobs), tuple(str(r[0]) for r in boards))


async def deletion_due_at(db: SqlDatabase, user_id: UserId) -> int | None:
    """When the person's account is to be erased (epoch ms), if they scheduled it."""
    row = await db.fetchrow(
        "SELECT due_at_ms FROM rm_scheduled_erasures WHERE user_id = $1", user_id
    )
    return None if row is None else int(row[0])


async def due_erasures(db: SqlDatabase, now_ms: int, *, limit: int = 100) -> list[UserId]:
    """Accounts whose grace period is over, the longest overdue first."""
    rows = await db.fetch(
        "SELECT user_id FROM rm_scheduled_erasures WHERE due_at_ms <= $1"
        " ORDER BY due_at_ms LIMIT $2",
        now_ms,
        limit,
    )
    return [UserId(r[0]) for r in rows]


ERASURE_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_scheduled_erasures (
    user_id TEXT PRIMARY KEY,
    due_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_scheduled_erasures_due ON rm_scheduled_erasures (due_at_ms);
CREATE TABLE IF NOT EXISTS rm_uploads (
    user_id TEXT NOT NULL,
    blob_id TEXT NOT NULL,
    PRIMARY KEY (user_id, blob_id)
);
CREATE TABLE IF NOT EXISTS rm_boards_joined (
    user_id TEXT NOT NULL,
    board_id TEXT NOT NULL,
    PRIMARY KEY (user_id, board_id)
);
"""

_UPLOAD = "INSERT INTO rm_uploads (user_id, blob_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
_JOINED = "INSERT INTO rm_boards_joined (user_id, board_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"


class ErasuresProjection:
    name: str = "erasures"
    tables: tuple[str, ...] = ("rm_scheduled_erasures", "rm_uploads", "rm_boards_joined")
    migrations: tuple[Migration, ...] = (Migration(1, "tables", ERASURE_SCHEMA),)

    def statements(self, event: RecordedEvent) -> list[Statement]:
        d = event.data
        match event.event_type:
            case "UserErased":
                u = d["userId"]
                return [
                    ("DELETE FROM rm_scheduled_erasures WHERE user_id = $1", (u,)),
                    ("DELETE FROM rm_uploads WHERE user_id = $1", (u,)),
                    ("DELETE FROM rm_boards_joined WHERE user_id = $1", (u,)),
                ]
            case "AccountDeletionScheduled":
                return [
                    (
                        "INSERT INTO rm_scheduled_erasures (user_id, due_at_ms) VALUES ($1, $2)"
                        " ON CONFLICT (user_id) DO UPDATE SET due_at_ms = excluded.due_at_ms",
                        (d["userId"], d["dueAtMs"]),
                    )
                ]
            case "AccountDeletionCancelled":
                return [("DELETE FROM rm_scheduled_erasures WHERE user_id = $1", (d["userId"],))]
            case "MoodPhotoAttached":
                return [(_UPLOAD, (d["ownerId"], d["blobId"]))]
            case "BoardImageUploaded":
                return [(_UPLOAD, (d["uploadedBy"], d["blobId"]))]
            case "BoardCreated":
                return [(_JOINED, (d["ownerId"], d["boardId"]))]
            case "BoardMemberAdded":
                return [(_JOINED, (d["memberId"], d["boardId"]))]
            case _:
                return []
