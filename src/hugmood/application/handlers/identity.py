"""Handlers for registering, logging in and out, and editing a profile."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from hugmood.application.age import AgeGate
from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.handlers.identity_mfa import (
    NewSession as NewSession,
)
from hugmood.application.handlers.identity_mfa import (
    hold_for_second_factor,
    start_session,
)
from hugmood.application.ports import AccountDirectory
from hugmood.application.queries.identity import open_session_ids
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import identity
from hugmood.domain.errors import Conflict, Unauthenticated, ValidationFailed, WrongRegion
from hugmood.domain.identity import LoginAttempt
from hugmood.domain.privacy import Privacy
from hugmood.domain.regions import PUBLIC_PROFILE
from hugmood.eventstore.store import NO_STREAM, ConcurrencyError
from hugmood.ids import SessionId, UserId

BAD_CREDENTIALS = "the handle or password is incorrect"


async def register_user(
    command: identity.RegisterUser, deps: Dependencies, context: CommandContext
) -> CommandResult:
    handle = identity.normalise_handle(command.handle)
    identity.check_password(command.password, handle)
    if deps.rules is not None:
        # The home region follows from the country (regions.geography).
        country, region = deps.rules.home(command.country, command.home_region)
        command = replace(command, country=country, home_region=region)
    user_id = identity.user_id_for(handle)
    stream = identity.user_stream(user_id)
    existing = await load(deps.store, stream, None, identity.evolve_account)
    # Decide (validate, check the handle is free) before spending time on the hash.
    decided = identity.decide_register(existing.state, command, password_hash="")
    if deps.directory is not None:
        await _claim_handle(deps.directory, handle, user_id, command.home_region, context)
    password_hash = await deps.hasher.hash(command.password)
    registered = [
        replace(e, password_hash=password_hash) if isinstance(e, identity.UserRegistered) else e
        for e in decided
    ]
    now = deps.clock.now()
    new = [to_new_event(e, user_id=user_id, context=context, now=now) for e in registered]
    try:
        result = await deps.store.append(stream, new, expected_version=NO_STREAM)
    except ConcurrencyError as e:
        raise Conflict(f"the handle @{handle} is already taken", field="handle") from e
    return CommandResult(result.last_position, user_id)


async def _claim_handle(
    directory: AccountDirectory,
    handle: str,
    user_id: UserId,
    region: str | None,
    context: CommandContext,
) -> None:
    """With several regions: the handle must be free in every region, and the account is
    kept where its country says, which must be this region."""
    if region is None or region != context.region:
        raise WrongRegion(
            f"people there keep their data in {region}, and this is {context.region}",
            field="country",
        )
    held = await directory.claim(handle, user_id, region)
    if held.region != region:
        raise Conflict(f"the handle @{handle} is already taken", field="handle")


async def log_in(
    command: identity.LogIn, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Unknown handles and wrong passwords get the same error after the same work."""
    account: identity.Account | None = None
    try:
        handle = identity.normalise_handle(command.handle)
    except ValidationFailed:
        handle = command.handle.strip().lower()[:64]
    else:
        stream = identity.user_stream(identity.user_id_for(handle))
        account = (await load(deps.store, stream, None, identity.evolve_account)).state
    attempt = LoginAttempt(handle, context.source_address or "", command.device_proof)
    deps.throttle.check(attempt)
    if account is None:
        await deps.hasher.burn(command.password)
        deps.throttle.failed(attempt)
        raise Unauthenticated(BAD_CREDENTIALS)
    if not await deps.hasher.verify(account.password_hash, command.password):
        deps.throttle.failed(attempt)
        raise Unauthenticated(BAD_CREDENTIALS)
    device_proof = deps.throttle.succeeded(attempt)
    await hold_for_second_factor(deps, account, command)
    return await start_session(
        deps, context, user_id=account.user_id, device=command.device, device_proof=device_proof
    )


async def log_out(
    command: identity.LogOut, deps: Dependencies, context: CommandContext
) -> CommandResult:
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=identity.session_stream(command.session_id),
        initial=None,
        evolve=identity.evolve_session,
        decide=lambda state: identity.decide_log_out(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)


async def log_out_everywhere(
    command: identity.LogOutEverywhere, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Ends each open session in its own stream; the value is how many were ended."""
    position, ended = await end_sessions(deps, command.user_id, context)
    return CommandResult(position, ended)


async def end_sessions(
    deps: Dependencies, user_id: UserId, context: CommandContext, *, keep: SessionId | None = None
) -> tuple[int, int]:
    """End every open session of the user but `keep`, each in its own stream: the last
    position written and how many were ended."""
    position, ended = 0, 0
    for session_id in await open_session_ids(deps.readmodels, user_id):
        if session_id == keep:
            continue
        one = identity.LogOut(user_id, session_id)
        result = await decide_and_append(
            deps.store,
            deps.clock,
            stream_id=identity.session_stream(session_id),
            initial=None,
            evolve=identity.evolve_session,
            decide=partial(identity.decide_log_out, command=one),
            user_id=user_id,
            context=context,
        )
        if result is not None:
            position, ended = max(position, result.last_position), ended + 1
    return position, ended


WRONG_CURRENT = "your current password is not right"


async def change_password(
    command: identity.ChangePassword, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Check the current password (throttled like a login), store the new one's hash, end
    every other session; the value is how many sessions were ended."""
    stream = identity.user_stream(command.user_id)
    account = (await load(deps.store, stream, None, identity.evolve_account)).state
    if account is None:
        raise Unauthenticated(BAD_CREDENTIALS)
    attempt = LoginAttempt(account.handle, context.source_address or "")
    deps.throttle.check(attempt)
    if not await deps.hasher.verify(account.password_hash, command.current_password):
        deps.throttle.failed(attempt)
        raise ValidationFailed(WRONG_CURRENT, field="currentPassword")
    identity.decide_change_password(account, command, new_hash="")  # validate before hashing
    new_hash = await deps.hasher.hash(command.new_password)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=stream,
        initial=None,
        evolve=identity.evolve_account,
        decide=lambda state: identity.decide_change_password(state, command, new_hash),
        user_id=command.user_id,
        context=context,
    )
    position, ended = await end_sessions(
        deps, command.user_id, context, keep=command.keep_session_id
    )
    return CommandResult(max(position, result.last_position if result else 0), ended)


async def update_profile(
    command: identity.UpdateProfile, deps: Dependencies, context: CommandContext
) -> CommandResult:
    visibility = command.default_visibility
    if visibility is not None and Privacy.parse(visibility) is Privacy.PUBLIC:
        await AgeGate(deps, command.user_id).require(PUBLIC_PROFILE)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=identity.user_stream(command.user_id),
        initial=None,
        evolve=identity.evolve_account,
        decide=lambda state: identity.decide_update_profile(state, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0)
