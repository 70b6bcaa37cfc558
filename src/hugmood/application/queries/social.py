"""How two users stand to each other, and a user's friends, requests and blocks."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.application.queries.identity import AccountView, accounts_by_ids
from hugmood.domain.privacy import Relationship
from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.ids import UserId
from hugmood.sql.database import SqlDatabase, Statement
from hugmood.sql.migrations import Migration


async def relationship(db: SqlDatabase, viewer_id: UserId, owner_id: UserId) -> Relationship:
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


async def connections(db: SqlDatabase, user_id: UserId, status: str) -> list[Connection]:
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


async def friend_ids(db: SqlDatabase, user_id: UserId) -> list[str]:
    """The user's friends, longest-standing first."""
    rows = await db.fetch(
        "SELECT other_id FROM rm_friendships WHERE user_id = $1 AND status = 'friends'"
        " ORDER BY since_ms, other_id",
        user_id,
    )
    return [str(r[0]) for r in rows]


async def friendship_status(db: SqlDatabase, user_id: UserId, other_id: UserId) -> str | None:
    """`friends`, `requested` (the user asked them), `incoming` (they asked), or None."""
    row = await db.fetchrow(
        "SELECT status FROM rm_friendships WHERE user_id = $1 AND other_id = $2",
        user_id,
        other_id,
    )
    return str(row[0]) if row else None


async def friend_count(db: SqlDatabase, user_id: UserId) -> int:
    row = await db.fetchrow(
        "SELECT COUNT(*) FROM rm_friendships WHERE user_id = $1 AND status = 'friends'", user_id
    )
    return int(row[0]) if row else 0


# --- the tables, and the projection that fills them from the log ---------------------------

FRIENDSHIPS_SCHEMA = """
-- One row per side of a relationship: status is 'friends', 'requested' (sent) or 'incoming'.
CREATE TABLE IF NOT EXISTS rm_friendships (
    user_id TEXT NOT NULL,
    other_id TEXT NOT NULL,
    status TEXT NOT NULL,
    since_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, other_id)
);
CREATE INDEX IF NOT EXISTS rm_friendships_status ON rm_friendships (user_id, status);
CREATE TABLE IF NOT EXISTS rm_blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    since_ms BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX IF NOT EXISTS rm_blocks_blocked ON rm_blocks (blocked_id);
"""


_UPSERT = (
    "INSERT INTO rm_friendships (user_id, other_id, status, since_ms) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (user_id, other_id) DO UPDATE SET status = excluded.status,"
    " since_ms = excluded.since_ms"
)
_DELETE_PAIR = (
    "DELETE FROM rm_friendships WHERE (user_id = $1 AND other_id = $2)"
    " OR (user_id = $2 AND other_id = $1)"
)


class FriendshipsProjection:
    name: str = "friendships"
    tables: tuple[str, ...] = ("rm_friendships", "rm_blocks")
    migrations: tuple[Migration, ...] = (Migration(1, "tables", FRIENDSHIPS_SCHEMA),)

    def statements(self, event: RecordedEvent) -> list[Statement]:
        d, at = event.data, to_epoch_ms(event.timestamp)
        match event.event_type:
            case "FriendRequested":
                a, b = d["requesterId"], d["addresseeId"]
                return [(_UPSERT, (a, b, "requested", at)), (_UPSERT, (b, a, "incoming", at))]
            case "FriendRequestAccepted":
                a, b = d["requesterId"], d["addresseeId"]
                return [(_UPSERT, (a, b, "friends", at)), (_UPSERT, (b, a, "friends", at))]
            case "FriendRequestDeclined" | "FriendRequestWithdrawn":
                return [(_DELETE_PAIR, (d["requesterId"], d["addresseeId"]))]
            case "FriendRemoved":
                return [(_DELETE_PAIR, (d["removerId"], d["removedId"]))]
            case "UserBlocked":
                a, b = d["blockerId"], d["blockedId"]
                return [
                    (_DELETE_PAIR, (a, b)),
                    (
                        "INSERT INTO rm_blocks (blocker_id, blocked_id, since_ms) VALUES ($1, $2, $3)"
                        " ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
                        (a, b, at),
                    ),
                ]
            case "UserUnblocked":
                return [
                    (
                        "DELETE FROM rm_blocks WHERE blocker_id = $1 AND blocked_id = $2",
                        (d["blockerId"], d["blockedId"]),
                    )
                ]
        return []
