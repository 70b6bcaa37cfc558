"""Accounts and sessions read models: profiles, and who a session token belongs to."""

from __future__ import annotations

from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.sql.database import Statement


class AccountsProjection:
    name: str = "accounts"
    tables: tuple[str, ...] = ("rm_accounts",)

    def statements(self, event: RecordedEvent) -> list[Statement]:
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
                            d["displayName"],
                            d["homeRegion"],
                            d["defaultVisibility"],
                            to_epoch_ms(event.timestamp),
                        ),
                    )
                ]
            case "ProfileUpdated":
                return [
                    (
                        "UPDATE rm_accounts SET display_name = $2, bio = $3, default_visibility = $4,"
                        " appear_offline = $5 WHERE user_id = $1",
                        (
                            d["userId"],
                            d["displayName"],
                            d["bio"],
                            d["defaultVisibility"],
                            int(d.get("appearOffline", False)),
                        ),
                    )
                ]
        return []


class SessionsProjection:
    name: str = "sessions"
    tables: tuple[str, ...] = ("rm_sessions",)

    def statements(self, event: RecordedEvent) -> list[Statement]:
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
                    )
                ]
            case "SessionEnded":
                return [
                    ("UPDATE rm_sessions SET ended = 1 WHERE session_id = $1", (d["sessionId"],))
                ]
        return []
