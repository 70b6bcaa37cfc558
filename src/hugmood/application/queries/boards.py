"""Boards a user is on, one board's detail with its members, and who may open its content."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.domain.boards import BoardRole
from hugmood.domain.errors import NotFound
from hugmood.sql.database import Row, SqlDatabase

MAX_BOARDS = 200


@dataclass(frozen=True, slots=True)
class BoardView:
    board_id: str
    owner_id: str
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
    user_id: str
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


async def boards_of(db: SqlDatabase, user_id: str, *, include_archived: bool) -> list[BoardView]:
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


async def boards_shared_by(db: SqlDatabase, user_id: str, other_id: str) -> list[str]:
    """The ids of every board (archived too) both users are members of."""
    rows = await db.fetch(
        "SELECT a.board_id FROM rm_board_members a JOIN rm_board_members b"
        " ON b.board_id = a.board_id WHERE a.user_id = $1 AND b.user_id = $2"
        " ORDER BY a.board_id",
        user_id,
        other_id,
    )
    return [str(r[0]) for r in rows]


async def board_for(db: SqlDatabase, board_id: str, user_id: str) -> BoardView:
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


async def members(db: SqlDatabase, board_id: str) -> list[MemberView]:
    rows = await db.fetch(
        "SELECT user_id, role, added_at_ms FROM rm_board_members WHERE board_id = $1"
        " ORDER BY added_at_ms, user_id",
        board_id,
    )
    return [MemberView(r[0], BoardRole(r[1]), int(r[2])) for r in rows]


async def content_position(db: SqlDatabase, board_id: str) -> tuple[int, int]:
    """The current generation of the content and where its newest snapshot is on that
    generation's stream (0: none yet). The content store checks for a newer generation."""
    row = await db.fetchrow(
        "SELECT generation, snapshot_version FROM rm_boards WHERE board_id = $1", board_id
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)
