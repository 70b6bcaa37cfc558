"""Who a session token belongs to, and account profiles."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.domain.privacy import Privacy
from hugmood.sql.database import Row, SqlDatabase


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: str
    session_id: str
    handle: str


@dataclass(frozen=True, slots=True)
class AccountView:
    user_id: str
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


async def open_session_ids(db: SqlDatabase, user_id: str) -> list[str]:
    """The user's sessions not yet ended (expired ones included: ending them is harmless)."""
    rows = await db.fetch(
        "SELECT session_id FROM rm_sessions WHERE user_id = $1 AND ended = 0", user_id
    )
    return [str(row[0]) for row in rows]


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


async def account_by_id(db: SqlDatabase, user_id: str) -> AccountView | None:
    row = await db.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM rm_accounts WHERE user_id = $1", user_id
    )
    return _account(row) if row else None


async def account_by_handle(db: SqlDatabase, handle: str) -> AccountView | None:
    row = await db.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM rm_accounts WHERE handle = $1",
        handle.strip().removeprefix("@").lower(),
    )
    return _account(row) if row else None


async def accounts_by_ids(db: SqlDatabase, user_ids: list[str]) -> dict[str, AccountView]:
    found: dict[str, AccountView] = {}
    for start in range(0, len(user_ids), 200):
        chunk = user_ids[start : start + 200]
        marks = ", ".join(f"${i + 1}" for i in range(len(chunk)))
        rows = await db.fetch(
            f"SELECT {_ACCOUNT_COLUMNS} FROM rm_accounts WHERE user_id IN ({marks})", *chunk
        )
        found.update((r[0], _account(r)) for r in rows)
    return found
