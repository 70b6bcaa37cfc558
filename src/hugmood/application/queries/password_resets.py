"""Password reset requests: which wait for their mail, and which request a token's hash opens."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.ids import UserId
from hugmood.sql.database import SqlDatabase, Statement
from hugmood.sql.migrations import Migration


@dataclass(frozen=True, slots=True)
class PendingReset:
    request_id: str
    user_id: UserId


async def waiting_for_mail(db: SqlDatabase, *, limit: int = 50) -> list[PendingReset]:
    """Requests that named an account and whose link is not mailed yet, oldest first."""
    rows = await db.fetch(
        "SELECT request_id, user_id FROM rm_password_resets WHERE state = 'requested'"
        " ORDER BY requested_at_ms LIMIT $1",
        limit,
    )
    return [PendingReset(r[0], UserId(r[1])) for r in rows]


async def request_for_token(db: SqlDatabase, token_hash: str) -> str | None:
    row = await db.fetchrow(
        "SELECT request_id FROM rm_password_resets WHERE token_hash = $1", token_hash
    )
    return None if row is None else str(row[0])


RESET_REQUESTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_password_resets (
    request_id TEXT PRIMARY KEY,
    user_id TEXT,
    state TEXT NOT NULL,
    requested_at_ms BIGINT NOT NULL,
    token_hash TEXT
);
CREATE INDEX IF NOT EXISTS rm_password_resets_state ON rm_password_resets (state, requested_at_ms);
CREATE INDEX IF NOT EXISTS rm_password_resets_token ON rm_password_resets (token_hash);
"""


class PasswordResetsProjection:
    name: str = "password_resets"
    tables: tuple[str, ...] = ("rm_password_resets",)
    migrations: tuple[Migration, ...] = (Migration(1, "tables", RESET_REQUESTS_SCHEMA),)

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased":
            # An erased person is forgotten here (`privacy.keys`: their data key is gone).
            u = event.data["userId"]
            return [
                ("DELETE FROM rm_password_resets WHERE user_id = $1", (u,)),
            ]
        d = event.data
        match event.event_type:
            case "PasswordResetRequested":
                return [
                    (
                        "INSERT INTO rm_password_resets (request_id, user_id, state,"
                        " requested_at_ms) VALUES ($1, $2, $3, $4)"
                        " ON CONFLICT (request_id) DO NOTHING",
                        (
                            d["requestId"],
                            d["userId"],
                            "requested" if d["userId"] else "void",
                            to_epoch_ms(event.timestamp),
                        ),
                    )
                ]
            case "PasswordResetIssued":
                return [
                    (
                        "UPDATE rm_password_resets SET state = 'issued', token_hash = $2"
                        " WHERE request_id = $1",
                        (d["requestId"], d["tokenHash"]),
                    )
                ]
            case "PasswordResetUsed":
                return [
                    (
                        "UPDATE rm_password_resets SET state = 'used' WHERE request_id = $1",
                        (d["requestId"],),
                    )
                ]
        return []
