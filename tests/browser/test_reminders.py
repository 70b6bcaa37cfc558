"""Reminders in the web app: an e-mail address confirmed with the mailed code (a real local SMTP
server), then a daily reminder by e-mail at a chosen time; the service worker shows pushes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.app import SCREENSHOTS
from tests.browser.conftest import NewPerson
from tests.conftest import unique
from tests.e2e.server import HugMoodServer
from tests.mailpush import Inbox, smtp_inbox

__all__ = ["smtp_inbox"]  # a fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path, smtp_inbox: Inbox) -> Iterator[HugMoodServer]:
    """A fresh HugMood that sends e-mail to the local SMTP server."""
    instance = HugMoodServer(
        tmp_path / "data",
        tmp_path / "logs",
        {
            "HUGMOOD_DATABASE_URL": "memory",
            "HUGMOOD_LOG_LEVEL": "WARNING",
            "HUGMOOD_SMTP_HOST": "127.0.0.1",
            "HUGMOOD_SMTP_PORT": str(smtp_inbox.port),
            "HUGMOOD_SMTP_SECURITY": "none",
        },
    )
    instance.start()
    yield instance
    instance.close()


def mailed_code(inbox: Inbox, address: str) -> str:
    deadline = time.monotonic() + 10
    while not inbox.to(address):
        assert time.monotonic() < deadline, "no code was mailed"
        time.sleep(0.05)
    found = re.search(r"\b(\d{6})\b", inbox.to(address)[-1].get_content())
    assert found
    return found.group(1)


def test_i_confirm_my_address_and_get_a_daily_reminder_by_e_mail(
    new_person: NewPerson, smtp_inbox: Inbox
) -> None:
    person = new_person(width=375)
    person.sign_up(unique("rem"), "Rem")
    person.go("Settings")
    page = person.page
    address = f"{unique('rem')}@example.org"

    card = page.get_by_role("region", name="E-mail address")
    card.get_by_label("Address").fill(address)
    card.get_by_role("button", name="Send code").click()
    card.get_by_label(f"Code sent to {address}").fill(mailed_code(smtp_inbox, address))
    card.get_by_role("button", name="Confirm").click()
    expect(card.get_by_text(address, exact=True)).to_be_visible()

    form = page.get_by_role("form", name="Daily reminder")
    form.get_by_label("Time").fill("07:30")
    form.locator("label.chip", has_text="Sun").click()
    form.get_by_label("A notification on this device").uncheck()
    form.get_by_label(re.compile("An e-mail to")).check()
    form.get_by_role("button", name="Turn on reminder").click()
    expect(form.get_by_role("status")).to_contain_text("You'll be reminded at 07:30")
    form.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "reminder.png", animations="disabled")

    stored = person.api("{ reminderSettings { enabled time days byPush byEmail email } }")
    assert stored["reminderSettings"] == {
        "enabled": True,
        "time": "07:30",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
        "byPush": False,
        "byEmail": True,
        "email": address,
    }

    # Or only a gentle nudge after quiet days.
    form.get_by_label("How often").select_option(label="Only if I haven't checked in for 3 days")
    form.get_by_role("button", name="Save reminder").click()
    expect(form.get_by_role("status")).to_contain_text("only after 3 days without a check-in")
    assert person.api("{ reminderSettings { quietDays } }")["reminderSettings"]["quietDays"] == 3


def test_the_service_worker_shows_a_pushed_reminder(new_person: NewPerson) -> None:
    person = new_person(width=375)
    person.open()
    page = person.page
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    source = page.request.get(person.server.url + "/sw.js").text()
    assert 'addEventListener("push"' in source
    assert "showNotification" in source


def test_i_forgot_my_password_and_reset_it_with_the_mailed_link(
    new_person: NewPerson, smtp_inbox: Inbox
) -> None:
    person = new_person(width=375)
    handle = unique("forgot")
    person.sign_up(handle, "Forgot")
    address = f"{handle}@example.org"
    person.api("mutation($e: String!) { setEmailAddress(email: $e) { email } }", {"e": address})
    code = mailed_code(smtp_inbox, address)
    person.api("mutation($c: String!) { confirmEmailAddress(code: $c) { email } }", {"c": code})
    person.go("Settings")
    person.page.get_by_role("button", name="Log out", exact=True).click()

    page = person.page
    page.get_by_role("button", name="Forgot your password?").click()
    form = page.get_by_role("form", name="Reset password")
    form.get_by_label("E-mail address").fill(address)
    form.get_by_role("button", name="Send me a link").click()
    expect(form.get_by_role("status")).to_contain_text("If an account confirmed this address")

    deadline = time.monotonic() + 10
    while not [m for m in smtp_inbox.to(address) if "reset" in m["Subject"].lower()]:
        assert time.monotonic() < deadline, "no reset link was mailed"
        time.sleep(0.05)
    (mail,) = [m for m in smtp_inbox.to(address) if "reset" in m["Subject"].lower()]
    link = re.search(r"http\S+/reset-password#token=\S+", mail.get_content())
    assert link
    path = link.group(0).split("/", 3)[3]
    person.open("/" + path)
    assert "token" not in page.url  # taken off the address bar at once
    new = page.get_by_role("form", name="Choose a new password")
    new.get_by_label("New password").fill("a fresh password here")
    new.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill("a fresh password here")
    page.get_by_role("button", name="Log in").click()
    person.wait_for_check_in()
