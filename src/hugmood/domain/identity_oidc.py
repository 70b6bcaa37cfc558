"""Signing in with another provider (OpenID Connect): one-time sign-in attempts, and the
links between a provider's identity and a HugMood account.

An identity is linked only when the account's owner confirms it (signed in, with their
password); never because an e-mail address matches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Unauthenticated
from hugmood.ids import UserId

SIGN_IN_TTL_MS = 10 * 60 * 1000


def attempt_stream(attempt_key: str) -> str:
    return f"oidc-sign-in-{attempt_key}"


def identity_stream(identity_key: str) -> str:
    return f"oidc-identity-{identity_key}"


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartSocialSignIn:
    """Where to send the person: the provider's authorization URL."""


@dataclass(frozen=True, slots=True)
class FinishSocialSignIn:
    """What the provider sent back to the redirect URL."""

    state: str
    code: str
    device: str | None = None


@dataclass(frozen=True, slots=True)
class LinkSocialSignIn:
    """The signed-in owner confirms (with their password) that the identity is theirs."""

    user_id: UserId
    link_token: str
    password: str


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SocialSignInStarted(DomainEvent):
    EVENT_TYPE = "SocialSignInStarted"
    attempt_key: str
    """A hash of the `state` sent to the provider."""
    nonce: str
    code_verifier: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class SocialSignInAnswered(DomainEvent):
    EVENT_TYPE = "SocialSignInAnswered"
    attempt_key: str


@dataclass(frozen=True, slots=True)
class SocialIdentityLinked(DomainEvent):
    EVENT_TYPE = "SocialIdentityLinked"
    identity_key: str
    """A hash of the issuer and the provider's subject id: neither is kept."""
    user_id: UserId


# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    nonce: str
    code_verifier: str
    expires_at_ms: int
    answered: bool = False


def evolve_attempt(state: Attempt | None, event: DomainEvent) -> Attempt | None:
    match event:
        case SocialSignInStarted():
            return Attempt(event.nonce, event.code_verifier, event.expires_at_ms)
        case SocialSignInAnswered() if state is not None:
            return replace(state, answered=True)
    return state


STALE_ATTEMPT = (
    "this sign-in was not started here, has expired or was already used (the state does not "
    "match); start signing in again"
)


def decide_answer(state: Attempt | None, attempt_key: str, now_ms: int) -> list[DomainEvent]:
    if state is None or state.answered or state.expires_at_ms < now_ms:
        raise Unauthenticated(STALE_ATTEMPT)
    return [SocialSignInAnswered(attempt_key)]


def evolve_link(state: UserId | None, event: DomainEvent) -> UserId | None:
    if isinstance(event, SocialIdentityLinked):
        return event.user_id
    return state


OIDC_EVENTS: tuple[type[DomainEvent], ...] = (
    SocialSignInStarted,
    SocialSignInAnswered,
    SocialIdentityLinked,
)
