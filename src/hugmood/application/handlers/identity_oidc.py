"""Handlers for signing in with another provider (OpenID Connect): start, finish (state and
nonce checked, each attempt answered once), and linking an identity to an account, which
only the account's owner can do, with their password."""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.handlers.identity_mfa import (
    NewSession,
    check_password,
    hold_for_second_factor,
    secrets_of,
    start_session,
)
from hugmood.application.queries.identity import AccountView, account_by_id
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import identity
from hugmood.domain import identity_oidc as oidc
from hugmood.domain.errors import (
    Conflict,
    SecondFactorRequired,
    SocialSignInNotLinked,
    Unauthenticated,
    ValidationFailed,
)
from hugmood.domain.privacy import Privacy
from hugmood.eventstore.store import NO_STREAM, ConcurrencyError
from hugmood.security.oidc import OidcIdentity, OidcProvider, OidcRefused
from hugmood.unavailable import BackendUnavailable

MAX_STATE = 200
MAX_CODE = 2000
LINK_EXPIRED = "this link has expired or is not valid; sign in with the provider again"


def provider_of(deps: Dependencies) -> OidcProvider:
    if deps.oidc is None:
        raise ValidationFailed("this server has no sign-in with another provider set up")
    return deps.oidc


def _attempt_key(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()[:40]


async def start_social_sign_in(
    command: oidc.StartSocialSignIn, deps: Dependencies, context: CommandContext
) -> CommandResult:
    provider = provider_of(deps)
    provider.starts.hit(f"source:{context.source_address or ''}")
    try:
        started = await provider.start()
    except OidcRefused as e:
        raise ValidationFailed(f"{provider.name} cannot be reached right now; try again") from e
    now = deps.clock.now()
    key = _attempt_key(started.state)
    event = oidc.SocialSignInStarted(
        key,
        started.nonce,
        started.code_verifier,
        int(now.timestamp() * 1000) + oidc.SIGN_IN_TTL_MS,
    )
    result = await deps.store.append(
        oidc.attempt_stream(key),
        [to_new_event(event, user_id=None, context=context, now=now)],
        expected_version=NO_STREAM,
    )
    return CommandResult(result.last_position, started.authorization_url)


async def finish_social_sign_in(
    command: oidc.FinishSocialSignIn, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """A session for the linked account (after its second step, if it has one); for an
    identity nobody linked, `NOT_LINKED` with a token its owner can link it with."""
    provider = provider_of(deps)
    if not command.state or len(command.state) > MAX_STATE:
        raise Unauthenticated(oidc.STALE_ATTEMPT)
    if not command.code or len(command.code) > MAX_CODE:
        raise ValidationFailed("the provider sent no usable code; start again", field="code")
    key = _attempt_key(command.state)
    now_ms = int(deps.clock.now().timestamp() * 1000)
    stream = oidc.attempt_stream(key)
    attempt = (await load(deps.store, stream, None, oidc.evolve_attempt)).state
    await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=stream,
        initial=None,
        evolve=oidc.evolve_attempt,
        decide=partial(oidc.decide_answer, attempt_key=key, now_ms=now_ms),
        user_id=None,
        context=context,
    )
    assert attempt is not None  # decide_answer refused an unknown attempt
    try:
        found = await provider.finish(
            code=command.code, nonce=attempt.nonce, code_verifier=attempt.code_verifier
        )
    except OidcRefused as e:
        raise Unauthenticated(
            f"{provider.name} did not confirm this sign-in (the answer did not check out); "
            "start again"
        ) from e
    link = oidc.identity_stream(found.key)
    user_id = (await load(deps.store, link, None, oidc.evolve_link)).state
    account = None
    if user_id is not None:
        stream_of_user = identity.user_stream(user_id)
        account = (await load(deps.store, stream_of_user, None, identity.evolve_account)).state
    if account is None and deps.federation is not None:
        # Perhaps linked by someone who lives in another region: their region checks the
        # provider's ID token again and starts the session there.
        elsewhere = await _linked_abroad(deps, found, attempt.nonce, command.device)
        if elsewhere is not None:
            return CommandResult(0, elsewhere)
    if account is None:
        raise SocialSignInNotLinked(
            f"no HugMood account is linked to this {provider.name} sign-in yet: log in with "
            "your password, then link it (this link works for ten minutes)",
            link_token=secrets_of(deps).link_token(found.key),
        )
    await hold_for_second_factor(
        deps, account, identity.LogIn(account.handle, "", device=command.device)
    )
    return await start_session(
        deps, context, user_id=account.user_id, device=command.device, device_proof=""
    )


async def link_social_sign_in(
    command: oidc.LinkSocialSignIn, deps: Dependencies, context: CommandContext
) -> CommandResult:
    identity_key = secrets_of(deps).read_link(command.link_token)
    if identity_key is None:
        raise Unauthenticated(LINK_EXPIRED)
    await check_password(deps, context, command.user_id, command.password)
    now = deps.clock.now()
    event = oidc.SocialIdentityLinked(identity_key, command.user_id)
    try:
        result = await deps.store.append(
            oidc.identity_stream(identity_key),
            [to_new_event(event, user_id=command.user_id, context=context, now=now)],
            expected_version=NO_STREAM,
        )
    except ConcurrencyError as e:
        raise Conflict("this sign-in is already linked to a HugMood account") from e
    return CommandResult(result.last_position, True)


async def _linked_abroad(
    deps: Dependencies, found: OidcIdentity, nonce: str, device: str | None
) -> NewSession | None:
    """The session the region keeping the account linked to `found` starts for it (or its
    second step), asking each other region in turn; None: no region has it linked."""
    assert deps.federation is not None
    ask = {"idToken": found.id_token, "nonce": nonce, "device": device}
    for region in deps.federation.regions():
        try:
            answer = await deps.federation.call(region, "socialSignIn", ask)
        except BackendUnavailable:
            continue  # its people sign in again once it is back
        step = answer.get("mfa")
        if isinstance(step, dict):
            raise SecondFactorRequired(
                str(step.get("message", "one more step")),
                mfa_token=str(step.get("mfaToken", "")),
                methods=[str(m) for m in step.get("methods", ())],
            )
        session = answer.get("session")
        if isinstance(session, dict):
            try:
                return session_from_wire(session)
            except (KeyError, TypeError, ValueError):
                continue  # a malformed answer: not a session
    return None


async def sign_in_here(
    deps: Dependencies, context: CommandContext, id_token: str, nonce: str, device: str | None
) -> dict[str, Any]:
    """Another region's answer for someone who may live here: the provider's ID token checked
    again here, then this region's session for the account linked to it (or its second step);
    `{"linked": False}` when nobody here linked it."""
    provider = provider_of(deps)
    try:
        found = await provider.verify(id_token, nonce)
    except OidcRefused as e:
        raise Unauthenticated(f"{provider.name} did not confirm this sign-in") from e
    user_id = (
        await load(deps.store, oidc.identity_stream(found.key), None, oidc.evolve_link)
    ).state
    account = None
    if user_id is not None:
        stream = identity.user_stream(user_id)
        account = (await load(deps.store, stream, None, identity.evolve_account)).state
    if account is None:
        return {"linked": False}
    try:
        await hold_for_second_factor(
            deps, account, identity.LogIn(account.handle, "", device=device)
        )
    except SecondFactorRequired as e:
        return {"mfa": {"message": e.message, "mfaToken": e.mfa_token, "methods": e.methods}}
    result = await start_session(
        deps, context, user_id=account.user_id, device=device, device_proof=""
    )
    session: NewSession = result.value
    view = await account_by_id(deps.readmodels, account.user_id)
    return {"session": session_to_wire(session, view), "position": result.position}


def session_to_wire(session: NewSession, account: AccountView | None) -> dict[str, Any]:
    wired: dict[str, Any] = {
        "userId": session.user_id,
        "sessionId": session.session_id,
        "token": session.token,
        "expiresAtMs": session.expires_at_ms,
    }
    if account is not None:
        wired["account"] = {
            "handle": account.handle,
            "displayName": account.display_name,
            "bio": account.bio,
            "homeRegion": account.home_region,
            "defaultVisibility": account.default_visibility.value,
            "registeredAtMs": account.registered_at_ms,
            "appearOffline": account.appear_offline,
        }
    return wired


def session_from_wire(d: dict[str, Any]) -> NewSession:
    """A session another region started, with its account as that region shows it."""
    a = d.get("account")
    account = None
    if isinstance(a, dict):
        account = AccountView(
            user_id=str(d["userId"]),
            handle=str(a["handle"]),
            display_name=str(a["displayName"]),
            bio=str(a["bio"]),
            home_region=str(a["homeRegion"]),
            default_visibility=Privacy(a["defaultVisibility"]),
            registered_at_ms=int(a["registeredAtMs"]),
            appear_offline=bool(a["appearOffline"]),
        )
    return NewSession(
        user_id=str(d["userId"]),
        session_id=str(d["sessionId"]),
        token=str(d["token"]),
        expires_at_ms=int(d["expiresAtMs"]),
        device_proof="",
        account=account,
    )
