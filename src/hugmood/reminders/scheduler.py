"""The reminder scheduler: a long-lived service that, every little while, finds the people whose
reminder time has come in their own time zone and who have not checked in that day, claims
the day for each (an event, so several server processes send one reminder, not several) and
sends it by Web Push and/or e-mail. It also mails password-reset links: a request is answered
at once, alike for known and unknown addresses, and its link goes out from here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from hugmood.application.dependencies import Dependencies
from hugmood.application.messagebus import MessageBus
from hugmood.application.ports import Clock, Mailer, SessionTokens
from hugmood.application.queries import password_resets as reset_queries
from hugmood.application.queries import reminders as reminder_queries
from hugmood.application.queries.reminders import ReminderView
from hugmood.config import Settings
from hugmood.domain.password_reset import TOKEN_TTL_MS, IssueResetToken
from hugmood.domain.reminders import MarkReminderSent, RemovePushSubscription, due_date
from hugmood.private_files import private_dir
from hugmood.reminders.mail import SmtpMailer
from hugmood.reminders.push import PushOutcome, PushSender, VapidKeys
from hugmood.services import Loop, Service
from hugmood.sql.database import SqlDatabase
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)

RESET_CHECK_S = 1.0
"""Reset links are awaited by someone at their inbox: looked for every second."""
PUSH_TITLE = "HugMood"
REMINDER_TEXT = "How are you feeling? A moment to check in."
NUDGE_TEXT = "You haven't checked in for a few days. No pressure: how are you doing?"


@dataclass(frozen=True, slots=True)
class Sent:
    """What one reminder reached (for logs and tests)."""

    user_id: str
    local_date: str
    pushed: int
    mailed: bool


def open_mailer(settings: Settings) -> Mailer | None:
    """The configured SMTP server, or None: this server sends no e-mail."""
    if not settings.smtp_host:
        return None
    return SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        settings.mail_from,
        security=settings.smtp_security,  # type: ignore[arg-type]  # checked in validate()
        username=settings.smtp_username,
        password=settings.smtp_password,
    )


def vapid_keys(settings: Settings) -> VapidKeys:
    """Kept in `HUGMOOD_VAPID_KEY_FILE` or the data folder (one key for every process that
    shares it); in memory mode, unless a file is named, nothing is kept and a fresh key
    serves until the process ends."""
    if settings.vapid_key_file:
        return VapidKeys.load_or_create(Path(settings.vapid_key_file).expanduser())
    if settings.database_url == "memory":
        return VapidKeys.generate()
    return VapidKeys.load_or_create(private_dir(settings.data_dir) / "vapid-private.pem")


class ReminderScheduler(Service):
    name = "reminders"

    def __init__(
        self,
        bus: MessageBus,
        readmodels: SqlDatabase,
        clock: Clock,
        push: PushSender,
        mailer: Mailer | None,
        *,
        app_url: str,
        check_s: float = 30.0,
        tokens: SessionTokens | None = None,
    ) -> None:
        super().__init__()
        self._bus = bus
        self._db = readmodels
        self._clock = clock
        self.push = push
        self._mailer = mailer
        self._app_url = app_url
        self._check_s = check_s
        self._tokens = tokens

    @classmethod
    def open(cls, settings: Settings, bus: MessageBus, deps: Dependencies) -> ReminderScheduler:
        push = PushSender(
            vapid_keys(settings),
            subject=settings.push_subject,
            allow_loopback=settings.push_allow_loopback,
        )
        return cls(
            bus,
            deps.readmodels,
            deps.clock,
            push,
            deps.mailer,
            app_url=settings.app_url(),
            check_s=settings.reminder_check_s,
            tokens=deps.tokens,
        )

    @property
    def public_key(self) -> str:
        """The VAPID public key browsers subscribe with (`applicationServerKey`)."""
        return self.push.keys.public_key

    def loops(self) -> Sequence[tuple[str, Loop]]:
        loops: list[tuple[str, Loop]] = [("due reminders", self._every_while)]
        if self._mailer is not None and self._tokens is not None:
            loops.append(("password reset links", self._reset_links))
        return loops

    async def stopped(self) -> None:
        await self.push.close()

    async def _every_while(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self._check_s)

    async def _reset_links(self) -> None:
        while True:
            await self.send_reset_links()
            await asyncio.sleep(RESET_CHECK_S)

    async def send_reset_links(self) -> list[str]:
        """Mail a link for each request waiting for one (claimed first, so once); the
        request ids mailed."""
        if self._mailer is None or self._tokens is None:
            return []
        mailed: list[str] = []
        for pending in await reset_queries.waiting_for_mail(self._db):
            token = self._tokens.new_token()
            expires = int(self._clock.now().timestamp() * 1000) + TOKEN_TTL_MS
            claim = IssueResetToken(pending.request_id, self._tokens.digest(token), expires)
            if not (await self._bus.handle(claim, read_your_writes=False)).value:
                continue
            found = await reminder_queries.email(self._db, pending.user_id)
            if found.address is None:
                continue  # the address was removed since: the link goes nowhere
            try:
                await self._mailer.send(
                    found.address,
                    "Reset your HugMood password",
                    "Someone (we hope you) asked to reset the password of your HugMood "
                    "account. Open this link within 30 minutes to choose a new one; it works "
                    f"once:\n\n{self._app_url}reset-password#token={token}\n\n"
                    "If you did not ask, ignore this message: your password stays as it is.\n",
                )
                mailed.append(pending.request_id)
            except BackendUnavailable as e:
                log.warning("reset link for %s not sent: %s", pending.user_id, e)
        return mailed

    async def run_once(self, now: datetime | None = None) -> list[Sent]:
        """Send every reminder due at `now` (the clock's time if None); what was sent."""
        now = now or self._clock.now()
        sent: list[Sent] = []
        for reminder in await reminder_queries.enabled_reminders(self._db):
            day = due_date(
                time_hhmm=reminder.time,
                days=reminder.days,
                time_zone=reminder.time_zone,
                last_sent=reminder.last_sent,
                now=now,
            )
            if day is None or await self._checked_in(reminder, day):
                continue
            if reminder.quiet_days and await self._checked_in(
                reminder, day - timedelta(days=reminder.quiet_days), day
            ):
                continue  # asked only for a nudge after quiet days, and they were not quiet
            claimed = await self._bus.handle(
                MarkReminderSent(reminder.user_id, day.isoformat()), read_your_writes=False
            )
            if not claimed.value:
                continue  # another process (or an earlier tick) sent this day's reminder
            sent.append(await self._deliver(reminder, day))
        return sent

    async def _checked_in(
        self, reminder: ReminderView, day: date, last_day: date | None = None
    ) -> bool:
        """Whether they checked in on `day` (through `last_day`, in their time zone)."""
        zone = ZoneInfo(reminder.time_zone)
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine((last_day or day) + timedelta(days=1), time(0), tzinfo=zone)
        return await reminder_queries.checked_in_between(
            self._db,
            reminder.user_id,
            int(start.timestamp() * 1000),
            int(end.timestamp() * 1000),
        )

    async def _deliver(self, reminder: ReminderView, day: date) -> Sent:
        text = NUDGE_TEXT if reminder.quiet_days else REMINDER_TEXT
        pushed = 0
        if reminder.by_push:
            payload = orjson.dumps(
                {"title": PUSH_TITLE, "body": text, "url": "/", "tag": "reminder"}
            )
            for target in await reminder_queries.push_targets(self._db, reminder.user_id):
                outcome = await self.push.send(target, payload)
                if outcome is PushOutcome.DELIVERED:
                    pushed += 1
                elif outcome is PushOutcome.GONE:
                    await self._bus.handle(
                        RemovePushSubscription(reminder.user_id, target.endpoint, reason="gone")
                    )
        mailed = False
        if reminder.by_email and self._mailer is not None:
            found = await reminder_queries.email(self._db, reminder.user_id)
            if found.address is not None:
                try:
                    await self._mailer.send(
                        found.address,
                        "A moment to check in",
                        f"{text}\n\n{self._app_url}\n\n"
                        "You get this because you asked HugMood for a daily reminder; "
                        "change or stop it in Settings.\n",
                    )
                    mailed = True
                except BackendUnavailable as e:
                    log.warning("reminder mail for %s not sent: %s", reminder.user_id, e)
        return Sent(reminder.user_id, day.isoformat(), pushed, mailed)
