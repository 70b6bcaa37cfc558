"""Handlers for signing in with another provider (OpenID Connect): start, finish (state and
nonce checked, each attempt answered once), and linking an identity to an account, which
only the account's owner can do, with their password."""

from __future__ import annotations

import hashlib
from functools import partial

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.handlers.identity_mfa import (
    check_password,
    hold_for_second_factor,
    secrets_of,
    start_session,
)
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import identity
from hugmood.domain import identity_oidc as oidc
from hugmood.domain.errors import (
    Conflict,
    SocialSignInNotLinked,
    Unauthenticated,
    ValidationFailed,
)
from hugmood.eventstore.store import NO_STREAM, ConcurrencyError
from hugmood.security.oidc import OidcProvider, OidcRefused

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
