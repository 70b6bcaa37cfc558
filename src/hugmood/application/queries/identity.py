"""Who a session token belongs to, and account profiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hugmood.domain.privacy import Privacy
from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.ids import SessionId, UserId
from hugmood.sql.database import Row, SqlDatabase, Statement
from hugmood.sql.migrations import Migration
from hugmood.sql.sealed import Sealed


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: UserId
    session_id: SessionId
    handle: str


@dataclass(frozen=True, slots=True)
class AccountView:
    user_id: UserId
    handle: str
    display_name: str
    bio: str
    home_region: str
    default_visibility: Privacy
    registered_at_ms: int
    appear_offline: bool


_ACCOUNT_COLUMNS = (
    "user_id, handle, display_name, bio, home_region, default_visibility, registered_at_ms,"
    " appear_offline"
)


def _account(row: Row) -> AccountView:
    return AccountView(
        user_id=row[0],
        handle=row[1],
        display_name=row[2],
        bio=row[3],
        home_region=row[4],
        default_visibility=Privacy(row[5]),
        registered_at_ms=int(row[6]),
        appear_offline=bool(row[7]),
    )


async def authenticate(db: SqlDatabase, token_hash: str, now_ms: int) -> Principal | None:
    row = await db.fetchrow(
        "SELECT s.user_id, s.session_id, a.handle FROM rm_sessions s"
        " JOIN rm_accounts a ON a.user_id = s.user_id"
        " WHERE s.token_hash = $1 AND s.ended = 0 AND s.expires_at_ms > $2",
        token_hash,
        now_ms,
    )
    return Principal(row[0], row[1], row[2]) if row else None


async def open_session_ids(db: SqlDatabase, user_id: UserId) -> list[str]:
    """The user's sessions not yet ended (expired ones included: ending them is harmless)."""
    rows = await db.fetch(
        "SELECT session_id FROM rm_sessions WHERE user_id = $1 AND ended = 0", user_id
    )
    return [str(row[0]) for row in rows]


@dataclass(frozen=True, slots=True)
class SessionView:
    session_id: SessionId
    device: str | None
    started_at_ms: int
    expires_at_ms: int


async def my_sessions(db: SqlDatabase, user_id: UserId, now_ms: int) -> list[SessionView]:
    """The user's sessions that still sign a device in, newest first."""
    rows = await db.fetch(
        "SELECT s.session_id, d.device, s.started_at_ms, s.expires_at_ms FROM rm_sessions s"
        " LEFT JOIN rm_session_devices d ON d.session_id = s.session_id"
        " WHERE s.user_id = $1 AND s.ended = 0 AND s.expires_at_ms > $2"
        " ORDER BY s.started_at_ms DESC, s.session_id",
        user_id,
        now_ms,
    )
    return [SessionView(str(r[0]), r[1], int(r[2]), int(r[3])) for r in rows]


async def live_sessions(db: SqlDatabase, token_hashes: list[str], now_ms: int) -> set[str]:
    """Which of these session token hashes still sign someone in (not ended, not expired)."""
    alive: set[str] = set()
    for start in range(0, len(token_hashes), 200):
        chunk = token_hashes[start : start + 200]
        marks = ", ".join(f"${i + 2}" for i in range(len(chunk)))
        rows = await db.fetch(
            "SELECT token_hash FROM rm_sessions"
            f" WHERE ended = 0 AND expires_at_ms > $1 AND token_hash IN ({marks})",
            now_ms,
            *chunk,
        )
        alive.update(row[0] for row in rows)
    return alive


async def account_by_id(db: SqlDatabase, user_id: UserId) -> AccountView | None:
    row = await db.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM rm_accounts WHERE user_id = $1", user_id
    )
    return _account(row) if row else None


async def account_by_handle(db: SqlDatabase, handle: str) -> AccountView | None:
    row = await db.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM rm_accounts WHERE handle = $1",
        handle.strip().removeprefix("@").lower(),
    )
    return _account(row) if row else await foreign_account_by_handle(db, handle)


async def accounts_by_ids(db: SqlDatabase, user_ids: list[str]) -> dict[str, AccountView]:
    """This region's accounts, and friends of its people who live in another region (as the
    directory names them: a handle, nothing more)."""
    found: dict[str, AccountView] = {}
    for start in range(0, len(user_ids), 200):
        chunk = user_ids[start : start + 200]
        marks = ", ".join(f"${i + 1}" for i in range(len(chunk)))
        rows = await db.fetch(
            f"SELECT {_ACCOUNT_COLUMNS} FROM rm_accounts WHERE user_id IN ({marks})", *chunk
        )
        found.update((r[0], _account(r)) for r in rows)
    missing = [u for u in user_ids if u not in found]
    for start in range(0, len(missing), 200):
        chunk = missing[start : start + 200]
        marks = ", ".join(f"${i + 1}" for i in range(len(chunk)))
        rows = await db.fetch(
            f"SELECT {_FOREIGN_COLUMNS} FROM rm_foreign_accounts WHERE user_id IN ({marks})",
            *chunk,
        )
        found.update((r[0], _foreign(r)) for r in rows)
    return found


async def foreign_account_by_handle(db: SqlDatabase, handle: str) -> AccountView | None:
    """A person of another region known here (a friend, or one asked to be)."""
    row = await db.fetchrow(
        f"SELECT {_FOREIGN_COLUMNS} FROM rm_foreign_accounts WHERE handle = $1",
        handle.strip().removeprefix("@").lower(),
    )
    return _foreign(row) if row else None


_FOREIGN_COLUMNS = "user_id, handle, region, listed_at_ms"


def _foreign(row: Row) -> AccountView:
    """Someone of another region: their handle stands for the name they chose, which stays
    in their region (a profile is read from there when it is opened)."""
    return AccountView(
        user_id=row[0],
        handle=row[1],
        display_name=row[1],
        bio="",
        home_region=row[2],
        default_visibility=Privacy.FRIENDS_ONLY,
        registered_at_ms=int(row[3]),
        appear_offline=False,
    )


async def default_visibility(db: SqlDatabase, user_id: UserId) -> str | None:
    """The privacy a user's check-ins get when they do not choose one (None: no such user)."""
    row = await db.fetchrow(
        "SELECT default_visibility FROM rm_accounts WHERE user_id = $1", user_id
    )
    return str(row[0]) if row else None


async def appearing_offline(db: SqlDatabase, user_ids: Sequence[str]) -> set[str]:
    """Those of `user_ids` who chose to appear offline."""
    if not user_ids:
        return set()
    marks = ", ".join(f"${i + 1}" for i in range(len(user_ids)))
    rows = await db.fetch(
        f"SELECT user_id FROM rm_accounts WHERE appear_offline = 1 AND user_id IN ({marks})",
        *user_ids,
    )
    return {str(r[0]) for r in rows}


# --- the tables, and the projection that fills them from the log ---------------------------

ACCOUNTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_accounts (
    user_id TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    home_region TEXT NOT NULL,
    default_visibility TEXT NOT NULL,
    registered_at_ms BIGINT NOT NULL,
    appear_offline INTEGER NOT NULL DEFAULT 0
);
"""

SESSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_sessions (
    session_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    ended INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS rm_sessions_user ON rm_sessions (user_id);
"""


SESSION_DEVICES_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_session_devices (
    session_id TEXT PRIMARY KEY,
    device TEXT NOT NULL
);
"""


class AccountsProjection:
    name: str = "accounts"
    tables: tuple[str, ...] = ("rm_accounts",)
    migrations: tuple[Migration, ...] = (Migration(1, "tables", ACCOUNTS_SCHEMA),)

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased":
            # An erased person is forgotten here (`privacy.keys`: their data key is gone).
            u = event.data["userId"]
            return [
                ("DELETE FROM rm_accounts WHERE user_id = $1", (u,)),
            ]
        d = event.data
        match event.event_type:
            case "UserRegistered":
                return [
                    (
                        "INSERT INTO rm_accounts (user_id, handle, display_name, bio, home_region,"
                        " default_visibility, registered_at_ms) VALUES ($1, $2, $3, '', $4, $5, $6)"
                        " ON CONFLICT (user_id) DO NOTHING",
                        (
                            d["userId"],
                            d["handle"],
                            Sealed(d["userId"], d["displayName"]),
                            d["homeRegion"],
                            d["defaultVisibility"],
                            to_epoch_ms(event.timestamp),
                        ),
                    )
                ]
            case "HomeRegionChanged":
                return [
                    (
                        "UPDATE rm_accounts SET home_region = $2 WHERE user_id = $1",
                        (d["userId"], d["homeRegion"]),
                    )
                ]
            case "ProfileUpdated":
                return [
                    (
                        "UPDATE rm_accounts SET display_name = $2, bio = $3, default_visibility = $4,"
                        " appear_offline = $5 WHERE user_id = $1",
                        (
                            d["userId"],
                            Sealed(d["userId"], d["displayName"]),
                            Sealed(d["userId"], d["bio"]),
                            d["defaultVisibility"],
                            int(d.get("appearOffline", False)),
                        ),
                    )
                ]
        return []


class SessionsProjection:
    name: str = "sessions"
    tables: tuple[str, ...] = ("rm_sessions", "rm_session_devices")
    migrations: tuple[Migration, ...] = (
        Migration(1, "tables", SESSIONS_SCHEMA),
        # Which device a session is on, for the list of sessions; a table of its own (not a
        # column added later) so that creating it is idempotent on SQLite and PostgreSQL alike.
        Migration(2, "devices", SESSION_DEVICES_SCHEMA),
    )

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased":
            # An erased person is forgotten here (`privacy.keys`: their data key is gone).
            u = event.data["userId"]
            return [
                (
                    "DELETE FROM rm_session_devices WHERE session_id IN (SELECT session_id FROM rm_sessions WHERE user_id = $1)",
                    (u,),
                ),
                ("DELETE FROM rm_sessions WHERE user_id = $1", (u,)),
            ]
        d = event.data
        match event.event_type:
            case "SessionStarted":
                return [
                    (
                        "INSERT INTO rm_sessions (session_id, token_hash, user_id, started_at_ms,"
                        " expires_at_ms, ended) VALUES ($1, $2, $3, $4, $5, 0)"
                        " ON CONFLICT (session_id) DO NOTHING",
                        (
                            d["sessionId"],
                            d["tokenHash"],
                            d["userId"],
                            to_epoch_ms(event.timestamp),
                            d["expiresAtMs"],
                        ),
                    ),
                    *(
                        [
                            (
                                "INSERT INTO rm_session_devices (session_id, device) VALUES ($1, $2)"
                                " ON CONFLICT (session_id) DO NOTHING",
                                (d["sessionId"], d["device"]),
                            )
                        ]
                        if d.get("device")
                        else []
                    ),
                ]
            case "SessionEnded":
                return [
                    ("UPDATE rm_sessions SET ended = 1 WHERE session_id = $1", (d["sessionId"],))
                ]
        return []


FOREIGN_ACCOUNTS_SCHEMA = """
-- People of other regions known here through a friendship across the border: what the
-- global directory says of them, nothing personal (their profile stays in their region).
CREATE TABLE IF NOT EXISTS rm_foreign_accounts (
    user_id TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL,
    listed_at_ms BIGINT NOT NULL
);
"""


class ForeignAccountsProjection:
    name: str = "foreign accounts"
    tables: tuple[str, ...] = ("rm_foreign_accounts",)
    migrations: tuple[Migration, ...] = (Migration(1, "tables", FOREIGN_ACCOUNTS_SCHEMA),)

    def statements(self, event: RecordedEvent) -> list[Statement]:
        d = event.data
        match event.event_type:
            case "ForeignAccountListed":
                return [
                    (
                        "INSERT INTO rm_foreign_accounts (user_id, handle, region, listed_at_ms)"
                        " VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
                        (d["userId"], d["handle"], d["region"], to_epoch_ms(event.timestamp)),
                    )
                ]
            case "ForeignAccountErased" | "HomeRegionChanged":
                # Erased abroad, or moved here from abroad: no longer a person of elsewhere.
                return [("DELETE FROM rm_foreign_accounts WHERE user_id = $1", (d["userId"],))]
        return []
