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
        " (SELECT status FROM rm_friendships WHERE user_id = $1 AND other_id = $2),"
        " (SELECT COUNT(*) FROM rm_close_friends WHERE owner_id = $2 AND friend_id = $1)",
        viewer_id,
        owner_id,
    )
    if row is None:
        return Relationship.STRANGER
    if row[0]:
        return Relationship.BLOCKED
    if row[1] != "friends":
        # A close-friends row outliving its friendship (it is removed with it) shows nothing.
        return Relationship.STRANGER
    return Relationship.CLOSE_FRIEND if row[2] else Relationship.FRIEND


async def close_to(db: SqlDatabase, friend_id: UserId) -> list[str]:
    """The owners who put `friend_id` on their close-friends list."""
    rows = await db.fetch(
        "SELECT owner_id FROM rm_close_friends WHERE friend_id = $1 ORDER BY owner_id", friend_id
    )
    return [str(r[0]) for r in rows]


async def close_friend_ids(db: SqlDatabase, user_id: UserId) -> list[str]:
    """The friends on the user's close-friends list who are still friends."""
    rows = await db.fetch(
        "SELECT c.friend_id FROM rm_close_friends c JOIN rm_friendships f"
        " ON f.user_id = c.owner_id AND f.other_id = c.friend_id AND f.status = 'friends'"
        " WHERE c.owner_id = $1 ORDER BY c.since_ms, c.friend_id",
        user_id,
    )
    return [str(r[0]) for r in rows]


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


@dataclass(frozen=True, slots=True)
class Suggestion:
    account: AccountView
    mutual_friends: int


_FRIENDS_OF_FRIENDS = """
WITH RECURSIVE reach (person, depth, via) AS (
    SELECT other_id, 1, other_id FROM rm_friendships WHERE user_id = $1 AND status = 'friends'
    UNION ALL
    SELECT f.other_id, reach.depth + 1, reach.via
    FROM reach JOIN rm_friendships f ON f.user_id = reach.person AND f.status = 'friends'
    WHERE reach.depth < 2
)
SELECT person, COUNT(DISTINCT via) AS mutual FROM reach
WHERE depth = 2 AND person <> $1
  AND NOT EXISTS (SELECT 1 FROM rm_friendships o WHERE o.user_id = $1 AND o.other_id = person)
  AND NOT EXISTS (
      SELECT 1 FROM rm_blocks b
      WHERE (b.blocker_id = $1 AND b.blocked_id = person)
         OR (b.blocker_id = person AND b.blocked_id = $1))
GROUP BY person
ORDER BY mutual DESC, person
LIMIT $2
"""


async def people_you_may_know(db: SqlDatabase, user_id: UserId, limit: int) -> list[Suggestion]:
    """Friends of friends (depth two), most mutual friends first; never a friend, someone
    with a request pending either way, or someone blocked in either direction."""
    rows = await db.fetch(_FRIENDS_OF_FRIENDS, user_id, limit)
    accounts = await accounts_by_ids(db, [str(r[0]) for r in rows])
    return [Suggestion(accounts[r[0]], int(r[1])) for r in rows if r[0] in accounts]


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

CLOSE_FRIENDS_SCHEMA = """
-- Who each owner put on their close-friends list (only while they are friends).
CREATE TABLE IF NOT EXISTS rm_close_friends (
    owner_id TEXT NOT NULL,
    friend_id TEXT NOT NULL,
    since_ms BIGINT NOT NULL,
    PRIMARY KEY (owner_id, friend_id)
);
CREATE INDEX IF NOT EXISTS rm_close_friends_friend ON rm_close_friends (friend_id);
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
_DELETE_CLOSE_PAIR = (
    "DELETE FROM rm_close_friends WHERE (owner_id = $1 AND friend_id = $2)"
    " OR (owner_id = $2 AND friend_id = $1)"
)


class FriendshipsProjection:
    name: str = "friendships"
    tables: tuple[str, ...] = ("rm_friendships", "rm_blocks", "rm_close_friends")
    migrations: tuple[Migration, ...] = (
        Migration(1, "tables", FRIENDSHIPS_SCHEMA),
        Migration(2, "close friends", CLOSE_FRIENDS_SCHEMA),
    )

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased" and event.data.get("movedTo"):
            return _moved_away(event.data["userId"])
        if event.event_type in ("UserErased", "ForeignAccountErased"):
            # An erased person is forgotten here (`privacy.keys`: their data key is gone), and
            # so is one of another region erased there.
            u = event.data["userId"]
            return [
                ("DELETE FROM rm_friendships WHERE user_id = $1 OR other_id = $1", (u,)),
                ("DELETE FROM rm_blocks WHERE blocker_id = $1 OR blocked_id = $1", (u,)),
                ("DELETE FROM rm_close_friends WHERE owner_id = $1 OR friend_id = $1", (u,)),
            ]
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
                pair = (d["removerId"], d["removedId"])
                return [(_DELETE_PAIR, pair), (_DELETE_CLOSE_PAIR, pair)]
            case "UserBlocked":
                a, b = d["blockerId"], d["blockedId"]
                return [
                    (_DELETE_PAIR, (a, b)),
                    (_DELETE_CLOSE_PAIR, (a, b)),
                    (
                        "INSERT INTO rm_blocks (blocker_id, blocked_id, since_ms) VALUES ($1, $2, $3)"
                        " ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
                        (a, b, at),
                    ),
                ]
            case "CloseFriendAdded":
                return [
                    (
                        "INSERT INTO rm_close_friends (owner_id, friend_id, since_ms)"
                        " VALUES ($1, $2, $3) ON CONFLICT (owner_id, friend_id) DO NOTHING",
                        (d["userId"], d["friendId"], at),
                    )
                ]
            case "CloseFriendRemoved":
                return [
                    (
                        "DELETE FROM rm_close_friends WHERE owner_id = $1 AND friend_id = $2",
                        (d["userId"], d["friendId"]),
                    )
                ]
            case "UserUnblocked":
                return [
                    (
                        "DELETE FROM rm_blocks WHERE blocker_id = $1 AND blocked_id = $2",
                        (d["blockerId"], d["blockedId"]),
                    )
                ]
        return []


_ABROAD = "SELECT user_id FROM rm_foreign_accounts"


def _moved_away(u: str) -> list[Statement]:
    """A person who moved to another region stays a friend (and close friend, and blocked or
    blocking) of the people here, now abroad; their own close-friends list went with them,
    and what they had with people of other regions is no business of this one."""
    return [
        ("DELETE FROM rm_close_friends WHERE owner_id = $1", (u,)),
        (
            f"DELETE FROM rm_friendships WHERE (user_id = $1 AND other_id IN ({_ABROAD}))"
            f" OR (other_id = $1 AND user_id IN ({_ABROAD}))",
            (u,),
        ),
        (
            f"DELETE FROM rm_blocks WHERE (blocker_id = $1 AND blocked_id IN ({_ABROAD}))"
            f" OR (blocked_id = $1 AND blocker_id IN ({_ABROAD}))",
            (u,),
        ),
        (f"DELETE FROM rm_close_friends WHERE friend_id = $1 AND owner_id IN ({_ABROAD})", (u,)),
    ]
