"""`HeavyReads` over the mesh: an edge's heavier queries answered by whichever worker the
queue group picks, with the answer turned back into the query layer's views. When no instance
answers (or the mesh fails otherwise), the edge answers itself: the mesh offloads, it is not
needed for an answer."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hugmood.application.heavy_reads import HeavyReads, History
from hugmood.application.queries.moods import MoodBucket, MoodEntryView
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.domain.history import Aggregation
from hugmood.domain.moods import ContextFactors, MoodInsights
from hugmood.domain.privacy import Privacy
from hugmood.ids import BoardId, UserId
from hugmood.mesh import errors as codes
from hugmood.mesh.client import MeshClient
from hugmood.mesh.errors import MeshError, Refused

log = logging.getLogger(__name__)


class MeshReads:
    def __init__(self, client: MeshClient, fallback: HeavyReads) -> None:
        self._client = client
        self._fallback = fallback

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
        payload = {
            "ownerId": owner_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "aggregation": aggregation.value,
            "timeZone": zone.key,
        }
        answer = await self._ask("moods", "history", payload, viewer_id)
        if answer is None:
            return await self._fallback.mood_history(
                viewer_id=viewer_id,
                owner_id=owner_id,
                start=start,
                end=end,
                aggregation=aggregation,
                zone=zone,
            )
        if aggregation is Aggregation.NONE:
            return [_entry(e) for e in answer["entries"]]
        return [_bucket(b) for b in answer["buckets"]]

    async def board_snapshot(self, *, viewer_id: UserId, board_id: BoardId) -> dict[str, Any]:
        answer = await self._ask("boards", "snapshot", {"boardId": board_id}, viewer_id)
        if answer is None:
            return await self._fallback.board_snapshot(viewer_id=viewer_id, board_id=board_id)
        snapshot: dict[str, Any] = answer["snapshot"]
        return snapshot

    async def _ask(
        self, service: str, endpoint: str, payload: dict[str, Any], viewer_id: UserId
    ) -> Any:
        """The answer; None when the mesh could not give one (this process answers instead);
        a domain error when the service refused the request for what it asks."""
        try:
            return await self._client.request(
                service,
                endpoint,
                payload,
                user_id=viewer_id,
                idempotent=True,
                wait_for_instance=False,  # no worker running: answer here at once
            )
        except Refused as e:
            if e.code == codes.NOT_FOUND:
                raise NotFound(e.description) from None
            if e.code == codes.BAD_REQUEST:
                raise ValidationFailed(e.description) from None
            # 401 (a process with another secret), 500 (a bug over there), …: said in the log
            # and counted by the service; the user is answered from here.
            log.warning("mesh %s.%s refused (%s); answering here", service, endpoint, e)
        except MeshError as e:
            log.info("mesh %s.%s unavailable (%s); answering here", service, endpoint, e)
        return None


def _entry(e: dict[str, Any]) -> MoodEntryView:
    return MoodEntryView(
        entry_id=e["entryId"],
        user_id=e["userId"],
        mood_type=e["moodType"],
        intensity=float(e["intensity"]),
        note=e["note"],
        context=ContextFactors.from_data(e["context"]),
        privacy=Privacy(e["privacy"]),
        recorded_at_ms=int(e["recordedAtMs"]),
        created_at_ms=int(e["createdAtMs"]),
        updated_at_ms=int(e["updatedAtMs"]),
        insights=MoodInsights.from_data(e["insights"]) if e["insights"] else None,
    )


def _bucket(b: dict[str, Any]) -> MoodBucket:
    return MoodBucket(
        start=date.fromisoformat(b["start"]),
        count=int(b["count"]),
        mean_intensity=float(b["meanIntensity"]),
        dominant_mood=b["dominantMood"],
        mean_energy=float(b["meanEnergy"]),
        mean_pleasantness=float(b["meanPleasantness"]),
    )
