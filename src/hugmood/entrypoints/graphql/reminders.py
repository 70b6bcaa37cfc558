"""GraphQL for daily reminders: when and how, the browsers that get them by push, your e-mail
address (yours alone to see: no other query shows it), and password reset by e-mail."""

from __future__ import annotations

from functools import cache

import strawberry

from hugmood.application.queries import reminders as reminder_queries
from hugmood.config import Settings
from hugmood.domain import mail as mail_rules
from hugmood.domain import password_reset as reset_rules
from hugmood.domain import reminders as reminder_rules
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.reminders.scheduler import ReminderScheduler, vapid_keys


@strawberry.type(description="Your daily check-in reminder and where it reaches you.")
class ReminderSettings:
    enabled: bool
    time: str = strawberry.field(description="HH:MM, on a 24-hour clock, in timeZone.")
    days: list[str] = strawberry.field(description="Among mon, tue, wed, thu, fri, sat, sun.")
    time_zone: str = strawberry.field(description="An IANA time zone, such as Europe/Paris.")
    by_push: bool
    by_email: bool
    quiet_days: int = strawberry.field(
        description="0: every chosen day; N: only after N days without a check-in."
    )
    push_endpoints: list[str] = strawberry.field(
        description="The push endpoints of your browsers that get reminders."
    )
    push_public_key: str = strawberry.field(
        description="The server's VAPID key: the applicationServerKey to subscribe with."
    )
    email: str | None = strawberry.field(description="Your confirmed address, if any.")
    email_pending: str | None = strawberry.field(
        description="An address waiting for the code mailed to it."
    )
    email_available: bool = strawberry.field(
        description="Whether this server sends e-mail at all (its operator configured SMTP)."
    )


@strawberry.input
class SetReminderInput:
    enabled: bool
    time: str = "20:00"
    days: list[str] = strawberry.field(default_factory=lambda: list(reminder_rules.DAYS))
    time_zone: str = "UTC"
    by_push: bool = True
    by_email: bool = False
    quiet_days: int = strawberry.field(
        default=0,
        description="0: remind on every chosen day. 1 to 30: only once you have not checked "
        'in for that many days (a gentle "you haven\'t checked in for a while").',
    )


@strawberry.input(description="A browser's PushSubscription, as its toJSON() gives it.")
class PushSubscriptionInput:
    endpoint: str
    p256dh: str
    auth: str


def _public_key(info: Ctx) -> str:
    """The VAPID key of this process's scheduler; an edge runs none (workers send), so it
    reads the key they share from the data folder."""
    for service in info.context.core.services:
        if isinstance(service, ReminderScheduler):
            return service.public_key
    return kept_public_key(info.context.core.settings)


@cache
def kept_public_key(settings: Settings) -> str:
    return vapid_keys(settings).public_key


async def _settings(info: Ctx, user_id: str) -> ReminderSettings:
    db = info.context.core.readmodels
    found = await reminder_queries.reminder(db, user_id)
    current = found or reminder_queries.ReminderView(
        user_id, False, "20:00", reminder_rules.DAYS, "UTC", True, False, None
    )
    address = await reminder_queries.email(db, user_id)
    targets = await reminder_queries.push_targets(db, user_id)
    return ReminderSettings(
        enabled=current.enabled,
        time=current.time,
        days=list(current.days),
        time_zone=current.time_zone,
        by_push=current.by_push,
        by_email=current.by_email,
        quiet_days=current.quiet_days,
        push_endpoints=[p.endpoint for p in targets],
        push_public_key=_public_key(info),
        email=address.address,
        email_pending=address.pending,
        email_available=info.context.core.deps.mailer is not None,
    )


async def _send(info: Ctx, command: object) -> None:
    await info.context.core.bus.handle(command, info.context.command)


@strawberry.type
class ReminderQueries:
    @strawberry.field(description="Your reminder settings (defaults if you never set one).")
    async def reminder_settings(self, info: Ctx) -> ReminderSettings:
        me = await info.context.principal()
        return await _settings(info, me.user_id)


@strawberry.type
class ReminderMutations:
    @strawberry.mutation(
        description="Set your daily reminder: sent at `time` in `timeZone` on `days`, unless "
        "you have already checked in that day. VALIDATION names the field that is wrong."
    )
    async def set_reminder(self, info: Ctx, input: SetReminderInput) -> ReminderSettings:
        me = await info.context.principal()
        command = reminder_rules.SetReminder(
            me.user_id,
            enabled=input.enabled,
            time=input.time[:100],
            days=tuple(d[:100] for d in input.days[:20]),
            time_zone=input.time_zone[:100],
            by_push=input.by_push,
            by_email=input.by_email,
            quiet_days=input.quiet_days,
        )
        await _send(info, command)
        return await _settings(info, me.user_id)

    @strawberry.mutation(
        description="Let this browser get reminders by Web Push. The endpoint must be an "
        "https URL of a public push service."
    )
    async def add_push_subscription(
        self, info: Ctx, input: PushSubscriptionInput
    ) -> ReminderSettings:
        me = await info.context.principal()
        command = reminder_rules.AddPushSubscription(
            me.user_id, input.endpoint[:2000], input.p256dh[:200], input.auth[:200]
        )
        await _send(info, command)
        return await _settings(info, me.user_id)

    @strawberry.mutation(description="Stop push reminders to one browser.")
    async def remove_push_subscription(self, info: Ctx, endpoint: str) -> ReminderSettings:
        me = await info.context.principal()
        await _send(info, reminder_rules.RemovePushSubscription(me.user_id, endpoint[:2000]))
        return await _settings(info, me.user_id)

    @strawberry.mutation(
        description="Add (or change) your e-mail address: a six-digit code is mailed to it; "
        "confirm it with confirmEmailAddress before it is used."
    )
    async def set_email_address(self, info: Ctx, email: str) -> ReminderSettings:
        me = await info.context.principal()
        await _send(info, mail_rules.SetEmailAddress(me.user_id, email[:400]))
        return await _settings(info, me.user_id)

    @strawberry.mutation(description="Confirm your e-mail address with the code mailed to it.")
    async def confirm_email_address(self, info: Ctx, code: str) -> ReminderSettings:
        me = await info.context.principal()
        await _send(info, mail_rules.ConfirmEmailAddress(me.user_id, code[:20]))
        return await _settings(info, me.user_id)

    @strawberry.mutation(description="Forget your e-mail address (e-mail reminders stop).")
    async def remove_email_address(self, info: Ctx) -> ReminderSettings:
        me = await info.context.principal()
        await _send(info, mail_rules.RemoveEmailAddress(me.user_id))
        return await _settings(info, me.user_id)


RESET_ANSWER = (
    "If an account confirmed this address, a link to reset its password is on its way; it "
    "works once, for 30 minutes."
)


@strawberry.type
class PasswordResetMutations:
    @strawberry.mutation(
        description="Ask for a password-reset link by e-mail (no session needed). The answer "
        "is the same whether or not the address belongs to an account; RATE_LIMITED after a "
        "few requests for one address or from one place."
    )
    async def request_password_reset(self, info: Ctx, email: str) -> str:
        command = reset_rules.RequestPasswordReset(email[:400])
        await info.context.core.bus.handle(command, info.context.command, read_your_writes=False)
        return RESET_ANSWER

    @strawberry.mutation(
        description="Choose a new password with the token from the reset link; every session "
        "of the account ends. VALIDATION (token) if the link is used, expired or wrong."
    )
    async def reset_password(self, info: Ctx, token: str, new_password: str) -> bool:
        command = reset_rules.ResetPassword(token[:300], new_password[:1000])
        await info.context.core.bus.handle(command, info.context.command)
        return True
