"""Hug inbox, sent hugs with their status, hug counts per friend, and hug settings."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from hugmood.application.queries.social import friend_ids
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.hugs import HugSettings, HugStatus, HugType
from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.ids import HugId, UserId
from hugmood.sql.database import Row, SqlDatabase, Statement
from hugmood.sql.migrations import Migration
from hugmood.sql.sealed import Sealed

MAX_LIST = 100


@dataclass(frozen=True, slots=True)
class HugView:
    hug_id: HugId
    sender_id: UserId
    recipient_id: UserId
    hug_type: HugType
    message: str | None
    status: HugStatus
    muted: bool
    sent_at_ms: int
    delivered_at_ms: int | None
    seen_at_ms: int | None


@dataclass(frozen=True, slots=True)
class HugCount:
    friend_id: str
    sent: int
    received: int


_COLUMNS = (
    "hug_id, sender_id, recipient_id, hug_type, message, status, muted, sent_at_ms,"
    " delivered_at_ms, seen_at_ms"
)


def _hug(row: Row) -> HugView:
    return HugView(
        hug_id=row[0],
        sender_id=row[1],
        recipient_id=row[2],
        hug_type=HugType(row[3]),
        message=row[4],
        status=HugStatus(row[5]),
        muted=bool(row[6]),
        sent_at_ms=int(row[7]),
        delivered_at_ms=None if row[8] is None else int(row[8]),
        seen_at_ms=None if row[9] is None else int(row[9]),
    )


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIST:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIST}", field="limit")


async def inbox(
    db: SqlDatabase, user_id: UserId, *, unseen_only: bool, limit: int
) -> list[HugView]:
    """Hugs received, newest first; withdrawn hugs are gone from the inbox."""
    _check_limit(limit)
    statuses = ("sent", "delivered") if unseen_only else ("sent", "delivered", "seen")
    a, b, c = (*statuses, "-")[:3]
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM rm_hugs WHERE recipient_id = $1 AND status IN ($2, $3, $4)"
        " ORDER BY sent_at_ms DESC LIMIT $5",
        user_id,
        a,
        b,
        c,
        limit,
    )
    return [_hug(r) for r in rows]


async def waiting(db: SqlDatabase, user_id: UserId, *, limit: int = MAX_LIST) -> list[HugView]:
    """Hugs no device of the recipient has shown yet (muted ones wait quietly), oldest first."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM rm_hugs WHERE recipient_id = $1 AND status = 'sent'"
        " AND muted = 0 ORDER BY sent_at_ms LIMIT $2",
        user_id,
        limit,
    )
    return [_hug(r) for r in rows]


async def sent_hugs(db: SqlDatabase, user_id: UserId, *, limit: int) -> list[HugView]:
    """Hugs sent, newest first, each with its status (sent, delivered, seen, withdrawn)."""
    _check_limit(limit)
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM rm_hugs WHERE sender_id = $1 ORDER BY sent_at_ms DESC LIMIT $2",
        user_id,
        limit,
    )
    return [_hug(r) for r in rows]


DELETED_ACCOUNT = UserId("deleted")
"""Who is on the other side of a hug once that person's account was erased (no user id
looks like this: they are UUIDs)."""


async def hug(db: SqlDatabase, hug_id: HugId) -> HugView | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM rm_hugs WHERE hug_id = $1", hug_id)
    return _hug(row) if row else None


async def hug_counts(db: SqlDatabase, user_id: UserId) -> list[HugCount]:
    """Per current friend: hugs sent to them and received from them (withdrawn not counted)."""
    friends = await friend_ids(db, user_id)
    if not friends:
        return []
    sent = await db.fetch(
        "SELECT recipient_id, COUNT(*) FROM rm_hugs WHERE sender_id = $1"
        " AND status <> 'withdrawn' GROUP BY recipient_id",
        user_id,
    )
    received = await db.fetch(
        "SELECT sender_id, COUNT(*) FROM rm_hugs WHERE recipient_id = $1"
        " AND status <> 'withdrawn' GROUP BY sender_id",
        user_id,
    )
    to, by = {r[0]: int(r[1]) for r in sent}, {r[0]: int(r[1]) for r in received}
    return [HugCount(f, to.get(f, 0), by.get(f, 0)) for f in friends]


async def hug_settings(db: SqlDatabase, user_id: UserId) -> HugSettings:
    row = await db.fetchrow(
        "SELECT accepted_types, muted_ids FROM rm_hug_settings WHERE user_id = $1", user_id
    )
    if row is None:
        return HugSettings()
    return HugSettings(
        frozenset(HugType(t) for t in orjson.loads(row[0])), frozenset(orjson.loads(row[1]))
    )


# --- the tables, and the projection that fills them from the log ---------------------------

HUGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_hugs (
    hug_id TEXT PRIMARY KEY,
    sender_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    hug_type TEXT NOT NULL,
    message TEXT,
    muted INTEGER NOT NULL,
    status TEXT NOT NULL,
    sent_at_ms BIGINT NOT NULL,
    delivered_at_ms BIGINT,
    seen_at_ms BIGINT,
    withdrawn_at_ms BIGINT
);
CREATE INDEX IF NOT EXISTS rm_hugs_inbox ON rm_hugs (recipient_id, sent_at_ms);
CREATE INDEX IF NOT EXISTS rm_hugs_sent ON rm_hugs (sender_id, sent_at_ms);
CREATE TABLE IF NOT EXISTS rm_hug_settings (
    user_id TEXT PRIMARY KEY,
    accepted_types TEXT NOT NULL,
    muted_ids TEXT NOT NULL
);
"""


class HugsProjection:
    name: str = "hugs"
    tables: tuple[str, ...] = ("rm_hugs", "rm_hug_settings")
    migrations: tuple[Migration, ...] = (Migration(1, "tables", HUGS_SCHEMA),)

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased" and event.data.get("movedTo"):
            return _moved_away(event.data["userId"])
        if event.event_type in ("UserErased", "ForeignAccountErased"):
            # An erased person is forgotten here (`privacy.keys`: their data key is gone), and
            # so is one of another region erased there.
            u = event.data["userId"]
            # Their friends keep the hugs they exchanged, with a deleted account on the other
            # side: nothing of the person (their id, their messages) is left on them.
            return [
                (
                    "UPDATE rm_hugs SET sender_id = $2, message = NULL WHERE sender_id = $1",
                    (u, DELETED_ACCOUNT),
                ),
                (
                    "UPDATE rm_hugs SET recipient_id = $2 WHERE recipient_id = $1",
                    (u, DELETED_ACCOUNT),
                ),
                ("DELETE FROM rm_hug_settings WHERE user_id = $1", (u,)),
            ]
        d, at = event.data, to_epoch_ms(event.timestamp)
        match event.event_type:
            case "HugSent":
                return [
                    (
                        "INSERT INTO rm_hugs (hug_id, sender_id, recipient_id, hug_type, message,"
                        " muted, status, sent_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 'sent', $7)"
                        " ON CONFLICT (hug_id) DO NOTHING",
                        (
                            d["hugId"],
                            d["senderId"],
                            d["recipientId"],
                            d["hugType"],
                            Sealed(d["senderId"], d.get("message")),
                            int(d["muted"]),
                            at,
                        ),
                    )
                ]
            case "HugDelivered":
                return [
                    (
                        "UPDATE rm_hugs SET status = 'delivered', delivered_at_ms = $2"
                        " WHERE hug_id = $1 AND status = 'sent'",
                        (d["hugId"], at),
                    )
                ]
            case "HugSeen":
                return [
                    (
                        "UPDATE rm_hugs SET status = 'seen', seen_at_ms = $2,"
                        " delivered_at_ms = COALESCE(delivered_at_ms, $2) WHERE hug_id = $1",
                        (d["hugId"], at),
                    )
                ]
            case "HugWithdrawn":
                return [
                    (
                        "UPDATE rm_hugs SET status = 'withdrawn', withdrawn_at_ms = $2"
                        " WHERE hug_id = $1",
                        (d["hugId"], at),
                    )
                ]
            case "HugSettingsChanged":
                return [
                    (
                        "INSERT INTO rm_hug_settings (user_id, accepted_types, muted_ids)"
                        " VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET"
                        " accepted_types = excluded.accepted_types, muted_ids = excluded.muted_ids",
                        (
                            d["userId"],
                            orjson.dumps(d["acceptedTypes"]).decode(),
                            orjson.dumps(d["mutedIds"]).decode(),
                        ),
                    )
                ]
        return []


def _moved_away(u: str) -> list[Statement]:
    """A person who moved to another region keeps their hugs with the people here, as any
    friend abroad does: their messages are read from their new region (the copies here were
    sealed under the key destroyed by the move). Hugs with people of other regions go."""
    abroad = "SELECT user_id FROM rm_foreign_accounts"
    return [
        ("UPDATE rm_hugs SET message = NULL WHERE sender_id = $1", (u,)),
        (
            f"DELETE FROM rm_hugs WHERE (sender_id = $1 AND recipient_id IN ({abroad}))"
            f" OR (recipient_id = $1 AND sender_id IN ({abroad}))",
            (u,),
        ),
        ("DELETE FROM rm_hug_settings WHERE user_id = $1", (u,)),
    ]
