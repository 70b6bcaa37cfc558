"""The read side's heavier queries behind one port, so that an edge process can have workers
answer them over the service mesh (decision 0015) while a single process answers them itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from hugmood.application.queries import moods as mood_queries
from hugmood.domain.history import Aggregation
from hugmood.ids import BoardId, UserId
from hugmood.sql.database import SqlDatabase

History = list[mood_queries.MoodEntryView] | list[mood_queries.MoodBucket]


class BoardSnapshots(Protocol):
    """What a board snapshot needs of `boards.rooms.BoardRooms`."""

    async def snapshot(self, board_id: str) -> dict[str, Any]: ...


class HeavyReads(Protocol):
    async def mood_history(
        self,
        *,
        viewer_id: UserId,
        owner_id: UserId,
        start: datetime,
        end: datetime,
        aggregation: Aggregation,
        zone: ZoneInfo,
    ) -> History:
        """What `mood_queries.mood_history` answers: the owner's entries (or buckets) in
        [start, end) that the viewer may see. The caller has found the owner and checked that
        neither blocked the other; an implementation elsewhere checks again."""
        ...

    async def board_snapshot(self, *, viewer_id: UserId, board_id: BoardId) -> dict[str, Any]:
        """The board's content as JSON. The caller has checked that the viewer is a member;
        an implementation elsewhere checks again."""
        ...


class LocalReads:
    """`HeavyReads` answered in this process, from its read models and board rooms."""

    def __init__(self, db: SqlDatabase, boards: BoardSnapshots) -> None:
        self._db = db
        self._boards = boards

    async def mood_history(
        self,
        *,
        viewer_id: UserId,
        owner_id: UserId,
        start: datetime,
        end: datetime,
        aggregation: Aggregation,
        zone: ZoneInfo,
    ) -> History:
        return await mood_queries.mood_history(
            self._db,
            viewer_id=viewer_id,
            owner_id=owner_id,
            start=start,
            end=end,
            aggregation=aggregation,
            zone=zone,
        )

    async def board_snapshot(self, *, viewer_id: UserId, board_id: BoardId) -> dict[str, Any]:
        return await self._boards.snapshot(board_id)
