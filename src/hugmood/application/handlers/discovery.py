"""The handler of the discoverable setting: one stream per person decides."""

from __future__ import annotations

from hugmood.application.age import AgeGate
from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append
from hugmood.domain import discovery
from hugmood.domain.regions import SIMILAR_MINDS as SIMILAR_MINDS_RULES
from hugmood.domain.regions import GatedFeature

SIMILAR_MINDS = GatedFeature(SIMILAR_MINDS_RULES.key, "Being a similar mind to others")


async def set_discoverable(
    command: discovery.SetDiscoverable, deps: Dependencies, context: CommandContext
) -> CommandResult:
    if command.discoverable:  # turning it off is always allowed
        await AgeGate(deps, command.user_id).require(SIMILAR_MINDS)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=discovery.discovery_stream(command.user_id),
        initial=False,
        evolve=discovery.evolve_discoverable,
        decide=lambda state: discovery.decide_discoverable(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)
