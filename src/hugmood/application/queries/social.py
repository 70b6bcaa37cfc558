"""How two users stand to each other, and a user's friends, requests and blocks."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.application.queries.identity import AccountView, accounts_by_ids
from hugmood.domain.privacy import Relationship
from hugmood.sql.database import SqlDatabase


async def relationship(db: SqlDatabase, viewer_id: str, owner_id: str) -> Relationship:
    """The viewer's relationship to the owner; a block in either direction hides everything."""
    if viewer_id == owner_id:
        return Relationship.SELF
    row = await db.fetchrow(
        "SELECT"
        " (SELECT COUNT(*) FROM rm_blocks WHERE (blocker_id = $1 AND blocked_id = $2)"
        "   OR (blocker_id = $2 AND blocked_id = $1)),"
        " (SELECT status FROM rm_friendships WHERE user_id = $1 AND other_id = $2)",
        viewer_id,
        owner_id,
    )
    if row is None:
        return Relationship.STRANGER
    if row[0]:
        return Relationship.BLOCKED
    return Relationship.FRIEND if row[1] == "friends" else Relationship.STRANGER


@dataclass(frozen=True, slots=True)
class Connection:
    account: AccountView
    status: str
    """`friends`, `requested` (the user asked them), `incoming` (they asked) or `blocked`."""
    since_ms: int


async def connections(db: SqlDatabase, user_id: str, status: str) -> list[Connection]:
    if status == "blocked":
        rows = await db.fetch(
            "SELECT blocked_id, since_ms FROM rm_blocks WHERE blocker_id = $1 ORDER BY since_ms",
            user_id,
        )
    else:
        rows = await db.fetch(
            "SELECT other_id, since_ms FROM rm_friendships WHERE user_id = $1 AND status = $2"
            " ORDER BY since_ms",
            user_id,
            status,
        )
    accounts = await accounts_by_ids(db, [r[0] for r in rows])
    return [Connection(accounts[r[0]], status, int(r[1])) for r in rows if r[0] in accounts]


async def friend_count(db: SqlDatabase, user_id: str) -> int:
    row = await db.fetchrow(
        "SELECT COUNT(*) FROM rm_friendships WHERE user_id = $1 AND status = 'friends'", user_id
    )
    return int(row[0]) if row else 0
