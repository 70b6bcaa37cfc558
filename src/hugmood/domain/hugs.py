"""Virtual hugs between friends: send, deliver, see, withdraw; and each recipient's settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from hugmood.domain.common import DomainEvent, PersonalData, clean_text, shown
from hugmood.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hugmood.ids import HugId, UserId

MAX_MESSAGE = 280


class HugType(StrEnum):
    """The hug vocabulary: what kind of support a hug carries."""

    WARM = "warm"
    COMFORTING = "comforting"
    CELEBRATION = "celebration"
    STRENGTH = "strength"
    CALM = "calm"
    GRATITUDE = "gratitude"
    MISS_YOU = "miss-you"
    PLAYFUL = "playful"

    @classmethod
    def parse(cls, value: str) -> HugType:
        try:
            return cls(value.strip().lower().replace("_", "-"))
        except ValueError:
            choices = ", ".join(t.value for t in cls)
            raise ValidationFailed(
                f"hugType must be one of {choices} (got {shown(value)})", field="hugType"
            ) from None


HUG_TYPE_MEANINGS: dict[HugType, str] = {
    HugType.WARM: "a warm everyday hug",
    HugType.COMFORTING: "I'm here for you",
    HugType.CELEBRATION: "so happy for you!",
    HugType.STRENGTH: "you've got this",
    HugType.CALM: "breathe, it's all right",
    HugType.GRATITUDE: "thank you",
    HugType.MISS_YOU: "thinking of you",
    HugType.PLAYFUL: "a silly squeeze",
}


class HugStatus(StrEnum):
    SENT = "sent"
    """Stored, waiting in the recipient's inbox for one of their devices."""
    DELIVERED = "delivered"
    """Shown on at least one of the recipient's devices."""
    SEEN = "seen"
    WITHDRAWN = "withdrawn"


def hug_stream(hug_id: HugId) -> str:
    return f"hug-{hug_id}"


def hug_settings_stream(user_id: UserId) -> str:
    return f"hug-settings-{user_id}"


def check_message(value: str | None) -> str | None:
    if value is None:
        return None
    return clean_text(value, field="message", max_length=MAX_MESSAGE, multiline=True) or None


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendHug:
    """`hug_id` may be chosen by the device, so a retried send is stored once."""

    hug_id: HugId
    sender_id: UserId
    recipient_id: UserId
    hug_type: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class WithdrawHug:
    hug_id: HugId
    sender_id: UserId


@dataclass(frozen=True, slots=True)
class MarkHugDelivered:
    hug_id: HugId
    recipient_id: UserId
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class MarkHugSeen:
    hug_id: HugId
    recipient_id: UserId


@dataclass(frozen=True, slots=True)
class ChangeHugSettings:
    """`None` keeps a setting; `mute`/`unmute` add to or remove from the muted friends."""

    user_id: UserId
    accepted_types: tuple[str, ...] | None = None
    mute: tuple[str, ...] = ()
    unmute: tuple[str, ...] = ()


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HugSent(DomainEvent):
    EVENT_TYPE = "HugSent"
    PERSONAL = PersonalData({"message": None}, owner="senderId")
    hug_id: HugId
    sender_id: UserId
    recipient_id: UserId
    hug_type: str
    message: str | None = None
    """None also in the recipient's region when the sender lives in another: the message
    stays in the sender's region and is read from there when shown."""
    muted: bool = False
    """The recipient muted the sender: the hug waits in the inbox without a live push."""


@dataclass(frozen=True, slots=True)
class HugDelivered(DomainEvent):
    EVENT_TYPE = "HugDelivered"
    hug_id: HugId
    sender_id: UserId
    recipient_id: UserId
    device_id: str | None


@dataclass(frozen=True, slots=True)
class HugSeen(DomainEvent):
    EVENT_TYPE = "HugSeen"
    hug_id: HugId
    sender_id: UserId
    recipient_id: UserId


@dataclass(frozen=True, slots=True)
class HugWithdrawn(DomainEvent):
    EVENT_TYPE = "HugWithdrawn"
    hug_id: HugId
    sender_id: UserId
    recipient_id: UserId


@dataclass(frozen=True, slots=True)
class HugSettingsChanged(DomainEvent):
    """Carries the whole new settings, so a reader needs no earlier event."""

    EVENT_TYPE = "HugSettingsChanged"
    user_id: UserId
    accepted_types: tuple[str, ...]
    muted_ids: tuple[str, ...]


# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HugSettings:
    accepted_types: frozenset[HugType] = frozenset(HugType)
    muted_ids: frozenset[str] = frozenset()


def evolve_settings(state: HugSettings, event: DomainEvent) -> HugSettings:
    if isinstance(event, HugSettingsChanged):
        return HugSettings(
            frozenset(HugType(t) for t in event.accepted_types), frozenset(event.muted_ids)
        )
    return state


def decide_settings(state: HugSettings, command: ChangeHugSettings) -> list[DomainEvent]:
    accepted = state.accepted_types
    if command.accepted_types is not None:
        accepted = frozenset(HugType.parse(t) for t in command.accepted_types)
        if not accepted:
            raise ValidationFailed(
                "accept at least one hug type (mute friends to pause hugs from them)",
                field="acceptedTypes",
            )
    if command.user_id in command.mute:
        raise ValidationFailed("you cannot mute yourself", field="handle")
    muted = (state.muted_ids | frozenset(command.mute)) - frozenset(command.unmute)
    if (accepted, muted) == (state.accepted_types, state.muted_ids):
        return []
    return [
        HugSettingsChanged(
            user_id=command.user_id,
            accepted_types=tuple(sorted(t.value for t in accepted)),
            muted_ids=tuple(sorted(muted)),
        )
    ]


@dataclass(frozen=True, slots=True)
class Hug:
    hug_id: HugId
    sender_id: UserId
    recipient_id: UserId
    status: HugStatus


def evolve_hug(state: Hug | None, event: DomainEvent) -> Hug | None:
    match event:
        case HugSent():
            return Hug(event.hug_id, event.sender_id, event.recipient_id, HugStatus.SENT)
        case HugDelivered() if state is not None and state.status is HugStatus.SENT:
            return replace(state, status=HugStatus.DELIVERED)
        case HugSeen() if state is not None:
            return replace(state, status=HugStatus.SEEN)
        case HugWithdrawn() if state is not None:
            return replace(state, status=HugStatus.WITHDRAWN)
    return state


def decide_send(
    state: Hug | None,
    command: SendHug,
    *,
    are_friends: bool,
    recipient_settings: HugSettings,
) -> list[DomainEvent]:
    """A retried send (same id, same sender) changes nothing; anything else is checked."""
    if state is not None:
        if state.sender_id != command.sender_id:
            raise Conflict("this hug id is already used; choose a new one", field="id")
        return []
    if command.sender_id == command.recipient_id:
        raise ValidationFailed("hugs are for friends; you cannot hug yourself", field="to")
    if not are_friends:
        raise Forbidden("you can only send hugs to friends", field="to")
    hug_type = HugType.parse(command.hug_type)
    if hug_type not in recipient_settings.accepted_types:
        raise Forbidden(f"they don't accept {hug_type.value} hugs right now", field="hugType")
    return [
        HugSent(
            hug_id=command.hug_id,
            sender_id=command.sender_id,
            recipient_id=command.recipient_id,
            hug_type=hug_type.value,
            message=check_message(command.message),
            muted=command.sender_id in recipient_settings.muted_ids,
        )
    ]


def _recipients_hug(state: Hug | None, hug_id: HugId, recipient_id: UserId) -> Hug:
    if state is None or state.recipient_id != recipient_id or state.status is HugStatus.WITHDRAWN:
        raise NotFound(f"no hug {hug_id} in your inbox", field="id")
    return state


def decide_delivered(state: Hug | None, command: MarkHugDelivered) -> list[DomainEvent]:
    hug = _recipients_hug(state, command.hug_id, command.recipient_id)
    if hug.status is not HugStatus.SENT:
        return []
    return [HugDelivered(hug.hug_id, hug.sender_id, hug.recipient_id, command.device_id)]


def decide_seen(state: Hug | None, command: MarkHugSeen) -> list[DomainEvent]:
    hug = _recipients_hug(state, command.hug_id, command.recipient_id)
    if hug.status is HugStatus.SEEN:
        return []
    return [HugSeen(hug.hug_id, hug.sender_id, hug.recipient_id)]


def decide_withdraw(state: Hug | None, command: WithdrawHug) -> list[DomainEvent]:
    if state is None or state.sender_id != command.sender_id:
        raise NotFound(f"you sent no hug {command.hug_id}", field="id")
    if state.status is HugStatus.WITHDRAWN:
        return []
    if state.status is HugStatus.SEEN:
        raise Conflict("they have already seen this hug; it can no longer be withdrawn")
    return [HugWithdrawn(state.hug_id, state.sender_id, state.recipient_id)]


HUG_EVENTS: tuple[type[DomainEvent], ...] = (
    HugSent,
    HugDelivered,
    HugSeen,
    HugWithdrawn,
    HugSettingsChanged,
)
