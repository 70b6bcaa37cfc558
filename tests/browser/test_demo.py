"""`hugmood serve --demo`, as `make run` starts it: the demo people log in and find a month of
moods, friends around, and hugs, on every screen (these screenshots illustrate the README)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

import tests.e2e.server as server_module
from tests.browser.app import Person
from tests.e2e.server import HugMoodServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HugMoodServer]:
    monkeypatch.setattr(server_module, "SERVE", (*server_module.SERVE, "--demo"))
    instance = HugMoodServer(
        tmp_path / "data", tmp_path / "logs", {"HUGMOOD_DATABASE_URL": "memory"}
    )
    instance.start()
    yield instance
    instance.close()


def test_the_demo_shows_a_month_of_moods_friends_around_and_hugs(
    browser: Browser, demo: HugMoodServer
) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    alice = Person(demo, context.new_page())
    try:
        alice.open("/history")  # a deep link survives: the server answers it with the app
        page = alice.page
        page.get_by_label("Handle").fill("alice")
        page.get_by_label("Password").fill("hugmood-demo")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Your history")).to_be_visible()
        expect(page.get_by_test_id("mood-chart").locator("canvas")).to_be_visible()
        filled = page.get_by_test_id("year-in-pixels").locator(".pixel.filled")
        expect(filled.nth(20)).to_be_visible()  # a month of check-ins, most days coloured
        later = page.get_by_role("button", name="Later")
        if later.count():
            later.click()
        alice.screenshot("demo-history")

        alice.go("Friends")
        carol = page.locator('[data-handle="carol"] [data-presence]')
        expect(carol).to_have_attribute("data-presence", re.compile("ONLINE|AWAY"))
        page.get_by_role("button", name="Show moods of @carol").click()
        expect(page.locator('[data-handle="carol"] .their-moods [data-mood]').first).to_be_visible()
        alice.screenshot("demo-friends")

        alice.go("Check in")
        expect(page.get_by_test_id("friends-feed").locator("[data-mood]").first).to_be_visible()
        page.locator("label.chip", has_text=re.compile("^hopeful$")).click()
        alice.screenshot("demo-check-in")

        alice.go("Hugs")
        expect(page.get_by_test_id("inbox").locator("li").first).to_be_visible()
        alice.screenshot("demo-hugs")
        assert alice.problems() == []
    finally:
        context.close()
