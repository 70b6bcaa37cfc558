"""Being discoverable: whether a person lets HugMood suggest them to others with similar mood
patterns ("similar minds"). Off until the person turns it on; turning it off takes them out
of every suggestion at once."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.domain.common import DomainEvent
from hugmood.ids import UserId


def discovery_stream(user_id: UserId) -> str:
    return f"discovery-{user_id}"


@dataclass(frozen=True, slots=True)
class SetDiscoverable:
    user_id: UserId
    discoverable: bool


@dataclass(frozen=True, slots=True)
class DiscoverabilityChanged(DomainEvent):
    EVENT_TYPE = "DiscoverabilityChanged"
    user_id: UserId
    discoverable: bool


def evolve_discoverable(state: bool, event: DomainEvent) -> bool:
    if isinstance(event, DiscoverabilityChanged):
        return event.discoverable
    return state


def decide_discoverable(state: bool, command: SetDiscoverable) -> list[DomainEvent]:
    """Idempotent: asking for the setting one already has records nothing."""
    if command.discoverable == state:
        return []
    return [DiscoverabilityChanged(command.user_id, command.discoverable)]


DISCOVERY_EVENTS: tuple[type[DomainEvent], ...] = (DiscoverabilityChanged,)
