"""A person's choice to count in community mood, and whether they do at a point of the log
(their last choice by then, else their country's rule: opt-in or opt-out)."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import identity
from hugmood.domain.contribution import (
    ChooseCommunityContribution,
    contribution_stream,
    decide_contribution,
    evolve_contribution,
)
from hugmood.domain.regions import Participation
from hugmood.ids import UserId


async def choose_contribution(
    command: ChooseCommunityContribution, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Record the choice; the value is whether the person's check-ins count from now on."""
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=contribution_stream(command.user_id),
        initial=None,
        evolve=evolve_contribution,
        decide=lambda state: decide_contribution(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(
        result.last_position if result else 0, await contributes_at(deps, command.user_id)
    )


async def contributes_at(deps: Dependencies, user_id: UserId, position: int | None = None) -> bool:
    """Whether the person's check-ins count in community mood as of the log's `position`
    (None: now): their last choice made by then, else their country's rule. With no regional
    rules on this server, everyone's do (as before the rules existed)."""
    choice: bool | None = None
    for event in await deps.store.read_stream(contribution_stream(user_id)):
        if position is None or event.position <= position:
            value = event.data.get("contribute")
            choice = None if value is None else bool(value)
    if choice is not None:
        return choice
    if deps.rules is None:
        return True
    stream = identity.user_stream(user_id)
    account = (await load(deps.store, stream, None, identity.evolve_account)).state
    if account is None:
        return False
    rule = deps.rules.participation(account.country, account.home_region, "analytics")
    return rule is Participation.OPT_OUT
