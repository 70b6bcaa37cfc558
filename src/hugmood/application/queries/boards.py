"""Boards a user is on, one board's detail with its members, and who may open its content."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hugmood.domain.boards import BoardRole, doc_stream_generation
from hugmood.domain.errors import NotFound
from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.ids import BoardId, UserId
from hugmood.sql.database import Row, SqlDatabase, Statement
from hugmood.sql.migrations import Migration
from hugmood.sql.sealed import Sealed

MAX_BOARDS = 200


@dataclass(frozen=True, slots=True)
class BoardView:
    board_id: BoardId
    owner_id: UserId
    title: str
    description: str
    archived: bool
    created_at_ms: int
    last_activity_ms: int
    item_count: int
    updates: int
    my_role: BoardRole


@dataclass(frozen=True, slots=True)
class MemberView:
    user_id: UserId
    role: BoardRole
    added_at_ms: int


_COLUMNS = (
    "b.board_id, b.owner_id, b.title, b.description, b.archived, b.created_at_ms,"
    " b.last_activity_ms, b.item_count, b.updates, m.role"
)


def _board(row: Row) -> BoardView:
    return BoardView(
        board_id=row[0],
        owner_id=row[1],
        title=row[2],
        description=row[3],
        archived=bool(row[4]),
        created_at_ms=int(row[5]),
        last_activity_ms=int(row[6]),
        item_count=int(row[7]),
        updates=int(row[8]),
        my_role=BoardRole(row[9]),
    )


async def boards_of(db: SqlDatabase, user_id: UserId, *, include_archived: bool) -> list[BoardView]:
    """The boards the user is a member of, most recently active first."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM rm_board_members m JOIN rm_boards b ON b.board_id = m.board_id"
        " WHERE m.user_id = $1 AND (b.archived = 0 OR $2 = 1)"
        " ORDER BY b.last_activity_ms DESC, b.board_id LIMIT $3",
        user_id,
        int(include_archived),
        MAX_BOARDS,
    )
    return [_board(r) for r in rows]


async def boards_shared_by(db: SqlDatabase, user_id: UserId, other_id: UserId) -> list[str]:
    """The ids of every board (archived too) both users are members of."""
    rows = await db.fetch(
        "SELECT a.board_id FROM rm_board_members a JOIN rm_board_members b"
        " ON b.board_id = a.board_id WHERE a.user_id = $1 AND b.user_id = $2"
        " ORDER BY a.board_id",
        user_id,
        other_id,
    )
    return [str(r[0]) for r in rows]


async def board_for(db: SqlDatabase, board_id: BoardId, user_id: UserId) -> BoardView:
    """One board as a member sees it; for anyone else it does not exist."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM rm_board_members m JOIN rm_boards b ON b.board_id = m.board_id"
        " WHERE m.board_id = $1 AND m.user_id = $2",
        board_id,
        user_id,
    )
    if row is None:
        raise NotFound("there is no such board, or you are not a member", field="id")
    return _board(row)


async def members(db: SqlDatabase, board_id: BoardId) -> list[MemberView]:
    rows = await db.fetch(
        "SELECT user_id, role, added_at_ms FROM rm_board_members WHERE board_id = $1"
        " ORDER BY added_at_ms, user_id",
        board_id,
    )
    return [MemberView(r[0], BoardRole(r[1]), int(r[2])) for r in rows]


async def content_position(db: SqlDatabase, board_id: BoardId) -> tuple[int, int]:
    """The current generation of the content and where its newest snapshot is on that
    generation's stream (0: none yet). The content store checks for a newer generation."""
    row = await db.fetchrow(
        "SELECT generation, snapshot_version FROM rm_boards WHERE board_id = $1", board_id
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def shared_boards(
    db: SqlDatabase, user_id: UserId, other_id: UserId
) -> list[tuple[str, str]]:
    """(board id, title) of the boards both are members of, not archived, newest activity
    first."""
    rows = await db.fetch(
        "SELECT b.board_id, b.title FROM rm_boards b"
        " JOIN rm_board_members m1 ON m1.board_id = b.board_id AND m1.user_id = $1"
        " JOIN rm_board_members m2 ON m2.board_id = b.board_id AND m2.user_id = $2"
        " WHERE b.archived = 0 ORDER BY b.last_activity_ms DESC LIMIT 20",
        user_id,
        other_id,
    )
    return [(str(r[0]), str(r[1])) for r in rows]


# --- the tables, and the projection that fills them from the log ---------------------------

BOARDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_boards (
    board_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    last_activity_ms BIGINT NOT NULL,
    item_count INTEGER NOT NULL DEFAULT 0,
    updates BIGINT NOT NULL DEFAULT 0,
    snapshot_version BIGINT NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rm_board_members (
    board_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    added_at_ms BIGINT NOT NULL,
    PRIMARY KEY (board_id, user_id)
);
CREATE INDEX IF NOT EXISTS rm_board_members_user ON rm_board_members (user_id);
"""


class BoardsProjection:
    name: str = "boards"
    tables: tuple[str, ...] = ("rm_boards", "rm_board_members")
    migrations: tuple[Migration, ...] = (Migration(1, "tables", BOARDS_SCHEMA),)

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased":
            # An erased person is forgotten here (`privacy.keys`: their data key is gone). One
            # who moved to another region took their boards along and stays a member, from
            # abroad, of the boards of people here.
            u = event.data["userId"]
            members = "board_id IN (SELECT board_id FROM rm_boards WHERE owner_id = $1)"
            if not event.data.get("movedTo"):
                members = f"user_id = $1 OR {members}"
            return [
                (f"DELETE FROM rm_board_members WHERE {members}", (u,)),
                ("DELETE FROM rm_boards WHERE owner_id = $1", (u,)),
            ]
        d, at = event.data, to_epoch_ms(event.timestamp)
        match event.event_type:
            case "BoardCreated":
                return [
                    (
                        "INSERT INTO rm_boards (board_id, owner_id, title, description,"
                        " created_at_ms, last_activity_ms) VALUES ($1, $2, $3, $4, $5, $5)"
                        " ON CONFLICT (board_id) DO NOTHING",
                        (
                            d["boardId"],
                            d["ownerId"],
                            Sealed(d["ownerId"], d["title"]),
                            Sealed(d["ownerId"], d["description"]),
                            at,
                        ),
                    ),
                    _member(d["boardId"], d["ownerId"], "owner", at),
                ]
            case "BoardMemberAdded" | "BoardMemberRoleChanged":
                return [_member(d["boardId"], d["memberId"], d["role"], at), _touch(d, at)]
            case "BoardMemberRemoved":
                return [
                    (
                        "DELETE FROM rm_board_members WHERE board_id = $1 AND user_id = $2",
                        (d["boardId"], d["memberId"]),
                    ),
                    _touch(d, at),
                ]
            case "BoardArchived":
                return [
                    ("UPDATE rm_boards SET archived = 1 WHERE board_id = $1", (d["boardId"],)),
                    _touch(d, at),
                ]
            case "BoardContentUpdated":
                return [
                    (
                        "UPDATE rm_boards SET item_count = $2, updates = updates + 1,"
                        " last_activity_ms = $3 WHERE board_id = $1",
                        (d["boardId"], int(d["itemCount"]), at),
                    )
                ]
            case "BoardContentCompacted":
                # Where loading the content starts (the newest snapshot of the current
                # generation wins), and the exact count: an update's count is what the
                # process that stored it had seen.
                return [
                    (
                        "UPDATE rm_boards SET snapshot_version = $2, item_count = $3"
                        " WHERE board_id = $1 AND generation = $4 AND snapshot_version < $2",
                        (
                            d["boardId"],
                            event.stream_version,
                            int(d["itemCount"]),
                            doc_stream_generation(event.stream_id),
                        ),
                    )
                ]
            case "BoardContentRebased":
                return [
                    (
                        "UPDATE rm_boards SET generation = $2, snapshot_version = $3,"
                        " item_count = $4 WHERE board_id = $1 AND generation < $2",
                        (
                            d["boardId"],
                            doc_stream_generation(event.stream_id),
                            event.stream_version,
                            int(d["itemCount"]),
                        ),
                    )
                ]
        return []


def _member(board_id: BoardId, user_id: UserId, role: str, at: int) -> Statement:
    return (
        "INSERT INTO rm_board_members (board_id, user_id, role, added_at_ms)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (board_id, user_id) DO UPDATE SET role = excluded.role",
        (board_id, user_id, role, at),
    )


def _touch(d: Mapping[str, Any], at: int) -> Statement:
    return ("UPDATE rm_boards SET last_activity_ms = $2 WHERE board_id = $1", (d["boardId"], at))
