"""Domain events to and from the stored envelope: the one place that knows both shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hugmood import __version__
from hugmood.domain.age import AGE_EVENTS
from hugmood.domain.boards import BOARD_EVENTS
from hugmood.domain.close_friends import CLOSE_FRIEND_EVENTS
from hugmood.domain.common import DomainEvent, PersonalData
from hugmood.domain.contribution import CONTRIBUTION_EVENTS
from hugmood.domain.devices import DEVICE_EVENTS
from hugmood.domain.discovery import DISCOVERY_EVENTS
from hugmood.domain.erasure import ERASURE_EVENTS
from hugmood.domain.hugs import HUG_EVENTS
from hugmood.domain.identity import IDENTITY_EVENTS
from hugmood.domain.identity_mfa import MFA_EVENTS
from hugmood.domain.identity_oidc import OIDC_EVENTS
from hugmood.domain.insights import INSIGHT_EVENTS
from hugmood.domain.mail import EMAIL_EVENTS
from hugmood.domain.mood_photos import MOOD_PHOTO_EVENTS
from hugmood.domain.moods import MOOD_EVENTS
from hugmood.domain.password_reset import PASSWORD_RESET_EVENTS
from hugmood.domain.regions import REGION_EVENTS
from hugmood.domain.reminders import REMINDER_EVENTS
from hugmood.domain.retention import RETENTION_EVENTS
from hugmood.domain.sealed import SEALED_EVENTS
from hugmood.domain.social import SOCIAL_EVENTS
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.ids import UserId

EVENT_CLASSES: dict[str, type[DomainEvent]] = {
    cls.EVENT_TYPE: cls
    for cls in (
        *IDENTITY_EVENTS,
        *ERASURE_EVENTS,
        *MFA_EVENTS,
        *OIDC_EVENTS,
        *MOOD_EVENTS,
        *SOCIAL_EVENTS,
        *HUG_EVENTS,
        *BOARD_EVENTS,
        *AGE_EVENTS,
        *SEALED_EVENTS,
        *REMINDER_EVENTS,
        *EMAIL_EVENTS,
        *PASSWORD_RESET_EVENTS,
        *CLOSE_FRIEND_EVENTS,
        *MOOD_PHOTO_EVENTS,
        *DISCOVERY_EVENTS,
        *INSIGHT_EVENTS,
        *DEVICE_EVENTS,
        *REGION_EVENTS,
        *RETENTION_EVENTS,
        *CONTRIBUTION_EVENTS,
    )
}

PERSONAL_DATA: dict[str, PersonalData] = {
    event_type: cls.PERSONAL for event_type, cls in EVENT_CLASSES.items() if cls.PERSONAL
}
"""Event type → its personal fields: what the event store's mapper encrypts per person."""


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who sent a command and from where; it becomes the events' metadata."""

    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    device_id: str | None = None
    app_version: str = __version__
    traceparent: str | None = None
    region: str | None = None
    source_address: str | None = None
    """The client's network address, for login throttling only: never put in events."""

    def metadata(self, **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "deviceId": self.device_id,
            "appVersion": self.app_version,
            "correlationId": self.correlation_id,
            "causationId": self.correlation_id,
        }
        if self.traceparent:
            meta["traceparent"] = self.traceparent
        if self.region:
            meta["region"] = self.region
        meta.update(extra)
        return meta


def to_new_event(
    event: DomainEvent,
    *,
    user_id: UserId | None,
    context: CommandContext,
    now: datetime,
    event_id: uuid.UUID | None = None,
) -> NewEvent:
    data = event.to_data()
    # Mood events carry their audience in metadata too, as the vision's envelope shows.
    extra = {"privacySetting": data["privacy"]} if "privacy" in data else {}
    return NewEvent(
        event_id=event_id or uuid.uuid4(),
        event_type=event.EVENT_TYPE,
        version=event.VERSION,
        timestamp=now,
        user_id=user_id,
        data=data,
        metadata=context.metadata(**extra),
    )


def from_recorded(event: RecordedEvent) -> DomainEvent:
    cls = EVENT_CLASSES.get(event.event_type)
    if cls is None:
        raise LookupError(f"unknown event type {event.event_type!r}")
    return cls.from_data(event.data)
