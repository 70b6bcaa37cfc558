"""Daily reminders end to end below the API: settings through the bus, the scheduler sending by
Web Push to a local push service (decrypted with the subscription's keys) and by e-mail to a
local SMTP server; one a day, none after a check-in."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from py_vapid import Vapid02

from hugmood.application.queries import reminders as rq
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import mail as mail_rules
from hugmood.domain import moods as mood_rules
from hugmood.domain import reminders as rr
from hugmood.domain.errors import RateLimited, ValidationFailed
from hugmood.entrypoints.graphql.reminders import kept_public_key
from hugmood.reminders.scheduler import ReminderScheduler
from tests.conftest import unique
from tests.integration.test_read_model_schema import raw_database
from tests.mailpush import Inbox, PushService, push_service, smtp_inbox

__all__ = ["push_service", "smtp_inbox"]  # fixtures


def with_delivery(settings: Settings, inbox: Inbox) -> Settings:
    return replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
        mail_from="HugMood <reminders@hugmood.test>",
        push_allow_loopback=True,
        reminder_check_s=3600,
    )


async def person(core: HugMood) -> str:
    handle = unique("rem")
    await core.bus.handle(idm.RegisterUser(handle, "Rem", "a good password", "eu-west"))
    return idm.user_id_for(handle)


def scheduler(core: HugMood) -> ReminderScheduler:
    (found,) = [s for s in core.services if isinstance(s, ReminderScheduler)]
    return found


async def confirmed_address(core: HugMood, inbox: Inbox, user: str, address: str) -> None:
    await core.bus.handle(mail_rules.SetEmailAddress(user, address))
    (message,) = inbox.to(address)
    code = next(w.strip(".") for w in message.get_content().split() if w.strip(".").isdigit())
    await core.bus.handle(mail_rules.ConfirmEmailAddress(user, code))


PARIS_0805 = datetime(2026, 3, 2, 7, 5, tzinfo=UTC)  # a Monday, 08:05 in Paris
SATURDAY_BEFORE = datetime(2026, 2, 28, 9, 0, tzinfo=UTC)


async def test_a_due_reminder_is_pushed_and_mailed_once_a_day_and_not_after_a_check_in(
    settings: Settings, smtp_inbox: Inbox, push_service: PushService
) -> None:
    async with open_hugmood(with_delivery(settings, smtp_inbox)) as core:
        user = await person(core)
        address = f"{unique('ada')}@example.org"
        await confirmed_address(core, smtp_inbox, user, address)
        browser = push_service.subscription("phone")
        await core.bus.handle(
            rr.AddPushSubscription(user, browser.endpoint, browser.p256dh, browser.auth)
        )
        await core.bus.handle(
            rr.SetReminder(
                user, True, "08:00", ("mon", "tue"), "Europe/Paris", by_push=True, by_email=True
            )
        )
        service = scheduler(core)

        assert await service.run_once(datetime(2026, 3, 2, 6, 55, tzinfo=UTC)) == []
        (sent,) = await service.run_once(PARIS_0805)
        assert (sent.user_id, sent.local_date, sent.pushed, sent.mailed) == (
            user,
            "2026-03-02",
            1,
            True,
        )

        name, headers, body = push_service.received[-1]
        assert name == "phone"
        assert headers["Content-Encoding"] == "aes128gcm"
        assert Vapid02.verify(headers["Authorization"])
        assert json.loads(browser.decrypt(body))["body"].startswith("How are you feeling?")
        reminder_mail = smtp_inbox.to(address)[-1]
        assert reminder_mail["Subject"] == "A moment to check in"
        assert "Settings" in reminder_mail.get_content()

        # Once a day, however often the scheduler looks.
        assert await service.run_once(PARIS_0805.replace(minute=30)) == []

        # Tuesday: checked in already, so no reminder.
        tuesday = PARIS_0805.replace(day=3)
        await core.bus.handle(
            mood_rules.RecordMood(
                str(uuid.uuid4()), user, "calm", 0.5, recorded_at=tuesday.replace(hour=6)
            )
        )
        assert await service.run_once(tuesday) == []
        # Wednesday is not a reminder day.
        assert await service.run_once(PARIS_0805.replace(day=4)) == []
        assert len(push_service.received) == 1


async def test_a_browser_the_push_service_forgot_stops_getting_reminders(
    smtp_inbox: Inbox, push_service: PushService
) -> None:
    settings = with_delivery(Settings(database_url="memory"), smtp_inbox)
    async with open_hugmood(settings) as core:
        user = await person(core)
        old, new = push_service.subscription("old"), push_service.subscription("new")
        push_service.gone.add("old")
        for browser in (old, new):
            await core.bus.handle(
                rr.AddPushSubscription(user, browser.endpoint, browser.p256dh, browser.auth)
            )
        await core.bus.handle(rr.SetReminder(user, True, "08:00", rr.DAYS, "Europe/Paris"))
        (sent,) = await scheduler(core).run_once(PARIS_0805)
        assert sent.pushed == 1
        assert [t.endpoint for t in await rq.push_targets(core.readmodels, user)] == [new.endpoint]


async def test_e_mail_needs_a_confirmed_address_and_a_wrong_code_is_refused(
    smtp_inbox: Inbox,
) -> None:
    settings = with_delivery(Settings(database_url="memory"), smtp_inbox)
    async with open_hugmood(settings) as core:
        user = await person(core)
        with pytest.raises(ValidationFailed, match="confirm an e-mail address") as e:
            await core.bus.handle(rr.SetReminder(user, True, by_email=True))
        assert e.value.field == "byEmail"
        await core.bus.handle(mail_rules.SetEmailAddress(user, "Ada@Example.ORG"))
        with pytest.raises(ValidationFailed, match="not right"):
            await core.bus.handle(mail_rules.ConfirmEmailAddress(user, "000000"))
        found = await rq.email(core.readmodels, user)
        assert (found.address, found.pending) == (None, "Ada@example.org")


async def test_without_smtp_e_mail_is_refused_clearly() -> None:
    async with open_hugmood(Settings(database_url="memory")) as core:
        user = await person(core)
        with pytest.raises(ValidationFailed, match="sends no e-mail"):
            await core.bus.handle(mail_rules.SetEmailAddress(user, "ada@example.org"))


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        ("http://push.example.org/x", "https"),
        ("https://10.0.0.7/x", "host name"),
        ("https://127.0.0.1/x", "host name"),
        ("https://[::1]/x", "host name"),
        ("https://169.254.169.254/latest/meta-data", "host name"),
        ("https://2130706433/x", "host name"),
        ("https://localhost/x", "host name"),
        ("https://metadata.google.internal/x", "host name"),
        ("https://user@push.example.org/x", "user name"),
        ("https://push.example.org:8443/x", "443"),
        ("file:///etc/passwd", "https"),
        ("http://127.0.0.1:9/x", "https"),
    ],
)
async def test_push_endpoints_that_could_reach_inside_the_network_are_refused(
    endpoint: str, why: str
) -> None:
    async with open_hugmood(Settings(database_url="memory")) as core:
        user = await person(core)
        with pytest.raises(ValidationFailed, match=why) as e:
            await core.bus.handle(rr.AddPushSubscription(user, endpoint, "B" * 87, "A" * 22))
        assert e.value.field == "endpoint"


async def test_address_codes_are_limited_so_nobody_is_mailed_over_and_over(
    smtp_inbox: Inbox,
) -> None:
    settings = with_delivery(Settings(database_url="memory"), smtp_inbox)
    async with open_hugmood(settings) as core:
        user = await person(core)
        for _ in range(5):
            await core.bus.handle(mail_rules.SetEmailAddress(user, "victim@example.org"))
        with pytest.raises(RateLimited):
            await core.bus.handle(mail_rules.SetEmailAddress(user, "victim@example.org"))
        assert len(smtp_inbox.to("victim@example.org")) == 5


async def test_every_process_on_one_data_folder_subscribes_browsers_with_one_vapid_key(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url="sqlite", data_dir=tmp_path)
    async with open_hugmood(settings) as core:
        key = scheduler(core).public_key
    assert (tmp_path / "vapid-private.pem").stat().st_mode & 0o777 == 0o600
    # An edge runs no scheduler: it reads the key the workers keep.
    assert kept_public_key(settings) == key
    async with open_hugmood(settings) as again:
        assert scheduler(again).public_key == key


async def test_processes_apart_share_the_vapid_key_file_they_are_given(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "vapid.pem"
    keys = set()
    for n in range(2):
        settings = Settings(
            database_url="memory", data_dir=tmp_path / f"p{n}", vapid_key_file=str(shared)
        )
        async with open_hugmood(settings) as core:
            keys.add(scheduler(core).public_key)
    assert len(keys) == 1
    assert shared.stat().st_mode & 0o777 == 0o600


async def test_asked_only_for_a_nudge_after_quiet_days_it_comes_only_then(
    settings: Settings, smtp_inbox: Inbox, push_service: PushService
) -> None:
    async with open_hugmood(with_delivery(settings, smtp_inbox)) as core:
        user = await person(core)
        browser = push_service.subscription("phone")
        await core.bus.handle(
            rr.AddPushSubscription(user, browser.endpoint, browser.p256dh, browser.auth)
        )
        with pytest.raises(ValidationFailed) as refused:
            await core.bus.handle(rr.SetReminder(user, True, "08:00", quiet_days=31))
        assert refused.value.field == "quietDays"
        await core.bus.handle(
            rr.SetReminder(user, True, "08:00", rr.DAYS, "Europe/Paris", quiet_days=3)
        )
        assert (await rq.reminder(core.readmodels, user)).quiet_days == 3  # type: ignore[union-attr]
        # A check-in on Saturday: Monday (two days later) is not quiet enough.
        await core.bus.handle(
            mood_rules.RecordMood(str(uuid.uuid4()), user, "calm", 0.5, recorded_at=SATURDAY_BEFORE)
        )
        service = scheduler(core)
        assert await service.run_once(PARIS_0805) == []
        assert await service.run_once(PARIS_0805.replace(day=3)) == [], "Tuesday: 2 days"
        # Wednesday: Sunday, Monday and Tuesday without a check-in, and none yet today.
        (sent,) = await service.run_once(PARIS_0805.replace(day=4))
        assert sent.pushed == 1
        body = json.loads(browser.decrypt(push_service.received[-1][2]))["body"]
        assert body.startswith("You haven't checked in for a few days")


async def test_addresses_and_push_subscriptions_are_sealed_in_the_read_models_and_still_found(
    durable_settings: Settings, smtp_inbox: Inbox, push_service: PushService
) -> None:
    async with open_hugmood(with_delivery(durable_settings, smtp_inbox)) as core:
        user = await person(core)
        address = f"{unique('ada')}@example.org"
        await confirmed_address(core, smtp_inbox, user, address)
        browser = push_service.subscription("phone")
        await core.bus.handle(
            rr.AddPushSubscription(user, browser.endpoint, browser.p256dh, browser.auth)
        )
        # Found by value without regard to case, and read back in clear, through the queries.
        assert await rq.users_with_address(core.readmodels, address.upper()) == [user]
        assert (await rq.email(core.readmodels, user)).address == address
        (target,) = await rq.push_targets(core.readmodels, user)
        assert (target.endpoint, target.p256dh) == (browser.endpoint, browser.p256dh)

        # What the database holds: none of it in clear.
        raw = await raw_database(durable_settings)  # no cipher: what the files hold
        try:
            rows = await raw.fetch("SELECT address, address_key, pending FROM rm_email")
            rows += await raw.fetch(
                "SELECT endpoint_key, endpoint, p256dh, auth FROM rm_push_subscriptions"
            )
        finally:
            await raw.close()
        held = " ".join(str(cell) for row in rows for cell in row)
        for secret in (address, browser.endpoint, browser.p256dh, browser.auth):
            assert secret not in held

        # Removing the subscription finds it by its blind index too.
        await core.bus.handle(rr.RemovePushSubscription(user, browser.endpoint))
        assert await rq.push_targets(core.readmodels, user) == []
