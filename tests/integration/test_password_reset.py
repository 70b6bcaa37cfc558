"""Password reset by e-mail below the API: the same answer for known and unknown addresses, a
link mailed only to a confirmed address (a real local SMTP server), single use, expiry, rate
limits, and every session ended."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from hugmood.application.eventmapping import CommandContext
from hugmood.application.queries import identity as identity_queries
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import password_reset as reset_rules
from hugmood.domain.errors import RateLimited, Unauthenticated, ValidationFailed
from hugmood.reminders.scheduler import ReminderScheduler
from tests.conftest import unique
from tests.integration.test_reminders import confirmed_address, with_delivery
from tests.mailpush import Inbox, smtp_inbox

__all__ = ["smtp_inbox"]  # a fixture

NEW_PASSWORD = "a brand new password"


def scheduler(core: HugMood) -> ReminderScheduler:
    (found,) = [s for s in core.services if isinstance(s, ReminderScheduler)]
    return found


async def account_with_address(core: HugMood, inbox: Inbox) -> tuple[str, str, str]:
    handle = unique("reset")
    await core.bus.handle(idm.RegisterUser(handle, "Reset", "a good password", "eu-west"))
    user = idm.user_id_for(handle)
    address = f"{unique('ada')}@example.org"
    await confirmed_address(core, inbox, user, address)
    return handle, user, address


def reset_mails(inbox: Inbox, address: str) -> list[str]:
    return [
        m.get_content() for m in inbox.to(address) if m["Subject"] == "Reset your HugMood password"
    ]


async def link_token(core: HugMood, inbox: Inbox, address: str) -> str:
    """The token from the one reset mail for `address`, once the service has sent it (its
    own loop may be first: either way the link goes out once)."""
    deadline = time.monotonic() + 10
    while not reset_mails(inbox, address):
        assert time.monotonic() < deadline, "no reset link was mailed"
        await scheduler(core).send_reset_links()
        await asyncio.sleep(0.02)
    (text,) = reset_mails(inbox, address)
    found = re.search(r"/reset-password#token=(\S+)", text)
    assert found
    return found.group(1)


async def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(
    settings: Settings, smtp_inbox: Inbox
) -> None:
    async with open_hugmood(with_delivery(settings, smtp_inbox)) as core:
        handle, user, address = await account_with_address(core, smtp_inbox)
        await core.bus.handle(idm.LogIn(handle, "a good password"))

        known = await core.bus.handle(reset_rules.RequestPasswordReset(address.upper()))
        unknown = await core.bus.handle(reset_rules.RequestPasswordReset("nobody@example.org"))
        assert known.value == unknown.value is True
        token = await link_token(core, smtp_inbox, address)
        assert await scheduler(core).send_reset_links() == []  # mailed once
        assert len(reset_mails(smtp_inbox, address)) == 1
        assert smtp_inbox.to("nobody@example.org") == []

        with pytest.raises(ValidationFailed, match="new password must be at least") as e:
            await core.bus.handle(reset_rules.ResetPassword(token, "short"))
        assert e.value.field == "newPassword"
        await core.bus.handle(reset_rules.ResetPassword(token, NEW_PASSWORD))

        assert await identity_queries.open_session_ids(core.readmodels, user) == []
        with pytest.raises(Unauthenticated):
            await core.bus.handle(idm.LogIn(handle, "a good password"))
        await core.bus.handle(idm.LogIn(handle, NEW_PASSWORD))
        with pytest.raises(ValidationFailed, match="not valid any more") as e:
            await core.bus.handle(reset_rules.ResetPassword(token, "another new password"))
        assert e.value.field == "token"


async def test_a_link_expires_and_a_made_up_token_opens_nothing(smtp_inbox: Inbox) -> None:
    settings = with_delivery(Settings(database_url="memory"), smtp_inbox)
    async with open_hugmood(settings) as core:
        _, _, address = await account_with_address(core, smtp_inbox)
        await core.bus.handle(reset_rules.RequestPasswordReset(address))
        token = await link_token(core, smtp_inbox, address)
        for forged in ("x" * 43, token[:-1], "", "y" * 5000):
            with pytest.raises(ValidationFailed, match="not valid any more"):
                await core.bus.handle(reset_rules.ResetPassword(forged, NEW_PASSWORD))

        class Later:
            def now(self) -> object:
                return core.deps.clock.now() + timedelta(minutes=31)

        late = replace(core.deps, clock=Later())  # type: ignore[arg-type]
        with pytest.raises(ValidationFailed, match="not valid any more"):
            await reset_rules_handler(late, token)


async def reset_rules_handler(deps: object, token: str) -> None:
    from hugmood.application.handlers.password_reset import reset_password

    await reset_password(
        reset_rules.ResetPassword(token, NEW_PASSWORD),
        deps,  # type: ignore[arg-type]
        CommandContext(),
    )


async def test_requests_are_limited_per_address_and_per_source_alike_for_known_and_unknown(
    smtp_inbox: Inbox,
) -> None:
    settings = with_delivery(Settings(database_url="memory"), smtp_inbox)
    async with open_hugmood(settings) as core:
        _, _, address = await account_with_address(core, smtp_inbox)
        for target in (address, "nobody@example.org"):
            for _ in range(5):
                await core.bus.handle(reset_rules.RequestPasswordReset(target))
            with pytest.raises(RateLimited):
                await core.bus.handle(reset_rules.RequestPasswordReset(target))
        place = CommandContext(source_address="198.51.100.7")
        for n in range(5):
            await core.bus.handle(reset_rules.RequestPasswordReset(f"a{n}@example.org"), place)
        with pytest.raises(RateLimited):
            await core.bus.handle(reset_rules.RequestPasswordReset("z@example.org"), place)


async def test_without_smtp_a_reset_is_refused_plainly() -> None:
    async with open_hugmood(Settings(database_url="memory")) as core:
        with pytest.raises(ValidationFailed, match="sends no e-mail"):
            await core.bus.handle(reset_rules.RequestPasswordReset("ada@example.org"))
