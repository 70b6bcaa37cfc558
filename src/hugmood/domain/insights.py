"""A person's insights: what their own check-ins say about them (`insights.statistics`), told
once when there is something new, and kept, marked helpful or dismissed by them alone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hugmood.domain.common import DomainEvent, PersonalData
from hugmood.domain.errors import NotFound
from hugmood.ids import UserId

INSIGHT_NAMESPACE = uuid.UUID("5d1c4a52-1f7a-4c8e-9a51-3f0c2b7e9d10")


def insights_stream(user_id: UserId) -> str:
    return f"insights-{user_id}"


def insight_id(owner_id: UserId, key: str, fingerprint: str) -> str:
    """The same finding on the same data gets the same id, whoever computes it and however
    often (a redelivered event, two workers): it is told once."""
    return str(uuid.uuid5(INSIGHT_NAMESPACE, f"{owner_id}|{key}|{fingerprint}"))


@dataclass(frozen=True, slots=True)
class TellInsight:
    """Issued by the insights consumer, never by a person."""

    owner_id: UserId
    insight_id: str
    kind: str
    key: str
    sentence: str
    numbers_json: str


@dataclass(frozen=True, slots=True)
class MarkInsightHelpful:
    user_id: UserId
    insight_id: str


@dataclass(frozen=True, slots=True)
class DismissInsight:
    user_id: UserId
    insight_id: str


@dataclass(frozen=True, slots=True)
class InsightGenerated(DomainEvent):
    EVENT_TYPE = "InsightGenerated"
    PERSONAL = PersonalData({"sentence": "", "numbersJson": "{}"}, owner="ownerId")
    insight_id: str
    owner_id: UserId
    kind: str
    key: str
    """What it is about: a newer insight with the same key replaces the older one."""
    sentence: str
    numbers_json: str
    """The numbers behind the sentence, as JSON (differences, intervals, days counted)."""


@dataclass(frozen=True, slots=True)
class InsightMarkedHelpful(DomainEvent):
    EVENT_TYPE = "InsightMarkedHelpful"
    insight_id: str
    owner_id: UserId


@dataclass(frozen=True, slots=True)
class InsightDismissed(DomainEvent):
    EVENT_TYPE = "InsightDismissed"
    insight_id: str
    owner_id: UserId


@dataclass(frozen=True, slots=True)
class Insights:
    """A person's insights stream: which exist, and how each was answered."""

    told: frozenset[str] = frozenset()
    helpful: frozenset[str] = frozenset()
    dismissed: frozenset[str] = frozenset()


def evolve_insights(state: Insights, event: DomainEvent) -> Insights:
    match event:
        case InsightGenerated():
            return Insights(state.told | {event.insight_id}, state.helpful, state.dismissed)
        case InsightMarkedHelpful():
            return Insights(state.told, state.helpful | {event.insight_id}, state.dismissed)
        case InsightDismissed():
            return Insights(state.told, state.helpful, state.dismissed | {event.insight_id})
    return state


def decide_tell(state: Insights, command: TellInsight) -> list[DomainEvent]:
    """Idempotent: an insight already told is not told again."""
    if command.insight_id in state.told:
        return []
    return [
        InsightGenerated(
            command.insight_id,
            command.owner_id,
            command.kind,
            command.key,
            command.sentence,
            command.numbers_json,
        )
    ]


def decide_answer(
    state: Insights, command: MarkInsightHelpful | DismissInsight
) -> list[DomainEvent]:
    # Someone else's insight id is not in this person's stream: the same answer as none.
    if command.insight_id not in state.told:
        raise NotFound("you have no insight with that id", field="id")
    if isinstance(command, MarkInsightHelpful):
        if command.insight_id in state.helpful:
            return []
        return [InsightMarkedHelpful(command.insight_id, command.user_id)]
    if command.insight_id in state.dismissed:
        return []
    return [InsightDismissed(command.insight_id, command.user_id)]


INSIGHT_EVENTS: tuple[type[DomainEvent], ...] = (
    InsightGenerated,
    InsightMarkedHelpful,
    InsightDismissed,
)
