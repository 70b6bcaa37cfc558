"""An account's e-mail address: optional, proven with a code sent to it before any use (reminders,
password reset), never shown to anyone but its owner."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from hugmood.domain.common import DomainEvent, PersonalData, shown
from hugmood.domain.errors import NotFound, RateLimited, ValidationFailed
from hugmood.ids import UserId

MAX_ADDRESS = 254
CODE_TTL_MS = 30 * 60 * 1000
MAX_CODE_TRIES = 5
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def email_stream(user_id: UserId) -> str:
    return f"email-{user_id}"


def check_address(value: str) -> str:
    """A plain address (no display name, no comments); its domain is kept in lower case."""
    text = value.strip()
    if len(text) > MAX_ADDRESS or not _ADDRESS.match(text):
        raise ValidationFailed(
            f"{shown(value)} is not an e-mail address such as ada@example.org", field="email"
        )
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetEmailAddress:
    """Start proving `address`: a code is mailed to it; the hash of that code is kept."""

    user_id: UserId
    address: str
    code_hash: str = ""
    """Filled in by the handler, which makes the code and mails it."""
    now_ms: int = 0


@dataclass(frozen=True, slots=True)
class ConfirmEmailAddress:
    user_id: UserId
    code: str
    """As typed by the person; the handler compares its keyed hash (`code_hash`)."""
    code_hash: str = ""
    now_ms: int = 0


@dataclass(frozen=True, slots=True)
class RemoveEmailAddress:
    user_id: UserId


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailAddressProposed(DomainEvent):
    EVENT_TYPE = "EmailAddressProposed"
    PERSONAL = PersonalData({"address": ""}, owner="userId")
    user_id: UserId
    address: str
    code_hash: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class EmailCodeRefused(DomainEvent):
    EVENT_TYPE = "EmailCodeRefused"
    user_id: UserId


@dataclass(frozen=True, slots=True)
class EmailAddressVerified(DomainEvent):
    EVENT_TYPE = "EmailAddressVerified"
    PERSONAL = PersonalData({"address": ""}, owner="userId")
    user_id: UserId
    address: str


@dataclass(frozen=True, slots=True)
class EmailAddressRemoved(DomainEvent):
    EVENT_TYPE = "EmailAddressRemoved"
    user_id: UserId


# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailAddress:
    verified: str | None = None
    pending: str | None = None
    code_hash: str | None = None
    expires_at_ms: int = 0
    tries: int = 0


def evolve_email(state: EmailAddress, event: DomainEvent) -> EmailAddress:
    match event:
        case EmailAddressProposed():
            return replace(
                state,
                pending=event.address,
                code_hash=event.code_hash,
                expires_at_ms=event.expires_at_ms,
                tries=0,
            )
        case EmailCodeRefused():
            return replace(state, tries=state.tries + 1)
        case EmailAddressVerified():
            return EmailAddress(verified=event.address)
        case EmailAddressRemoved():
            return EmailAddress()
    return state


def decide_propose(state: EmailAddress, command: SetEmailAddress) -> list[DomainEvent]:
    address = check_address(command.address)
    return [
        EmailAddressProposed(
            command.user_id, address, command.code_hash, command.now_ms + CODE_TTL_MS
        )
    ]


def decide_confirm(state: EmailAddress, command: ConfirmEmailAddress) -> list[DomainEvent]:
    """A wrong code is recorded (the refusal comes from the handler, after the append):
    after `MAX_CODE_TRIES` the code is dead and a new one must be asked for."""
    if state.pending is None or state.code_hash is None:
        raise NotFound("no e-mail address is waiting for a code; set one first", field="code")
    if command.now_ms > state.expires_at_ms or state.tries >= MAX_CODE_TRIES:
        raise RateLimited(
            "this code has expired or was tried too often; ask for a new one", retry_after_s=0
        )
    if command.code_hash != state.code_hash:
        return [EmailCodeRefused(command.user_id)]
    return [EmailAddressVerified(command.user_id, state.pending)]


def decide_remove(state: EmailAddress, command: RemoveEmailAddress) -> list[DomainEvent]:
    if state.verified is None and state.pending is None:
        return []
    return [EmailAddressRemoved(command.user_id)]


EMAIL_EVENTS: tuple[type[DomainEvent], ...] = (
    EmailAddressProposed,
    EmailCodeRefused,
    EmailAddressVerified,
    EmailAddressRemoved,
)
