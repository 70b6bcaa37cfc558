"""Reminder settings, the browsers that get them, and each account's e-mail address (private to
its owner): the tables, the projection that fills them, and the queries the scheduler and the
settings screen read."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from hugmood.eventstore.envelope import RecordedEvent
from hugmood.ids import UserId
from hugmood.sql.database import Row, SqlDatabase, Statement
from hugmood.sql.migrations import Migration
from hugmood.sql.sealed import Keyed, Sealed


@dataclass(frozen=True, slots=True)
class ReminderView:
    user_id: UserId
    enabled: bool
    time: str
    days: tuple[str, ...]
    time_zone: str
    by_push: bool
    by_email: bool
    last_sent: str | None
    quiet_days: int = 0
    """0: every chosen day; N: only after N days without a check-in."""


@dataclass(frozen=True, slots=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class EmailView:
    address: str | None
    """The verified address, if any."""
    pending: str | None
    """An address waiting for its code."""


_COLUMNS = "user_id, enabled, time, days, time_zone, by_push, by_email, last_sent, quiet_days"


def _reminder(row: Row) -> ReminderView:
    return ReminderView(
        user_id=row[0],
        enabled=bool(row[1]),
        time=row[2],
        days=tuple(orjson.loads(row[3])),
        time_zone=row[4],
        by_push=bool(row[5]),
        by_email=bool(row[6]),
        last_sent=row[7],
        quiet_days=int(row[8]),
    )


async def reminder(db: SqlDatabase, user_id: UserId) -> ReminderView | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM rm_reminders WHERE user_id = $1", user_id)
    return _reminder(row) if row else None


async def enabled_reminders(db: SqlDatabase) -> list[ReminderView]:
    """Every reminder that is on (the scheduler works out which are due)."""
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM rm_reminders WHERE enabled = 1")
    return [_reminder(r) for r in rows]


async def push_targets(db: SqlDatabase, user_id: UserId) -> list[PushTarget]:
    rows = await db.fetch(
        "SELECT endpoint, p256dh, auth FROM rm_push_subscriptions WHERE user_id = $1"
        " ORDER BY endpoint_key",
        user_id,
    )
    return [PushTarget(r[0], r[1], r[2]) for r in rows]


async def email(db: SqlDatabase, user_id: UserId) -> EmailView:
    row = await db.fetchrow("SELECT address, pending FROM rm_email WHERE user_id = $1", user_id)
    return EmailView(row[0], row[1]) if row else EmailView(None, None)


async def users_with_address(db: SqlDatabase, address: str) -> list[UserId]:
    """The accounts that proved this address (compared without regard to case)."""
    rows = await db.fetch(
        "SELECT user_id FROM rm_email WHERE address_key = $1 ORDER BY user_id",
        Keyed(address.lower()),
    )
    return [UserId(r[0]) for r in rows]


async def checked_in_between(db: SqlDatabase, user_id: UserId, start_ms: int, end_ms: int) -> bool:
    """Whether the person checked in for, or during, this stretch of time."""
    row = await db.fetchrow(
        "SELECT 1 FROM rm_mood_entries WHERE user_id = $1 AND ((recorded_at_ms >= $2 AND"
        " recorded_at_ms < $3) OR (created_at_ms >= $2 AND created_at_ms < $3)) LIMIT 1",
        user_id,
        start_ms,
        end_ms,
    )
    return row is not None


# --- the tables, and the projection that fills them from the log ---------------------------

REMINDERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_reminders (
    user_id TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL,
    time TEXT NOT NULL,
    days TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    by_push INTEGER NOT NULL,
    by_email INTEGER NOT NULL,
    last_sent TEXT
);
CREATE INDEX IF NOT EXISTS rm_reminders_enabled ON rm_reminders (enabled);
CREATE TABLE IF NOT EXISTS rm_push_subscriptions (
    user_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    PRIMARY KEY (user_id, endpoint)
);
CREATE TABLE IF NOT EXISTS rm_email (
    user_id TEXT PRIMARY KEY,
    address TEXT,
    address_key TEXT,
    pending TEXT
);
CREATE INDEX IF NOT EXISTS rm_email_address ON rm_email (address_key);
"""

SEALED_CONTACTS = """
DROP TABLE rm_push_subscriptions;
CREATE TABLE rm_push_subscriptions (
    user_id TEXT NOT NULL,
    endpoint_key TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    PRIMARY KEY (user_id, endpoint_key)
);
"""
"""A person's e-mail address and push subscriptions are sealed under their key, and found by
value through a blind index (`sql.sealed.Keyed`): the address and the endpoint are personal."""


class RemindersProjection:
    name: str = "reminders"
    tables: tuple[str, ...] = ("rm_reminders", "rm_push_subscriptions", "rm_email")
    migrations: tuple[Migration, ...] = (
        Migration(1, "tables", REMINDERS_SCHEMA),
        Migration(
            2,
            "quiet days",
            "ALTER TABLE rm_reminders ADD COLUMN quiet_days INTEGER NOT NULL DEFAULT 0",
        ),
        Migration(3, "sealed addresses and push subscriptions", SEALED_CONTACTS, rebuild=True),
    )

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased":
            # An erased person is forgotten here (`privacy.keys`: their data key is gone).
            u = event.data["userId"]
            return [
                ("DELETE FROM rm_reminders WHERE user_id = $1", (u,)),
                ("DELETE FROM rm_push_subscriptions WHERE user_id = $1", (u,)),
                ("DELETE FROM rm_email WHERE user_id = $1", (u,)),
            ]
        d = event.data
        match event.event_type:
            case "ReminderSet":
                return [
                    (
                        "INSERT INTO rm_reminders (user_id, enabled, time, days, time_zone,"
                        " by_push, by_email, quiet_days) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                        " ON CONFLICT (user_id) DO UPDATE SET enabled = excluded.enabled,"
                        " time = excluded.time, days = excluded.days,"
                        " time_zone = excluded.time_zone, by_push = excluded.by_push,"
                        " by_email = excluded.by_email, quiet_days = excluded.quiet_days",
                        (
                            d["userId"],
                            int(d["enabled"]),
                            d["time"],
                            orjson.dumps(d["days"]).decode(),
                            d["timeZone"],
                            int(d["byPush"]),
                            int(d["byEmail"]),
                            int(d.get("quietDays", 0)),
                        ),
                    )
                ]
            case "ReminderSent":
                return [
                    (
                        "UPDATE rm_reminders SET last_sent = $2 WHERE user_id = $1",
                        (d["userId"], d["localDate"]),
                    )
                ]
            case "PushSubscriptionAdded":
                return [
                    (
                        "INSERT INTO rm_push_subscriptions (user_id, endpoint_key, endpoint,"
                        " p256dh, auth) VALUES ($1, $2, $3, $4, $5)"
                        " ON CONFLICT (user_id, endpoint_key) DO UPDATE SET"
                        " p256dh = excluded.p256dh, auth = excluded.auth",
                        (
                            d["userId"],
                            Keyed(d["endpoint"]),
                            Sealed(d["userId"], d["endpoint"]),
                            Sealed(d["userId"], d["p256dh"]),
                            Sealed(d["userId"], d["auth"]),
                        ),
                    )
                ]
            case "PushSubscriptionRemoved":
                return [
                    (
                        "DELETE FROM rm_push_subscriptions WHERE user_id = $1"
                        " AND endpoint_key = $2",
                        (d["userId"], Keyed(d["endpoint"])),
                    )
                ]
            case "EmailAddressProposed":
                return [
                    (
                        "INSERT INTO rm_email (user_id, pending) VALUES ($1, $2)"
                        " ON CONFLICT (user_id) DO UPDATE SET pending = excluded.pending",
                        (d["userId"], Sealed(d["userId"], d["address"])),
                    )
                ]
            case "EmailAddressVerified":
                return [
                    (
                        "INSERT INTO rm_email (user_id, address, address_key, pending)"
                        " VALUES ($1, $2, $3, NULL) ON CONFLICT (user_id) DO UPDATE SET"
                        " address = excluded.address, address_key = excluded.address_key,"
                        " pending = NULL",
                        (
                            d["userId"],
                            Sealed(d["userId"], d["address"]),
                            Keyed(d["address"].lower()),
                        ),
                    )
                ]
            case "EmailAddressRemoved":
                return [("DELETE FROM rm_email WHERE user_id = $1", (d["userId"],))]
        return []
