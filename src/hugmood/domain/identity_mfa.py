"""A person's second factors (a TOTP authenticator with its recovery codes, passkeys) and the
one-time passkey challenges: commands, events and the rules between them.

The factors of one account live in the stream `mfa-<user id>`; every use of a code or a
passkey is an event there, appended with optimistic concurrency, so a code can be used once
even when two requests race with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from hugmood.ids import UserId

WRONG_CODE = "that code is not right (or was already used); try the newest one your app shows"
WRONG_RECOVERY_CODE = "that recovery code is not right or was already used"
PENDING_EXPIRED = "this sign-in has expired or is not valid; sign in with your password again"
MAX_PASSKEYS = 10
MAX_PASSKEY_NAME = 50


def mfa_stream(user_id: UserId) -> str:
    return f"mfa-{user_id}"


def challenge_stream(challenge_id: str) -> str:
    return f"passkey-challenge-{challenge_id}"


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartTotpEnrolment:
    """Make a new secret for the person to add to their authenticator app."""

    user_id: UserId
    handle: str


@dataclass(frozen=True, slots=True)
class ConfirmTotpEnrolment:
    """Turn the started secret on, once a code from it proves the app has it."""

    user_id: UserId
    code: str


@dataclass(frozen=True, slots=True)
class DisableTotp:
    user_id: UserId
    password: str
    code: str | None = None
    recovery_code: str | None = None


@dataclass(frozen=True, slots=True)
class ReplaceRecoveryCodes:
    user_id: UserId
    code: str


@dataclass(frozen=True, slots=True)
class CompleteLogIn:
    """The second step of a sign-in: the pending token and one code."""

    mfa_token: str
    code: str | None = None
    recovery_code: str | None = None
    device: str | None = None


@dataclass(frozen=True, slots=True)
class StartPasskeyRegistration:
    user_id: UserId
    handle: str
    display_name: str


@dataclass(frozen=True, slots=True)
class FinishPasskeyRegistration:
    user_id: UserId
    challenge_id: str
    credential_json: str
    name: str


@dataclass(frozen=True, slots=True)
class StartPasskeyLogIn:
    mfa_token: str


@dataclass(frozen=True, slots=True)
class FinishPasskeyLogIn:
    mfa_token: str
    challenge_id: str
    credential_json: str


@dataclass(frozen=True, slots=True)
class RemovePasskey:
    user_id: UserId
    credential_id: str
    password: str


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TotpEnrolmentStarted(DomainEvent):
    EVENT_TYPE = "TotpEnrolmentStarted"
    user_id: UserId
    sealed_secret: str
    """AES-GCM under a key derived from the server's secret: the log never holds it plain."""


@dataclass(frozen=True, slots=True)
class TotpEnabled(DomainEvent):
    EVENT_TYPE = "TotpEnabled"
    user_id: UserId
    sealed_secret: str
    recovery_code_hashes: tuple[str, ...]
    step: int
    """The time step of the code that confirmed it: that code is used."""


@dataclass(frozen=True, slots=True)
class TotpCodeUsed(DomainEvent):
    EVENT_TYPE = "TotpCodeUsed"
    user_id: UserId
    step: int


@dataclass(frozen=True, slots=True)
class RecoveryCodeUsed(DomainEvent):
    EVENT_TYPE = "RecoveryCodeUsed"
    user_id: UserId
    code_hash: str


@dataclass(frozen=True, slots=True)
class RecoveryCodesReplaced(DomainEvent):
    EVENT_TYPE = "RecoveryCodesReplaced"
    user_id: UserId
    recovery_code_hashes: tuple[str, ...]
    step: int


@dataclass(frozen=True, slots=True)
class TotpDisabled(DomainEvent):
    EVENT_TYPE = "TotpDisabled"
    user_id: UserId


@dataclass(frozen=True, slots=True)
class PasskeyAdded(DomainEvent):
    EVENT_TYPE = "PasskeyAdded"
    user_id: UserId
    credential_id: str
    """base64url, as WebAuthn names it."""
    public_key: str
    """The COSE public key, base64url."""
    sign_count: int
    name: str
    added_at_ms: int


@dataclass(frozen=True, slots=True)
class PasskeyUsed(DomainEvent):
    EVENT_TYPE = "PasskeyUsed"
    user_id: UserId
    credential_id: str
    sign_count: int


@dataclass(frozen=True, slots=True)
class PasskeyRemoved(DomainEvent):
    EVENT_TYPE = "PasskeyRemoved"
    user_id: UserId
    credential_id: str


@dataclass(frozen=True, slots=True)
class PasskeyChallengeIssued(DomainEvent):
    EVENT_TYPE = "PasskeyChallengeIssued"
    challenge_id: str
    user_id: UserId
    purpose: str
    """`register` or `sign-in`."""
    challenge: str
    """base64url; random, one use."""
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class PasskeyChallengeUsed(DomainEvent):
    EVENT_TYPE = "PasskeyChallengeUsed"
    challenge_id: str
    user_id: UserId


# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Passkey:
    credential_id: str
    public_key: str
    sign_count: int
    name: str
    added_at_ms: int


@dataclass(frozen=True, slots=True)
class SecondFactors:
    pending_secret: str | None = None
    totp_secret: str | None = None
    last_step: int = -1
    recovery_code_hashes: frozenset[str] = frozenset()
    passkeys: dict[str, Passkey] = field(default_factory=dict)

    @property
    def totp_on(self) -> bool:
        return self.totp_secret is not None

    @property
    def any(self) -> bool:
        return self.totp_on or bool(self.passkeys)


def evolve_factors(state: SecondFactors, event: DomainEvent) -> SecondFactors:
    match event:
        case TotpEnrolmentStarted():
            return replace(state, pending_secret=event.sealed_secret)
        case TotpEnabled():
            return replace(
                state,
                pending_secret=None,
                totp_secret=event.sealed_secret,
                last_step=event.step,
                recovery_code_hashes=frozenset(event.recovery_code_hashes),
            )
        case TotpCodeUsed():
            return replace(state, last_step=max(state.last_step, event.step))
        case RecoveryCodeUsed():
            return replace(
                state, recovery_code_hashes=state.recovery_code_hashes - {event.code_hash}
            )
        case RecoveryCodesReplaced():
            return replace(
                state,
                recovery_code_hashes=frozenset(event.recovery_code_hashes),
                last_step=max(state.last_step, event.step),
            )
        case TotpDisabled():
            return replace(
                state, pending_secret=None, totp_secret=None, recovery_code_hashes=frozenset()
            )
        case PasskeyAdded():
            key = Passkey(
                event.credential_id,
                event.public_key,
                event.sign_count,
                event.name,
                event.added_at_ms,
            )
            return replace(state, passkeys={**state.passkeys, event.credential_id: key})
        case PasskeyUsed() if event.credential_id in state.passkeys:
            used = replace(state.passkeys[event.credential_id], sign_count=event.sign_count)
            return replace(state, passkeys={**state.passkeys, event.credential_id: used})
        case PasskeyRemoved():
            rest = {k: v for k, v in state.passkeys.items() if k != event.credential_id}
            return replace(state, passkeys=rest)
    return state


def decide_start_totp(
    state: SecondFactors, user_id: UserId, sealed_secret: str
) -> list[DomainEvent]:
    if state.totp_on:
        raise Conflict(
            "an authenticator app is already set up; turn it off first to set up another"
        )
    return [TotpEnrolmentStarted(user_id, sealed_secret)]


def decide_use_step(state: SecondFactors, user_id: UserId, step: int | None) -> list[DomainEvent]:
    """Record the code's step as used; refuse it if it is not later than the last one used
    (checked again on the state this append is made against)."""
    if step is None or step <= state.last_step:
        raise Unauthenticated(WRONG_CODE)
    return [TotpCodeUsed(user_id, step)]


def decide_use_recovery_code(
    state: SecondFactors, user_id: UserId, code_hash: str
) -> list[DomainEvent]:
    if code_hash not in state.recovery_code_hashes:
        raise Unauthenticated(WRONG_RECOVERY_CODE)
    return [RecoveryCodeUsed(user_id, code_hash)]


def check_passkey_name(name: str) -> str:
    value = " ".join(name.split())
    if not value:
        return "Passkey"
    if len(value) > MAX_PASSKEY_NAME:
        raise ValidationFailed(
            f"a passkey's name must be at most {MAX_PASSKEY_NAME} characters", field="name"
        )
    return value


def decide_add_passkey(state: SecondFactors, added: PasskeyAdded) -> list[DomainEvent]:
    if added.credential_id in state.passkeys:
        raise Conflict("this passkey is already registered")
    if len(state.passkeys) >= MAX_PASSKEYS:
        raise ValidationFailed(f"you can register at most {MAX_PASSKEYS} passkeys")
    return [added]


def decide_use_passkey(state: SecondFactors, used: PasskeyUsed) -> list[DomainEvent]:
    """Record the authenticator's new signature count; refuse one that did not go up (a
    cloned authenticator, or an answer raced by another), unless it never counts (0)."""
    passkey = state.passkeys.get(used.credential_id)
    if passkey is None:
        raise Unauthenticated(STALE_CHALLENGE)
    if (used.sign_count or passkey.sign_count) and used.sign_count <= passkey.sign_count:
        raise Unauthenticated(STALE_CHALLENGE)
    return [used]


def decide_remove_passkey(
    state: SecondFactors, user_id: UserId, credential_id: str
) -> list[DomainEvent]:
    if credential_id not in state.passkeys:
        raise NotFound("you have no passkey with this id", field="id")
    return [PasskeyRemoved(user_id, credential_id)]


@dataclass(frozen=True, slots=True)
class Challenge:
    challenge_id: str
    user_id: UserId
    purpose: str
    challenge: str
    expires_at_ms: int
    used: bool = False


def evolve_challenge(state: Challenge | None, event: DomainEvent) -> Challenge | None:
    match event:
        case PasskeyChallengeIssued():
            return Challenge(
                event.challenge_id,
                event.user_id,
                event.purpose,
                event.challenge,
                event.expires_at_ms,
            )
        case PasskeyChallengeUsed() if state is not None:
            return replace(state, used=True)
    return state


STALE_CHALLENGE = "this passkey request has expired or was already answered; start again"


def decide_use_challenge(
    state: Challenge | None, *, user_id: UserId, purpose: str, now_ms: int
) -> list[DomainEvent]:
    if (
        state is None
        or state.used
        or state.user_id != user_id
        or state.purpose != purpose
        or state.expires_at_ms < now_ms
    ):
        raise Unauthenticated(STALE_CHALLENGE)
    return [PasskeyChallengeUsed(state.challenge_id, state.user_id)]


MFA_EVENTS: tuple[type[DomainEvent], ...] = (
    TotpEnrolmentStarted,
    TotpEnabled,
    TotpCodeUsed,
    RecoveryCodeUsed,
    RecoveryCodesReplaced,
    TotpDisabled,
    PasskeyAdded,
    PasskeyUsed,
    PasskeyRemoved,
    PasskeyChallengeIssued,
    PasskeyChallengeUsed,
)
