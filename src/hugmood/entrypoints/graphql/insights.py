"""GraphQL for personal insights: yours alone (the owner is always the signed-in caller), with
the numbers behind each sentence; mark one helpful or dismiss it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import strawberry

from hugmood.application.queries import insights as insight_queries
from hugmood.domain import insights as insight_rules
from hugmood.domain.errors import ValidationFailed
from hugmood.entrypoints.graphql.context import Ctx

MAX_INSIGHTS = 50


@strawberry.type(description="Something your own check-ins say about you, with its numbers.")
class Insight:
    id: strawberry.ID
    kind: str = strawberry.field(
        description="factor (a place, weather, company, tag or your notes' tone), weekday, "
        "time_of_day or trend."
    )
    sentence: str
    numbers: str = strawberry.field(
        description="The numbers behind the sentence as a JSON object: the difference, its "
        "95% interval (corrected for how many were tested), the days counted."
    )
    generated_at: datetime
    helpful: bool

    @classmethod
    def of(cls, v: insight_queries.InsightView) -> Insight:
        return cls(
            id=strawberry.ID(v.insight_id),
            kind=v.kind,
            sentence=v.sentence,
            numbers=json.dumps(v.numbers, sort_keys=True),
            generated_at=v.generated_at,
            helpful=v.helpful,
        )


def _insight_id(value: str) -> str:
    try:
        return str(uuid.UUID(value[:100]))
    except ValueError:
        raise ValidationFailed("id must be an insight's id", field="id") from None


async def _mine(info: Ctx, limit: int) -> list[Insight]:
    me = await info.context.principal()
    found = await insight_queries.insights_of(info.context.core.readmodels, me.user_id, limit=limit)
    return [Insight.of(v) for v in found]


@strawberry.type
class InsightQueries:
    @strawberry.field(
        description="What your check-ins say about you, newest first (none until there is "
        "enough: a factor needs 3 days with it and 3 without). `limit` is 1 to 50."
    )
    async def insights(self, info: Ctx, limit: int = 20) -> list[Insight]:
        if not 1 <= limit <= MAX_INSIGHTS:
            raise ValidationFailed(f"limit must be 1 to {MAX_INSIGHTS}", field="limit")
        return await _mine(info, limit)


@strawberry.type
class InsightMutations:
    @strawberry.mutation(description="Say an insight of yours was helpful.")
    async def mark_insight_helpful(self, info: Ctx, id: strawberry.ID) -> list[Insight]:
        me = await info.context.principal()
        command = insight_rules.MarkInsightHelpful(me.user_id, _insight_id(str(id)))
        await info.context.core.bus.handle(command, info.context.command)
        return await _mine(info, MAX_INSIGHTS)

    @strawberry.mutation(description="Dismiss an insight of yours: it is not shown again.")
    async def dismiss_insight(self, info: Ctx, id: strawberry.ID) -> list[Insight]:
        me = await info.context.principal()
        command = insight_rules.DismissInsight(me.user_id, _insight_id(str(id)))
        await info.context.core.bus.handle(command, info.context.command)
        return await _mine(info, MAX_INSIGHTS)
