"""Password reset by e-mail: a request (answered alike whether or not the address is known), a
single-use, short-lived token mailed to a confirmed address (only its keyed hash is kept), and
the new password it sets."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.identity import Account, PasswordChanged, check_password
from hugmood.ids import UserId

TOKEN_TTL_MS = 30 * 60 * 1000
INVALID_LINK = "this reset link is not valid any more; ask for a new one"


def reset_stream(request_id: str) -> str:
    return f"password-reset-{request_id}"


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestPasswordReset:
    """Mail a reset link to `address` if an account confirmed it. The caller learns nothing
    either way: the answer, and the work done before it, are the same."""

    address: str
    request_id: str = ""
    """Chosen by the handler."""
    user_id: UserId | None = None
    """Found by the handler (None: no account confirmed this address)."""


@dataclass(frozen=True, slots=True)
class IssueResetToken:
    """The mailer's claim on a request: once issued, no other process mails it again."""

    request_id: str
    token_hash: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class ResetPassword:
    token: str
    new_password: str


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PasswordResetRequested(DomainEvent):
    """No address is kept: only which account (if any) it named."""

    EVENT_TYPE = "PasswordResetRequested"
    request_id: str
    user_id: UserId | None


@dataclass(frozen=True, slots=True)
class PasswordResetIssued(DomainEvent):
    EVENT_TYPE = "PasswordResetIssued"
    request_id: str
    user_id: UserId
    token_hash: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class PasswordResetUsed(DomainEvent):
    EVENT_TYPE = "PasswordResetUsed"
    request_id: str
    user_id: UserId


# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResetRequest:
    user_id: UserId | None = None
    token_hash: str | None = None
    expires_at_ms: int = 0
    used: bool = False


def evolve_request(state: ResetRequest | None, event: DomainEvent) -> ResetRequest | None:
    match event:
        case PasswordResetRequested():
            return ResetRequest(user_id=event.user_id)
        case PasswordResetIssued() if state is not None:
            return replace(state, token_hash=event.token_hash, expires_at_ms=event.expires_at_ms)
        case PasswordResetUsed() if state is not None:
            return replace(state, used=True)
    return state


def decide_request(state: ResetRequest | None, command: RequestPasswordReset) -> list[DomainEvent]:
    if state is not None:
        return []
    return [PasswordResetRequested(command.request_id, command.user_id)]


def decide_issue(state: ResetRequest | None, command: IssueResetToken) -> list[DomainEvent]:
    if state is None or state.user_id is None or state.token_hash is not None:
        return []
    return [
        PasswordResetIssued(
            command.request_id, state.user_id, command.token_hash, command.expires_at_ms
        )
    ]


def decide_use(
    state: ResetRequest | None, *, request_id: str, token_hash: str, now_ms: int
) -> list[DomainEvent]:
    """Single use, before its expiry, and only with the token that was mailed."""
    if (
        state is None
        or state.user_id is None
        or state.token_hash != token_hash
        or state.used
        or now_ms > state.expires_at_ms
    ):
        raise ValidationFailed(INVALID_LINK, field="token")
    return [PasswordResetUsed(request_id, state.user_id)]


def decide_new_password(
    state: Account | None, new_password: str, new_hash: str
) -> list[DomainEvent]:
    """The reset link proved the person: no current password is asked."""
    if state is None:
        raise ValidationFailed(INVALID_LINK, field="token")
    try:
        check_password(new_password, state.handle)
    except ValidationFailed as e:
        raise ValidationFailed(f"new {e.message}", field="newPassword") from None
    return [PasswordChanged(state.user_id, new_hash)]


PASSWORD_RESET_EVENTS: tuple[type[DomainEvent], ...] = (
    PasswordResetRequested,
    PasswordResetIssued,
    PasswordResetUsed,
)
