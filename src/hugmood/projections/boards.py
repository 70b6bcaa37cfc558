"""Boards read model: each board's title, members and roles, item count and last activity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hugmood.domain.boards import doc_stream_generation
from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.sql.database import Statement


class BoardsProjection:
    name: str = "boards"
    tables: tuple[str, ...] = ("rm_boards", "rm_board_members")

    def statements(self, event: RecordedEvent) -> list[Statement]:
        d, at = event.data, to_epoch_ms(event.timestamp)
        match event.event_type:
            case "BoardCreated":
                return [
                    (
                        "INSERT INTO rm_boards (board_id, owner_id, title, description,"
                        " created_at_ms, last_activity_ms) VALUES ($1, $2, $3, $4, $5, $5)"
                        " ON CONFLICT (board_id) DO NOTHING",
                        (d["boardId"], d["ownerId"], d["title"], d["description"], at),
                    ),
                    _member(d["boardId"], d["ownerId"], "owner", at),
                ]
            case "BoardMemberAdded" | "BoardMemberRoleChanged":
                return [_member(d["boardId"], d["memberId"], d["role"], at), _touch(d, at)]
            case "BoardMemberRemoved":
                return [
                    (
                        "DELETE FROM rm_board_members WHERE board_id = $1 AND user_id = $2",
                        (d["boardId"], d["memberId"]),
                    ),
                    _touch(d, at),
                ]
            case "BoardArchived":
                return [
                    ("UPDATE rm_boards SET archived = 1 WHERE board_id = $1", (d["boardId"],)),
                    _touch(d, at),
                ]
            case "BoardContentUpdated":
                return [
                    (
                        "UPDATE rm_boards SET item_count = $2, updates = updates + 1,"
                        " last_activity_ms = $3 WHERE board_id = $1",
                        (d["boardId"], int(d["itemCount"]), at),
                    )
                ]
            case "BoardContentCompacted":
                # Where loading the content starts (the newest snapshot of the current
                # generation wins), and the exact count: an update's count is what the
                # process that stored it had seen.
                return [
                    (
                        "UPDATE rm_boards SET snapshot_version = $2, item_count = $3"
                        " WHERE board_id = $1 AND generation = $4 AND snapshot_version < $2",
                        (
                            d["boardId"],
                            event.stream_version,
                            int(d["itemCount"]),
                            doc_stream_generation(event.stream_id),
                        ),
                    )
                ]
            case "BoardContentRebased":
                return [
                    (
                        "UPDATE rm_boards SET generation = $2, snapshot_version = $3,"
                        " item_count = $4 WHERE board_id = $1 AND generation < $2",
                        (
                            d["boardId"],
                            doc_stream_generation(event.stream_id),
                            event.stream_version,
                            int(d["itemCount"]),
                        ),
                    )
                ]
        return []


def _member(board_id: str, user_id: str, role: str, at: int) -> Statement:
    return (
        "INSERT INTO rm_board_members (board_id, user_id, role, added_at_ms)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (board_id, user_id) DO UPDATE SET role = excluded.role",
        (board_id, user_id, role, at),
    )


def _touch(d: Mapping[str, Any], at: int) -> Statement:
    return ("UPDATE rm_boards SET last_activity_ms = $2 WHERE board_id = $1", (d["boardId"], at))
