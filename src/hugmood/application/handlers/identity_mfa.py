"""Handlers for the second factor: setting up and turning off an authenticator app, recovery
codes, passkeys, and the second step of a sign-in.

Nothing here tells whether an account exists or has a second factor to anyone who has not
given its password: every command either needs a session or a pending token, and the token
is only handed out after the right password.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.queries.identity import AccountView
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import identity
from hugmood.domain import identity_mfa as mfa
from hugmood.domain.common import DomainEvent, clean_text
from hugmood.domain.errors import (
    Forbidden,
    SecondFactorRequired,
    Unauthenticated,
    ValidationFailed,
)
from hugmood.domain.identity import LoginAttempt
from hugmood.eventstore.store import NO_STREAM
from hugmood.ids import UserId
from hugmood.security.mfa import (
    MfaSecrets,
    PendingClaims,
    matching_step,
    new_recovery_codes,
    new_totp_secret,
    otpauth_uri,
)
from hugmood.security.webauthn_passkeys import (
    CHALLENGE_TTL_MS,
    PasskeyCeremonies,
    PasskeyRefused,
    StoredPasskey,
    new_challenge,
)

SECOND_FACTOR = "second-factor"
ENROL = "enrol"
MFA_NEEDED = "this account has two-step sign-in: give a code from your authenticator app, a recovery code or your passkey"
ENROL_NEEDED = (
    "this server requires two-step sign-in: set up an authenticator app to finish signing in"
)
WRONG_ANSWER_FOR_ACCOUNT = "your password is not right"
PASSKEY_REFUSED = "the passkey's answer could not be verified; try again"


@dataclass(frozen=True, slots=True)
class NewSession:
    user_id: UserId
    session_id: str
    token: str
    expires_at_ms: int
    device_proof: str
    """For the device to keep and send with its next logIn (see `LoginThrottle`)."""
    account: AccountView | None = None
    """The account as its home region shows it, when another region started the session (a
    provider sign-in finished here for someone who lives there); None: read it here."""


@dataclass(frozen=True, slots=True)
class TotpSetup:
    secret: str
    otpauth_uri: str


@dataclass(frozen=True, slots=True)
class TotpTurnedOn:
    recovery_codes: list[str]
    session: NewSession | None
    """Set when the setup was the last step of a sign-in the operator's rule held back."""


@dataclass(frozen=True, slots=True)
class PasskeyOptions:
    challenge_id: str
    options_json: str


def secrets_of(deps: Dependencies) -> MfaSecrets:
    if deps.mfa is None:
        raise LookupError("two-step sign-in needs MfaSecrets (bootstrap wires deps.mfa)")
    return deps.mfa


def ceremonies_of(deps: Dependencies) -> PasskeyCeremonies:
    if deps.passkeys is None:
        raise LookupError("passkeys need PasskeyCeremonies (bootstrap wires deps.passkeys)")
    return deps.passkeys


async def _append_factors(
    deps: Dependencies,
    context: CommandContext,
    user_id: UserId,
    decide: Callable[[mfa.SecondFactors], list[DomainEvent]],
) -> int:
    """Decide on a person's second factors and append what was decided to their stream; the
    position written (0 if nothing was)."""
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=mfa.mfa_stream(user_id),
        initial=mfa.SecondFactors(),
        evolve=mfa.evolve_factors,
        decide=decide,
        user_id=user_id,
        context=context,
    )
    return result.last_position if result else 0


async def factors_of(deps: Dependencies, user_id: UserId) -> mfa.SecondFactors:
    return (
        await load(deps.store, mfa.mfa_stream(user_id), mfa.SecondFactors(), mfa.evolve_factors)
    ).state


def methods_of(factors: mfa.SecondFactors) -> list[str]:
    methods = ["TOTP", "RECOVERY_CODE"] if factors.totp_on else []
    return [*methods, "PASSKEY"] if factors.passkeys else methods


async def start_session(
    deps: Dependencies,
    context: CommandContext,
    *,
    user_id: UserId,
    device: str | None,
    device_proof: str,
) -> CommandResult:
    now = deps.clock.now()
    token = deps.tokens.new_token()
    session_id = str(uuid.uuid4())
    started = identity.SessionStarted(
        session_id=session_id,
        user_id=user_id,
        token_hash=deps.tokens.digest(token),
        expires_at_ms=identity.session_expiry_ms(now, deps.session_ttl_hours),
        # What a device calls itself is shown back as text: no control characters (which
        # also keeps it from ever reading as a sealed read-model cell).
        device=None if device is None else clean_text(device, field="device", max_length=100),
    )
    event = to_new_event(started, user_id=user_id, context=context, now=now)
    result = await deps.store.append(
        identity.session_stream(session_id), [event], expected_version=NO_STREAM
    )
    return CommandResult(
        result.last_position,
        NewSession(user_id, session_id, token, started.expires_at_ms, device_proof),
    )


async def hold_for_second_factor(
    deps: Dependencies, account: identity.Account, command: identity.LogIn
) -> None:
    """After the right password: raise `SecondFactorRequired` if the account has a second
    factor, or has none while the operator requires one; return if a session may start."""
    if deps.mfa is None:
        return
    factors = await factors_of(deps, account.user_id)
    if not factors.any and not deps.mfa_required:
        return
    purpose = SECOND_FACTOR if factors.any else ENROL
    claims = PendingClaims(
        account.user_id, account.handle, purpose, command.device, command.device_proof
    )
    token = deps.mfa.pending_token(claims)
    if factors.any:
        raise SecondFactorRequired(MFA_NEEDED, mfa_token=token, methods=methods_of(factors))
    raise SecondFactorRequired(ENROL_NEEDED, mfa_token=token, methods=["ENROL_TOTP"])


def pending(deps: Dependencies, token: str, purpose: str) -> PendingClaims:
    claims = secrets_of(deps).read_pending(token)
    if claims is None or claims.purpose != purpose:
        raise Unauthenticated(mfa.PENDING_EXPIRED)
    return claims


def _second_step_attempt(handle: str, context: CommandContext) -> LoginAttempt:
    """Wrong codes are counted like wrong passwords, on a counter of their own."""
    return LoginAttempt(f"{handle}#second-factor", context.source_address or "")


async def _use_totp_code(
    deps: Dependencies, context: CommandContext, user_id: UserId, code: str
) -> int:
    """Check the code and record its step as used; the last position written."""
    secrets = secrets_of(deps)
    now = deps.clock.now()

    def decide(state: mfa.SecondFactors) -> list[DomainEvent]:
        if state.totp_secret is None:
            raise Unauthenticated(mfa.WRONG_CODE)
        secret = secrets.open(state.totp_secret, user_id)
        step = matching_step(secret, code, now, after_step=state.last_step)
        return list(mfa.decide_use_step(state, user_id, step))

    return await _append_factors(deps, context, user_id, decide)


async def _use_recovery_code(
    deps: Dependencies, context: CommandContext, user_id: UserId, code: str
) -> int:
    code_hash = secrets_of(deps).recovery_hash(code, user_id)
    return await _append_factors(
        deps,
        context,
        user_id,
        partial(mfa.decide_use_recovery_code, user_id=user_id, code_hash=code_hash),
    )


async def _use_code_or_recovery_code(
    deps: Dependencies,
    context: CommandContext,
    *,
    user_id: UserId,
    handle: str,
    code: str | None,
    recovery_code: str | None,
) -> None:
    if not code and not recovery_code:
        raise ValidationFailed(
            "give the code from your authenticator app, or one of your recovery codes",
            field="code",
        )
    if (code and len(code) > 20) or (recovery_code and len(recovery_code) > 40):
        raise ValidationFailed("that code is far too long", field="code")
    attempt = _second_step_attempt(handle, context)
    deps.throttle.check(attempt)
    try:
        if code:
            await _use_totp_code(deps, context, user_id, code)
        else:
            await _use_recovery_code(deps, context, user_id, recovery_code or "")
    except Unauthenticated:
        deps.throttle.failed(attempt)
        raise
    deps.throttle.succeeded(attempt)


async def complete_log_in(
    command: mfa.CompleteLogIn, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """The second step: a TOTP code or a recovery code with the pending token; a session."""
    claims = pending(deps, command.mfa_token, SECOND_FACTOR)
    await _use_code_or_recovery_code(
        deps,
        context,
        user_id=claims.user_id,
        handle=claims.handle,
        code=command.code,
        recovery_code=command.recovery_code,
    )
    return await _session_after_second_step(deps, context, claims)


async def _session_after_second_step(
    deps: Dependencies, context: CommandContext, claims: PendingClaims
) -> CommandResult:
    attempt = LoginAttempt(claims.handle, context.source_address or "", claims.device_proof)
    device_proof = deps.throttle.succeeded(attempt)
    return await start_session(
        deps, context, user_id=claims.user_id, device=claims.device, device_proof=device_proof
    )


# --- the authenticator app ------------------------------------------------------------------


async def start_totp_enrolment(
    command: mfa.StartTotpEnrolment, deps: Dependencies, context: CommandContext
) -> CommandResult:
    secret = new_totp_secret()
    sealed = secrets_of(deps).seal(secret, command.user_id)
    position = await _append_factors(
        deps,
        context,
        command.user_id,
        partial(mfa.decide_start_totp, user_id=command.user_id, sealed_secret=sealed),
    )
    return CommandResult(position, TotpSetup(secret, otpauth_uri(secret, command.handle)))


@dataclass(frozen=True, slots=True)
class ConfirmTotp:
    """`ConfirmTotpEnrolment`, with the pending sign-in it finishes, if any."""

    confirm: mfa.ConfirmTotpEnrolment
    then_sign_in: PendingClaims | None = None


async def confirm_totp_enrolment(
    command: ConfirmTotp, deps: Dependencies, context: CommandContext
) -> CommandResult:
    user_id = command.confirm.user_id
    secrets = secrets_of(deps)
    codes = new_recovery_codes()
    hashes = tuple(secrets.recovery_hash(c, user_id) for c in codes)
    now = deps.clock.now()
    handle = command.then_sign_in.handle if command.then_sign_in else user_id
    attempt = _second_step_attempt(handle, context)
    deps.throttle.check(attempt)

    def decide(state: mfa.SecondFactors) -> list[DomainEvent]:
        if state.totp_on:
            raise ValidationFailed("an authenticator app is already set up", field="code")
        if state.pending_secret is None:
            raise ValidationFailed("start setting up an authenticator app first", field="code")
        secret = secrets.open(state.pending_secret, user_id)
        step = matching_step(secret, command.confirm.code, now)
        if step is None:
            raise ValidationFailed(
                "that code does not match: check the app shows HugMood and try the newest code",
                field="code",
            )
        return [mfa.TotpEnabled(user_id, state.pending_secret, hashes, step)]

    try:
        position = await _append_factors(deps, context, user_id, decide)
    except ValidationFailed:
        deps.throttle.failed(attempt)
        raise
    session: NewSession | None = None
    if command.then_sign_in is not None:
        started = await _session_after_second_step(deps, context, command.then_sign_in)
        position, session = max(position, started.position), started.value
    return CommandResult(position, TotpTurnedOn(codes, session))


async def check_password(
    deps: Dependencies, context: CommandContext, user_id: UserId, password: str
) -> identity.Account:
    account = (
        await load(deps.store, identity.user_stream(user_id), None, identity.evolve_account)
    ).state
    if account is None:
        raise Unauthenticated("this account does not exist")
    attempt = LoginAttempt(account.handle, context.source_address or "")
    deps.throttle.check(attempt)
    if not await deps.hasher.verify(account.password_hash, password):
        deps.throttle.failed(attempt)
        raise ValidationFailed(WRONG_ANSWER_FOR_ACCOUNT, field="password")
    return account


async def disable_totp(
    command: mfa.DisableTotp, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Needs the password and a current code (or a recovery code). Refused while the
    operator requires a second factor and this is the account's only one."""
    account = await check_password(deps, context, command.user_id, command.password)
    factors = await factors_of(deps, command.user_id)
    if not factors.totp_on:
        raise ValidationFailed("no authenticator app is set up")
    if deps.mfa_required and not factors.passkeys:
        raise Forbidden(
            "this server requires two-step sign-in: add a passkey before turning the "
            "authenticator app off"
        )
    await _use_code_or_recovery_code(
        deps,
        context,
        user_id=command.user_id,
        handle=account.handle,
        code=command.code,
        recovery_code=command.recovery_code,
    )
    position = await _append_factors(
        deps,
        context,
        command.user_id,
        lambda state: [mfa.TotpDisabled(command.user_id)] if state.totp_on else [],
    )
    return CommandResult(position, True)


async def replace_recovery_codes(
    command: mfa.ReplaceRecoveryCodes, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """New codes for a current TOTP code; the old ones stop working."""
    user_id = command.user_id
    secrets = secrets_of(deps)
    codes = new_recovery_codes()
    hashes = tuple(secrets.recovery_hash(c, user_id) for c in codes)
    now = deps.clock.now()
    attempt = _second_step_attempt(user_id, context)
    deps.throttle.check(attempt)

    def decide(state: mfa.SecondFactors) -> list[DomainEvent]:
        if state.totp_secret is None:
            raise ValidationFailed("no authenticator app is set up", field="code")
        secret = secrets.open(state.totp_secret, user_id)
        step = matching_step(secret, command.code, now, after_step=state.last_step)
        if step is None:
            raise Unauthenticated(mfa.WRONG_CODE)
        return [mfa.RecoveryCodesReplaced(user_id, hashes, step)]

    try:
        position = await _append_factors(deps, context, user_id, decide)
    except Unauthenticated:
        deps.throttle.failed(attempt)
        raise
    return CommandResult(position, codes)


# --- passkeys -------------------------------------------------------------------------------


async def _issue_challenge(
    deps: Dependencies, context: CommandContext, user_id: UserId, purpose: str
) -> tuple[str, str, int]:
    challenge_id, challenge = str(uuid.uuid4()), new_challenge()
    now = deps.clock.now()
    issued = mfa.PasskeyChallengeIssued(
        challenge_id,
        user_id,
        purpose,
        challenge,
        int(now.timestamp() * 1000) + CHALLENGE_TTL_MS,
    )
    event = to_new_event(issued, user_id=user_id, context=context, now=now)
    result = await deps.store.append(
        mfa.challenge_stream(challenge_id), [event], expected_version=NO_STREAM
    )
    return challenge_id, challenge, result.last_position


async def _use_challenge(
    deps: Dependencies,
    context: CommandContext,
    *,
    challenge_id: str,
    user_id: UserId,
    purpose: str,
) -> str:
    """Mark the challenge used (once, whoever races for it) and return it."""
    if len(challenge_id) > 64:
        raise Unauthenticated(mfa.STALE_CHALLENGE)
    now_ms = int(deps.clock.now().timestamp() * 1000)
    stream = mfa.challenge_stream(challenge_id)
    loaded = await load(deps.store, stream, None, mfa.evolve_challenge)
    await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=stream,
        initial=None,
        evolve=mfa.evolve_challenge,
        decide=partial(mfa.decide_use_challenge, user_id=user_id, purpose=purpose, now_ms=now_ms),
        user_id=user_id,
        context=context,
    )
    assert loaded.state is not None  # decide_use_challenge refused an unknown one
    return loaded.state.challenge


async def start_passkey_registration(
    command: mfa.StartPasskeyRegistration, deps: Dependencies, context: CommandContext
) -> CommandResult:
    factors = await factors_of(deps, command.user_id)
    challenge_id, challenge, position = await _issue_challenge(
        deps, context, command.user_id, "register"
    )
    options = ceremonies_of(deps).registration_options(
        challenge=challenge,
        user_id=command.user_id,
        handle=command.handle,
        display_name=command.display_name,
        existing=list(factors.passkeys),
    )
    return CommandResult(position, PasskeyOptions(challenge_id, options))


async def finish_passkey_registration(
    command: mfa.FinishPasskeyRegistration, deps: Dependencies, context: CommandContext
) -> CommandResult:
    name = mfa.check_passkey_name(command.name)
    challenge = await _use_challenge(
        deps,
        context,
        challenge_id=command.challenge_id,
        user_id=command.user_id,
        purpose="register",
    )
    try:
        verified = ceremonies_of(deps).verify_registration(
            challenge=challenge, credential_json=command.credential_json
        )
    except PasskeyRefused as e:
        raise ValidationFailed(
            f"the new passkey could not be verified ({str(e)[:120]})", field="credential"
        ) from e
    added = mfa.PasskeyAdded(
        command.user_id,
        verified.credential_id,
        verified.public_key,
        verified.sign_count,
        name,
        int(deps.clock.now().timestamp() * 1000),
    )
    position = await _append_factors(
        deps, context, command.user_id, partial(mfa.decide_add_passkey, added=added)
    )
    return CommandResult(position, verified.credential_id)


async def start_passkey_log_in(
    command: mfa.StartPasskeyLogIn, deps: Dependencies, context: CommandContext
) -> CommandResult:
    claims = pending(deps, command.mfa_token, SECOND_FACTOR)
    factors = await factors_of(deps, claims.user_id)
    if not factors.passkeys:
        raise ValidationFailed("this account has no passkey; use a code instead")
    challenge_id, challenge, position = await _issue_challenge(
        deps, context, claims.user_id, "sign-in"
    )
    options = ceremonies_of(deps).authentication_options(
        challenge=challenge, allowed=list(factors.passkeys)
    )
    return CommandResult(position, PasskeyOptions(challenge_id, options))


async def finish_passkey_log_in(
    command: mfa.FinishPasskeyLogIn, deps: Dependencies, context: CommandContext
) -> CommandResult:
    claims = pending(deps, command.mfa_token, SECOND_FACTOR)
    attempt = _second_step_attempt(claims.handle, context)
    deps.throttle.check(attempt)
    ceremonies = ceremonies_of(deps)
    challenge = await _use_challenge(
        deps, context, challenge_id=command.challenge_id, user_id=claims.user_id, purpose="sign-in"
    )
    try:
        credential_id = ceremonies.credential_id_of(command.credential_json)
        factors = await factors_of(deps, claims.user_id)
        passkey = factors.passkeys.get(credential_id)
        if passkey is None:
            raise PasskeyRefused("not one of this account's passkeys")
        sign_count = ceremonies.verify_authentication(
            challenge=challenge,
            credential_json=command.credential_json,
            passkey=StoredPasskey(passkey.credential_id, passkey.public_key, passkey.sign_count),
        )
    except PasskeyRefused as e:
        deps.throttle.failed(attempt)
        raise Unauthenticated(PASSKEY_REFUSED) from e
    used = mfa.PasskeyUsed(claims.user_id, credential_id, sign_count)
    await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=mfa.mfa_stream(claims.user_id),
        initial=mfa.SecondFactors(),
        evolve=mfa.evolve_factors,
        decide=partial(mfa.decide_use_passkey, used=used),
        user_id=claims.user_id,
        context=context,
    )
    deps.throttle.succeeded(attempt)
    return await _session_after_second_step(deps, context, claims)


async def remove_passkey(
    command: mfa.RemovePasskey, deps: Dependencies, context: CommandContext
) -> CommandResult:
    await check_password(deps, context, command.user_id, command.password)
    factors = await factors_of(deps, command.user_id)
    if deps.mfa_required and not factors.totp_on and len(factors.passkeys) == 1:
        raise Forbidden(
            "this server requires two-step sign-in: set up an authenticator app or another "
            "passkey before removing your last one"
        )
    position = await _append_factors(
        deps,
        context,
        command.user_id,
        partial(
            mfa.decide_remove_passkey, user_id=command.user_id, credential_id=command.credential_id
        ),
    )
    return CommandResult(position, True)
