"""Whether a person's check-ins count in community mood (the de-identified analytics store):
their own choice, or else what their country's rule says (opt-in or opt-out)."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.domain.common import DomainEvent
from hugmood.ids import UserId


def contribution_stream(user_id: UserId) -> str:
    return f"contribution-{user_id}"


@dataclass(frozen=True, slots=True)
class ChooseCommunityContribution:
    """Count my check-ins in community mood (True), never (False), or as my country's rule
    says (None)."""

    user_id: UserId
    contribute: bool | None


@dataclass(frozen=True, slots=True)
class CommunityContributionChosen(DomainEvent):
    EVENT_TYPE = "CommunityContributionChosen"
    user_id: UserId
    contribute: bool | None


CONTRIBUTION_EVENTS: tuple[type[DomainEvent], ...] = (CommunityContributionChosen,)


def evolve_contribution(state: bool | None, event: DomainEvent) -> bool | None:
    return event.contribute if isinstance(event, CommunityContributionChosen) else state


def decide_contribution(
    state: bool | None, command: ChooseCommunityContribution
) -> list[DomainEvent]:
    if command.contribute == state:
        return []
    return [CommunityContributionChosen(command.user_id, command.contribute)]
