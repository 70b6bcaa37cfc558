"""The handler of the discoverable setting: one stream per person decides."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append
from hugmood.domain import discovery


async def set_discoverable(
    command: discovery.SetDiscoverable, deps: Dependencies, context: CommandContext
) -> CommandResult:
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
