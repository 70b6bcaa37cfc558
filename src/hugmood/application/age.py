"""Verified age in the application: record an outcome, read it back, gate features on it."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.streams import load
from hugmood.domain import identity
from hugmood.domain.age import AgeVerified, age_stream, evolve_verified_age, require_age
from hugmood.domain.regions import AgeRule, GatedFeature
from hugmood.eventstore.store import EventStore
from hugmood.ids import UserId


async def verified_age(store: EventStore, user_id: UserId) -> int | None:
    """The highest age this person has proven (None: never)."""
    return (await load(store, age_stream(user_id), None, evolve_verified_age)).state


async def record_age_verified(
    deps: Dependencies,
    context: CommandContext,
    *,
    user_id: UserId,
    threshold: int,
    issuer: str,
) -> int:
    """Append `AgeVerified` (the outcome only) to the person's age stream; its position."""
    now = deps.clock.now()
    event = AgeVerified(user_id, threshold, issuer, int(now.timestamp() * 1000))
    new = to_new_event(event, user_id=user_id, context=context, now=now)
    return (await deps.store.append(age_stream(user_id), [new])).last_position


OPERATOR_MINIMUM = "operator.age_required"
"""The rule's name when the operator's minimum (`HUGMOOD_AGE_REQUIRED`) is what refuses."""


class AgeGate:
    """Checks one person's verified age against what a feature needs for them: their
    country's rule (the regional policy, when age rules are on) or the operator's minimum,
    whichever is higher. Reads the person's account and verified age at most once."""

    def __init__(self, deps: Dependencies, user_id: UserId) -> None:
        self._deps = deps
        self._user_id = user_id
        self._verified: int | None = None
        self._read = False
        self._account: identity.Account | None = None

    async def rule_for(self, feature: GatedFeature) -> AgeRule:
        """The verified age `feature` needs from this person, and the rule that says so."""
        rule = AgeRule(self._deps.age_required, OPERATOR_MINIMUM)
        rules = self._deps.rules
        if rules is None or not self._deps.age_rules:
            return rule
        if self._account is None:
            stream = identity.user_stream(self._user_id)
            self._account = (
                await load(self._deps.store, stream, None, identity.evolve_account)
            ).state
        if self._account is None:
            return rule
        regional = rules.age_required(self._account.country, self._account.home_region, feature)
        return regional if regional.threshold >= rule.threshold else rule

    async def require(self, feature: GatedFeature) -> None:
        rule = await self.rule_for(feature)
        if rule.threshold <= 0:
            return
        if not self._read:
            self._verified = await verified_age(self._deps.store, self._user_id)
            self._read = True
        require_age(self._verified, rule.threshold, feature.description, rule=rule.rule)
