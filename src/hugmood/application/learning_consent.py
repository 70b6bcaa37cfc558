"""Whether a person takes part in federated learning before they have said so: only where
their country's rule makes learning opt-out (the regional policy); nowhere without rules."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.streams import load
from hugmood.domain import identity
from hugmood.domain.regions import Participation
from hugmood.ids import UserId


async def learns_by_default(deps: Dependencies, user_id: UserId) -> bool:
    if deps.rules is None:
        return False
    stream = identity.user_stream(user_id)
    account = (await load(deps.store, stream, None, identity.evolve_account)).state
    if account is None:
        return False
    rule = deps.rules.participation(account.country, account.home_region, "learning")
    return rule is Participation.OPT_OUT
