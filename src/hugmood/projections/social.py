"""Friendships read model: both sides of every relationship, and blocks."""

from __future__ import annotations

from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.sql.database import Statement

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
