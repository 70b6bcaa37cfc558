"""Verified age in the application: record an outcome, read it back, gate features on it."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.streams import load
from hugmood.domain.age import AgeVerified, age_stream, evolve_verified_age, require_age
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


class AgeGate:
    """Checks one person's verified age against `deps.age_required`, reading it at most once."""

    def __init__(self, deps: Dependencies, user_id: UserId) -> None:
        self._deps = deps
        self._user_id = user_id
        self._verified: int | None = None
        self._read = False

    async def require(self, feature: str) -> None:
        required = self._deps.age_required
        if required <= 0:
            return
        if not self._read:
            self._verified = await verified_age(self._deps.store, self._user_id)
            self._read = True
        require_age(self._verified, required, feature)
