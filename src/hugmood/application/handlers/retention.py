"""A person's choice of how long their check-ins are kept, and the days in force for them."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import identity
from hugmood.domain.retention import (
    ChooseRetention,
    decide_retention,
    evolve_retention,
    retention_stream,
)
from hugmood.ids import UserId


async def choose_retention(
    command: ChooseRetention, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Record the person's choice; the value is the days now in force for them."""
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=retention_stream(command.user_id),
        initial=None,
        evolve=evolve_retention,
        decide=lambda state: decide_retention(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(
        result.last_position if result else 0, await retention_days(deps, command.user_id)
    )


async def retention_days(deps: Dependencies, user_id: UserId) -> int:
    """How many days this person's check-ins are kept (0: until they delete them): their
    own choice, else their country's rule, else kept."""
    chosen = (await load(deps.store, retention_stream(user_id), None, evolve_retention)).state
    if chosen is not None:
        return chosen
    if deps.rules is None:
        return 0
    stream = identity.user_stream(user_id)
    account = (await load(deps.store, stream, None, identity.evolve_account)).state
    if account is None:
        return 0
    return deps.rules.retention_days(account.country, account.home_region)
