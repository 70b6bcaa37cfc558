"""What command handlers are given: the named ports, wired once by `bootstrap`."""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.application.ports import (
    AccountDirectory,
    BoardContent,
    Clock,
    DataKeys,
    Federation,
    LoginThrottle,
    Mailer,
    PasswordHasher,
    RateLimiter,
    RegionalRules,
    SessionTokens,
)
from hugmood.blobs.store import BlobStore
from hugmood.eventstore.store import EventStore
from hugmood.security.mfa import MfaSecrets
from hugmood.security.oidc import OidcProvider
from hugmood.security.webauthn_passkeys import PasskeyCeremonies
from hugmood.sql.database import SqlDatabase


@dataclass(frozen=True, slots=True)
class Dependencies:
    store: EventStore
    readmodels: SqlDatabase
    clock: Clock
    hasher: PasswordHasher
    throttle: LoginThrottle
    tokens: SessionTokens
    hug_limiter: RateLimiter
    blobs: BlobStore
    session_ttl_hours: float = 24 * 30
    age_required: int = 0
    """The operator's minimum verified age for the age-gated features (0: none)."""
    rules: RegionalRules | None = None
    """The regional policy engine: home regions from countries, and the rules there."""
    age_rules: bool = False
    """Whether the gated features need the verified age the person's country's rule says."""
    mailer: Mailer | None = None
    """None: this server sends no e-mail (no SMTP server configured)."""
    push_allow_loopback: bool = False
    """Tests only: a push endpoint may be a local stand-in on 127.0.0.1 or ::1."""
    data_keys: DataKeys | None = None
    """People's data keys, destroyed by erasure (None: a bare store with nothing encrypted)."""
    directory: AccountDirectory | None = None
    """The global directory of several regions (None: one region, no directory)."""
    federation: Federation | None = None
    """The other regions, for friends across a border (None: one region)."""
    boards: BoardContent | None = None
    """Boards' content, rewritten without an erased member or destroyed with its owner."""
    reset_limiter: RateLimiter | None = None
    """Mail anyone can cause: password reset requests per address and per source, reset
    attempts per source, e-mail address codes per account and per address."""
    mfa: MfaSecrets | None = None
    """Seals TOTP secrets, hashes recovery codes, signs the second step's pending token."""
    mfa_required: bool = False
    """The operator's rule: an account without a second factor sets one up before a session."""
    passkeys: PasskeyCeremonies | None = None
    oidc: OidcProvider | None = None
    """The other provider people may sign in with (None: none set up)."""
