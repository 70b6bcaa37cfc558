"""The read side's heavier queries as mesh services: a user's mood history and a board's
snapshot, each authorised by the service itself with the rules the GraphQL path applies."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.handlers.boards import load_board
from hugmood.application.heavy_reads import BoardSnapshots
from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries import moods as mood_queries
from hugmood.application.queries.social import relationship
from hugmood.domain.common import canonical_id
from hugmood.domain.history import Aggregation
from hugmood.domain.privacy import Relationship
from hugmood.mesh.errors import BAD_REQUEST, NOT_FOUND, Refused
from hugmood.mesh.identity import Caller
from hugmood.mesh.payload import instant, text
from hugmood.mesh.service import JsonObject, MeshEndpoint, MeshServiceSpec

VERSION = "1.0.0"
NO_SUCH_USER = "there is no such user, or you may not see their history"
NO_SUCH_BOARD = "there is no such board, or you are not a member"


def _viewer(caller: Caller) -> str:
    # MeshServices refuses a request without a user before a `needs_user` handler runs.
    if caller.user_id is None:
        raise Refused(BAD_REQUEST, "this request must be made on behalf of a user")
    return caller.user_id


def moods_service(deps: Dependencies) -> MeshServiceSpec:
    """`moods.history`: what GraphQL's `moodHistory` answers, for the signed-in viewer."""

    async def history(caller: Caller, payload: JsonObject) -> JsonObject:
        viewer = _viewer(caller)
        owner = text(payload, "ownerId", default=viewer)
        start, end = instant(payload, "from"), instant(payload, "to")
        try:
            aggregation = Aggregation(text(payload, "aggregation", default="none").lower())
        except ValueError:
            raise Refused(BAD_REQUEST, "aggregation must be none, day, week or month") from None
        zone = mood_queries.time_zone(text(payload, "timeZone", default="UTC"))
        db = deps.readmodels
        # As GraphQL's `visible_account`: an unknown user and one either side blocked are the
        # same answer, so the reply does not tell whether the account exists.
        if owner != viewer and (
            await identity_queries.account_by_id(db, owner) is None
            or await relationship(db, viewer, owner) is Relationship.BLOCKED
        ):
            raise Refused(NOT_FOUND, NO_SUCH_USER)
        result = await mood_queries.mood_history(
            db,
            viewer_id=viewer,
            owner_id=owner,
            start=start,
            end=end,
            aggregation=aggregation,
            zone=zone,
        )
        return {
            "ownerId": owner,
            "aggregation": aggregation.value,
            "entries": [
                _entry(r, viewer) for r in result if isinstance(r, mood_queries.MoodEntryView)
            ],
            "buckets": [_bucket(r) for r in result if isinstance(r, mood_queries.MoodBucket)],
        }

    return MeshServiceSpec(
        name="moods",
        version=VERSION,
        description="A user's mood history, as the viewer may see it",
        endpoints=(
            MeshEndpoint(
                "history",
                history,
                "Entries or day/week/month buckets in [from, to) that the caller's user may see",
            ),
        ),
    )


def boards_service(deps: Dependencies, rooms: BoardSnapshots) -> MeshServiceSpec:
    """`boards.snapshot`: a board's content as JSON, for its members only."""

    async def board_snapshot(caller: Caller, payload: JsonObject) -> JsonObject:
        viewer = _viewer(caller)
        board_id = canonical_id(text(payload, "boardId"), field="boardId")
        # The board's own stream, not the read model: a member removed a moment ago is out.
        board = await load_board(deps, board_id)
        role = board.effective_role(viewer) if board is not None else None
        if role is None:
            raise Refused(NOT_FOUND, NO_SUCH_BOARD)
        return {"boardId": board_id, "role": role.value, "snapshot": await rooms.snapshot(board_id)}

    return MeshServiceSpec(
        name="boards",
        version=VERSION,
        description="Shared mood boards' content, for their members",
        endpoints=(
            MeshEndpoint("snapshot", board_snapshot, "A board's content as JSON, members only"),
        ),
    )


def _entry(e: mood_queries.MoodEntryView, viewer: str) -> JsonObject:
    return {
        "entryId": e.entry_id,
        "userId": e.user_id,
        "moodType": e.mood_type,
        "intensity": e.intensity,
        "note": e.note,
        "context": e.context.to_data(),
        "privacy": e.privacy.value,
        "recordedAtMs": e.recorded_at_ms,
        "createdAtMs": e.created_at_ms,
        "updatedAtMs": e.updated_at_ms,
        # Derived on the owner's device and shown to the owner only, as in GraphQL.
        "insights": e.insights.to_data() if e.insights and viewer == e.user_id else None,
    }


def _bucket(b: mood_queries.MoodBucket) -> JsonObject:
    return {
        "start": b.start.isoformat(),
        "count": b.count,
        "meanIntensity": b.mean_intensity,
        "dominantMood": b.dominant_mood,
        "meanEnergy": b.mean_energy,
        "meanPleasantness": b.mean_pleasantness,
    }
