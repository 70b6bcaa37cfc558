"""Verified age: the one fact kept from a zero-knowledge age check, and the gate it opens.

Only the outcome is an event (`AgeVerified`: which age, which issuer vouched, when); no
birth date, credential or proof. A person's verified age is the highest threshold proven.
"""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Forbidden
from hugmood.ids import UserId

HOW_TO_VERIFY = (
    "verify your age on your device with `hugmood verify-age --threshold {n}` "
    "(a zero-knowledge proof from an age credential: your birth date is not shared)"
)


def age_stream(user_id: UserId) -> str:
    return f"age-{user_id}"


@dataclass(frozen=True, slots=True)
class AgeVerified(DomainEvent):
    EVENT_TYPE = "AgeVerified"

    user_id: UserId
    threshold: int
    issuer: str
    verified_at_ms: int


AGE_EVENTS: tuple[type[DomainEvent], ...] = (AgeVerified,)


def evolve_verified_age(state: int | None, event: DomainEvent) -> int | None:
    """The highest age threshold proven so far (None: never verified)."""
    if isinstance(event, AgeVerified):
        return max(state or 0, event.threshold)
    return state


def require_age(
    verified: int | None, required: int, feature: str, *, rule: str | None = None
) -> None:
    """Refuse `feature` unless a verified age of at least `required` is on record; the
    refusal names the `rule` that asks for it."""
    if required <= 0 or (verified is not None and verified >= required):
        return
    have = "no verified age" if verified is None else f"a verified age of {verified}"
    because = f" (rule {rule})" if rule else ""
    raise Forbidden(
        f"{feature} needs a verified age of {required} or over{because} (you have {have}); "
        + HOW_TO_VERIFY.format(n=required),
        field="age",
        rule=rule,
    )
