"""GraphQL for local-first devices: upload an outbox in one call, download one's own changes."""

from __future__ import annotations

from enum import Enum
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from hugmood.application.handlers.moods import EntryOutcome
from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries import moods as mood_queries
from hugmood.domain import moods as mood_rules
from hugmood.domain.common import shown
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.inputs import RecordMoodInput


@strawberry.enum(description="What became of one entry of a batch.")
class EntryStatus(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


@strawberry.type(description="One entry's outcome; a refused entry says why, like an error.")
class RecordMoodResult:
    id: strawberry.ID
    status: EntryStatus
    code: str | None = strawberry.field(description="The error code when refused.")
    message: str | None
    field: str | None

    @classmethod
    def of(cls, o: EntryOutcome) -> RecordMoodResult:
        return cls(
            id=strawberry.ID(o.entry_id),
            status=EntryStatus(o.status),
            code=o.error.code if o.error else None,
            message=o.error.message if o.error else None,
            field=o.error.field if o.error else None,
        )


@strawberry.type(description="Your entries changed after a cursor, and ids deleted since.")
class MoodChanges:
    entries: list[t.MoodEntry]
    compact_entries: JSON = strawberry.field(
        description="The same entries as one JSON list of objects with MoodEntry's field "
        "names (no author; privacy as its enum name): much cheaper for a device syncing "
        "thousands of entries."
    )
    deleted_ids: list[strawberry.ID]
    cursor: str = strawberry.field(description="Pass it as `after` next time.")
    has_more: bool


def _iso(ms: int) -> str:
    return t.ms_to_datetime(ms).isoformat()


def _compact(e: mood_queries.MoodEntryView) -> dict[str, Any]:
    return {
        "id": e.entry_id,
        "moodType": e.mood_type,
        "intensity": e.intensity,
        "note": e.note,
        "privacy": t.Privacy(e.privacy.value).name,
        "recordedAt": _iso(e.recorded_at_ms),
        "createdAt": _iso(e.created_at_ms),
        "updatedAt": _iso(e.updated_at_ms),
        "contextFactors": {
            "location": e.context.location,
            "weather": e.context.weather,
            "socialContext": e.context.social_context,
            "tags": list(e.context.tags),
        },
        "insights": e.insights.to_data() if e.insights else None,
    }


def _cursor(after: str | None) -> int:
    if after is None:
        return -1
    try:
        value = int(after)
    except ValueError:
        raise ValidationFailed(
            f"{shown(after)} is not a cursor from myMoodChanges", field="after"
        ) from None
    if value < -1:
        raise ValidationFailed(f"{shown(after)} is not a cursor from myMoodChanges", field="after")
    return value


@strawberry.type
class SyncMutations:
    @strawberry.mutation(
        description=f"Check in up to {mood_rules.MAX_BATCH} entries at once, each with a device-chosen "
        "id: a retried or repeated entry is stored once, and a refused one does not stop the "
        "others. One result per entry, in order."
    )
    async def record_moods(
        self, info: Ctx, entries: list[RecordMoodInput]
    ) -> list[RecordMoodResult]:
        me = await info.context.principal()
        command = mood_rules.RecordMoods(
            me.user_id, tuple(e.to_command(me.user_id, new_id="") for e in entries)
        )
        result = await info.context.core.bus.handle(command, info.context.command)
        return [RecordMoodResult.of(o) for o in result.value]


@strawberry.type
class SyncQueries:
    @strawberry.field(
        description="Your own entries changed after `after` (a cursor from the last call; "
        "omit it the first time), oldest change first, and the ids you deleted since."
    )
    async def my_mood_changes(
        self, info: Ctx, after: str | None = None, limit: int = 500
    ) -> MoodChanges:
        me = await info.context.principal()
        db = info.context.core.readmodels
        changes = await mood_queries.my_mood_changes(
            db, user_id=me.user_id, after=_cursor(after), limit=limit
        )
        account = await identity_queries.account_by_id(db, me.user_id)
        if account is None:
            raise NotFound("this account does not exist")
        return MoodChanges(
            entries=[t.MoodEntry.of(e, account) for e in changes.entries],
            compact_entries=cast(JSON, [_compact(e) for e in changes.entries]),
            deleted_ids=[strawberry.ID(i) for i in changes.deleted_ids],
            cursor=str(changes.cursor),
            has_more=changes.has_more,
        )
