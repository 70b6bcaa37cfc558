"""Handlers for password reset by e-mail: asking (no answer tells whether the address is
known; rate limited per address and per source) and setting a new password with the link."""

from __future__ import annotations

import uuid
from dataclasses import replace
from functools import partial

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.handlers.identity import log_out_everywhere
from hugmood.application.handlers.reminders import mailer_of
from hugmood.application.ports import RateLimiter
from hugmood.application.queries import password_resets as reset_queries
from hugmood.application.queries import reminders as reminder_queries
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import identity
from hugmood.domain import password_reset as reset_rules
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.mail import check_address
from hugmood.ids import UserId

MAX_TOKEN = 200


def _limiter(deps: Dependencies) -> RateLimiter:
    if deps.reset_limiter is None:
        raise LookupError("password reset needs a rate limiter (bootstrap wires reset_limiter)")
    return deps.reset_limiter


async def request_password_reset(
    command: reset_rules.RequestPasswordReset, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """One request event is appended whether or not an account confirmed the address, and
    the mail goes out later (the reminder service sends it), so neither the answer nor its
    timing says whether the address is known."""
    mailer_of(deps, field="email")
    address = check_address(command.address)
    limiter = _limiter(deps)
    limiter.hit(f"address:{address.lower()}")
    if context.source_address:
        limiter.hit(f"source:{context.source_address}")
    users: list[UserId | None] = [
        *await reminder_queries.users_with_address(deps.readmodels, address)
    ]
    position = 0
    for user_id in users or [None]:
        one = replace(command, address="", request_id=str(uuid.uuid4()), user_id=user_id)
        result = await decide_and_append(
            deps.store,
            deps.clock,
            stream_id=reset_rules.reset_stream(one.request_id),
            initial=None,
            evolve=reset_rules.evolve_request,
            decide=partial(reset_rules.decide_request, command=one),
            user_id=user_id,
            context=context,
        )
        position = max(position, result.last_position if result else 0)
    return CommandResult(position, True)


async def issue_reset_token(
    command: reset_rules.IssueResetToken, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """The mailer's claim: the value says whether this caller won it (and so mails it)."""
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=reset_rules.reset_stream(command.request_id),
        initial=None,
        evolve=reset_rules.evolve_request,
        decide=partial(reset_rules.decide_issue, command=command),
        user_id=None,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, result is not None)


async def reset_password(
    command: reset_rules.ResetPassword, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Set the new password and end every session; the link works once."""
    if context.source_address:
        _limiter(deps).hit(f"reset:{context.source_address}")
    token = command.token.strip()
    if not token or len(token) > MAX_TOKEN:
        raise ValidationFailed(reset_rules.INVALID_LINK, field="token")
    token_hash = deps.tokens.digest(token)
    request_id = await reset_queries.request_for_token(deps.readmodels, token_hash)
    if request_id is None:
        raise ValidationFailed(reset_rules.INVALID_LINK, field="token")
    stream = reset_rules.reset_stream(request_id)
    request = (await load(deps.store, stream, None, reset_rules.evolve_request)).state
    now_ms = int(deps.clock.now().timestamp() * 1000)
    reset_rules.decide_use(request, request_id=request_id, token_hash=token_hash, now_ms=now_ms)
    if request is None or request.user_id is None:  # decide_use has refused these already
        raise ValidationFailed(reset_rules.INVALID_LINK, field="token")
    user_id = request.user_id
    account_stream = identity.user_stream(user_id)
    account = (await load(deps.store, account_stream, None, identity.evolve_account)).state
    reset_rules.decide_new_password(account, command.new_password, new_hash="")  # validate
    new_hash = await deps.hasher.hash(command.new_password)
    # The token is spent first (a compare-and-set on its stream): two uses racing, one wins.
    await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=stream,
        initial=None,
        evolve=reset_rules.evolve_request,
        decide=partial(
            reset_rules.decide_use, request_id=request_id, token_hash=token_hash, now_ms=now_ms
        ),
        user_id=user_id,
        context=context,
    )
    changed = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=account_stream,
        initial=None,
        evolve=identity.evolve_account,
        decide=lambda state: reset_rules.decide_new_password(state, command.new_password, new_hash),
        user_id=user_id,
        context=context,
    )
    ended = await log_out_everywhere(identity.LogOutEverywhere(user_id), deps, context)
    return CommandResult(max(ended.position, changed.last_position if changed else 0), True)
