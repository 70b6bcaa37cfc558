"""Erasing an account (GDPR art. 17): at once, or after a grace period its owner can cancel.

The erasure itself is one event, `UserErased`, after which the person's data key is destroyed
(nothing they wrote can be read again from any store or copy), the boards they owned are
destroyed, those they were ever on are rewritten without their items, and every blob they
stored is deleted. Every read model forgets them from the event.
"""

from __future__ import annotations

import logging

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.handlers.board_images import board_images
from hugmood.application.handlers.identity import end_sessions
from hugmood.application.queries import boards as board_queries
from hugmood.application.queries import erasure as erasure_queries
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import erasure, identity
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.domain.identity import LoginAttempt
from hugmood.ids import UserId

log = logging.getLogger(__name__)

WRONG_PASSWORD = "your password is not right"  # noqa: S105 (a message, not a password)
GONE = "this account does not exist or was already erased"


async def delete_account(
    command: identity.DeleteAccount, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """With the password (throttled like a login): every session ends, then the account is
    erased at once, or its erasure is scheduled `grace_days` ahead (the value is the due
    time in epoch ms, or 0 when it is erased now)."""
    grace_days = erasure.check_grace_days(command.grace_days)
    account = (
        await load(deps.store, identity.user_stream(command.user_id), None, identity.evolve_account)
    ).state
    if account is None:
        raise NotFound(GONE)
    attempt = LoginAttempt(account.handle, context.source_address or "")
    deps.throttle.check(attempt)
    if not await deps.hasher.verify(account.password_hash, command.password):
        deps.throttle.failed(attempt)
        raise ValidationFailed(WRONG_PASSWORD, field="password")
    if grace_days == 0:
        position, _ = await end_sessions(deps, command.user_id, context)
        return await _erase(deps, command.user_id, context, position)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=erasure.erasure_stream(command.user_id),
        initial=None,
        evolve=erasure.evolve,
        decide=lambda due: erasure.decide_schedule(
            due, command.user_id, grace_days, deps.clock.now()
        ),
        user_id=command.user_id,
        context=context,
    )
    position, _ = await end_sessions(deps, command.user_id, context)
    due = await _due(deps, command.user_id)
    return CommandResult(max(position, result.last_position if result else 0), due or 0)


async def cancel_account_deletion(
    command: erasure.CancelAccountDeletion, deps: Dependencies, context: CommandContext
) -> CommandResult:
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=erasure.erasure_stream(command.user_id),
        initial=None,
        evolve=erasure.evolve,
        decide=lambda due: erasure.decide_cancel(due, command),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, True)


async def erase_when_due(
    command: erasure.EraseWhenDue, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """The scheduler's: erase the account if its grace period is over; the value says
    whether it was erased now."""
    if not erasure.is_due(await _due(deps, command.user_id), deps.clock.now()):
        return CommandResult(0, False)
    try:
        result = await _erase(deps, command.user_id, context, 0)
    except NotFound:
        return CommandResult(0, False)  # erased meanwhile, at once
    return CommandResult(result.position, True)


async def _due(deps: Dependencies, user_id: UserId) -> int | None:
    return (await load(deps.store, erasure.erasure_stream(user_id), None, erasure.evolve)).state


async def _erase(
    deps: Dependencies, user_id: UserId, context: CommandContext, position: int
) -> CommandResult:
    boards = await board_queries.boards_of(deps.readmodels, user_id, include_archived=True)
    traces = await erasure_queries.traces_of(deps.readmodels, user_id)
    owned = tuple(b.board_id for b in boards if b.owner_id == user_id)
    joined = tuple(sorted({*traces.boards, *(b.board_id for b in boards)} - set(owned)))
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=identity.user_stream(user_id),
        initial=None,
        evolve=identity.evolve_account,
        decide=lambda state: identity.decide_delete_account(
            state,
            identity.DeleteAccount(user_id, ""),
            boards_owned=owned,
            boards_joined=joined,
        ),
        user_id=user_id,
        context=context,
    )
    # After the event: had the process died in between, whichever process reads the
    # erasure from the log destroys the key (`privacy.keys.cipher`), and what is left of
    # the boards and blobs can no longer be read.
    if deps.data_keys is not None:
        await deps.data_keys.destroy(user_id)
    blobs = set(traces.blobs)
    for board_id in owned:
        blobs |= set((await board_images(deps, board_id)).images)  # nobody can reach them now
    if deps.boards is not None:
        for board_id in owned:
            await deps.boards.forget_board(board_id)
        for board_id in joined:
            await deps.boards.forget_author(board_id, user_id)
    for blob_id in sorted(blobs):
        await deps.blobs.delete(blob_id)
    log.info("an account was erased: %d boards, %d blobs", len(owned) + len(joined), len(blobs))
    return CommandResult(max(position, result.last_position if result else 0), 0)
