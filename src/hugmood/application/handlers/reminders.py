"""Handlers for reminder settings, the browsers that get push reminders, and proving an e-mail
address (a code mailed to it)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.ports import Mailer
from hugmood.application.queries import reminders as reminder_queries
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append
from hugmood.domain import mail as mail_rules
from hugmood.domain import reminders as reminder_rules
from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.reminders import (
    AddPushSubscription,
    MarkReminderSent,
    RemovePushSubscription,
    SetReminder,
)

NO_MAIL = "this server sends no e-mail (its operator has not configured SMTP)"


def mailer_of(deps: Dependencies, *, field: str) -> Mailer:
    if deps.mailer is None:
        raise ValidationFailed(NO_MAIL, field=field)
    return deps.mailer


async def change_reminder(
    command: SetReminder | AddPushSubscription | RemovePushSubscription | MarkReminderSent,
    deps: Dependencies,
    context: CommandContext,
) -> CommandResult:
    decide: Callable[[reminder_rules.Reminder], list[DomainEvent]]
    match command:
        case SetReminder():
            if command.enabled and command.by_email:
                mailer_of(deps, field="byEmail")
                found = await reminder_queries.email(deps.readmodels, command.user_id)
                if found.address is None:
                    raise ValidationFailed(
                        "add and confirm an e-mail address before choosing e-mail reminders",
                        field="byEmail",
                    )
            decide = partial(reminder_rules.decide_set, command=command)
        case AddPushSubscription():
            command = replace(command, allow_loopback=deps.push_allow_loopback)
            decide = partial(reminder_rules.decide_add_push, command=command)
        case RemovePushSubscription():
            decide = partial(reminder_rules.decide_remove_push, command=command)
        case MarkReminderSent():
            decide = partial(reminder_rules.decide_sent, command=command)
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=reminder_rules.reminder_stream(command.user_id),
        initial=reminder_rules.Reminder(),
        evolve=reminder_rules.evolve_reminder,
        decide=decide,
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, bool(result))


def new_code() -> str:
    """Six digits: typed by hand, so short; `MAX_CODE_TRIES` and the expiry keep it safe."""
    return f"{secrets.randbelow(1_000_000):06d}"


async def propose_email(
    command: mail_rules.SetEmailAddress, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Keep the code's keyed hash, then mail the code (the caller passes no code of its own)."""
    mailer = mailer_of(deps, field="email")
    address = mail_rules.check_address(command.address)
    if deps.reset_limiter is not None:
        # Codes go to any address typed: limited per account and per address, so nobody
        # can make this server mail someone over and over.
        deps.reset_limiter.hit(f"code-account:{command.user_id}")
        deps.reset_limiter.hit(f"code-address:{address.lower()}")
    code = new_code()
    command = replace(
        command,
        address=address,
        code_hash=deps.tokens.digest(f"email-code:{command.user_id}:{code}"),
        now_ms=int(deps.clock.now().timestamp() * 1000),
    )
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=mail_rules.email_stream(command.user_id),
        initial=mail_rules.EmailAddress(),
        evolve=mail_rules.evolve_email,
        decide=lambda state: mail_rules.decide_propose(state, command),
        user_id=command.user_id,
        context=context,
    )
    await mailer.send(
        address,
        "Your HugMood code",
        f"Your code to confirm this address on HugMood is {code}.\n\n"
        "It works for 30 minutes. If you did not ask for it, ignore this message: "
        "nothing changes without the code.\n",
    )
    return CommandResult(result.last_position if result else 0)


async def confirm_email(
    command: mail_rules.ConfirmEmailAddress, deps: Dependencies, context: CommandContext
) -> CommandResult:
    code = command.code.strip()
    if not code.isdigit() or len(code) != 6:
        raise ValidationFailed("the code is the six digits from the e-mail", field="code")
    command = replace(
        command,
        code="",
        code_hash=deps.tokens.digest(f"email-code:{command.user_id}:{code}"),
        now_ms=int(deps.clock.now().timestamp() * 1000),
    )
    refused = False

    def decide(state: mail_rules.EmailAddress) -> list[DomainEvent]:
        nonlocal refused
        events = mail_rules.decide_confirm(state, command)
        refused = any(isinstance(e, mail_rules.EmailCodeRefused) for e in events)
        return events

    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=mail_rules.email_stream(command.user_id),
        initial=mail_rules.EmailAddress(),
        evolve=mail_rules.evolve_email,
        decide=decide,
        user_id=command.user_id,
        context=context,
    )
    if refused:
        raise ValidationFailed("that code is not right; check the e-mail", field="code")
    return CommandResult(result.last_position if result else 0)


async def remove_email(
    command: mail_rules.RemoveEmailAddress, deps: Dependencies, context: CommandContext
) -> CommandResult:
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=mail_rules.email_stream(command.user_id),
        initial=mail_rules.EmailAddress(),
        evolve=mail_rules.evolve_email,
        decide=lambda state: mail_rules.decide_remove(state, command),
        user_id=command.user_id,
        context=context,
    )
    if result is not None:
        # E-mail reminders stop with the address.
        await _stop_email_reminders(deps, command, context)
    return CommandResult(result.last_position if result else 0)


async def _stop_email_reminders(
    deps: Dependencies, command: mail_rules.RemoveEmailAddress, context: CommandContext
) -> None:
    current = await reminder_queries.reminder(deps.readmodels, command.user_id)
    if current is None or not current.by_email:
        return
    await change_reminder(
        SetReminder(
            command.user_id,
            enabled=current.enabled and current.by_push,
            time=current.time,
            days=current.days,
            time_zone=current.time_zone,
            by_push=current.by_push,
            by_email=False,
        ),
        deps,
        context,
    )
