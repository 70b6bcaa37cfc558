"""What a person can ask about where their data lives and the rules that apply to them."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.application.age import AgeGate
from hugmood.application.dependencies import Dependencies
from hugmood.application.handlers.contribution import contributes_at
from hugmood.application.handlers.retention import retention_days
from hugmood.application.streams import load
from hugmood.domain import identity
from hugmood.domain.errors import NotFound
from hugmood.domain.regions import GATED_FEATURES, AgeRule, GatedFeature
from hugmood.domain.retention import evolve_retention, retention_stream
from hugmood.ids import UserId


@dataclass(frozen=True, slots=True)
class MyRegionalRules:
    country: str
    home_region: str
    retention_days: int
    """0: check-ins are kept until deleted."""
    retention_chosen: bool
    """Whether the person chose it (else their country's rule)."""
    ages: tuple[tuple[GatedFeature, AgeRule], ...]
    """The verified age each gated feature asks of this person (0: none), and the rule."""
    analytics: str | None
    learning: str | None
    """`opt-in` or `opt-out` where they live (None: no regional rules on this server)."""
    contributing: bool
    """Whether their check-ins count in community mood now (their choice, else the rule)."""


async def my_regional_rules(deps: Dependencies, user_id: UserId) -> MyRegionalRules:
    account = (
        await load(deps.store, identity.user_stream(user_id), None, identity.evolve_account)
    ).state
    if account is None:
        raise NotFound("this account does not exist")
    country, region = account.country, account.home_region
    rules = deps.rules
    if rules is not None:
        # Accounts from before countries were asked read as their region's default.
        country, region = rules.home(country or None, region)
    gate = AgeGate(deps, user_id)
    chosen = (await load(deps.store, retention_stream(user_id), None, evolve_retention)).state
    return MyRegionalRules(
        country=country,
        home_region=region,
        retention_days=await retention_days(deps, user_id),
        retention_chosen=chosen is not None,
        ages=tuple([(f, await gate.rule_for(f)) for f in GATED_FEATURES]),
        analytics=rules.participation(country, region, "analytics").value if rules else None,
        learning=rules.participation(country, region, "learning").value if rules else None,
        contributing=await contributes_at(deps, user_id),
    )
