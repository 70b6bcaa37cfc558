"""Handlers for insights: the consumer tells one (once), the person marks it helpful or
dismisses it; each acts on the person's own insights stream."""

from __future__ import annotations

from functools import partial

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append
from hugmood.domain import insights as rules


async def tell_insight(
    command: rules.TellInsight, deps: Dependencies, context: CommandContext
) -> CommandResult:
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=rules.insights_stream(command.owner_id),
        initial=rules.Insights(),
        evolve=rules.evolve_insights,
        decide=partial(rules.decide_tell, command=command),
        user_id=command.owner_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)


async def answer_insight(
    command: rules.MarkInsightHelpful | rules.DismissInsight,
    deps: Dependencies,
    context: CommandContext,
) -> CommandResult:
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=rules.insights_stream(command.user_id),
        initial=rules.Insights(),
        evolve=rules.evolve_insights,
        decide=partial(rules.decide_answer, command=command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)
