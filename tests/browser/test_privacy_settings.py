"""The privacy cards in Settings: the age check says what is needed and how to prove it on a
device, sealed mode says where it is turned on, community averages say why they are closed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.app import SCREENSHOTS
from tests.browser.conftest import NewPerson
from tests.conftest import unique
from tests.e2e.server import HugMoodServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HugMoodServer]:
    """A fresh HugMood whose public check-ins and community averages need a verified 16."""
    instance = HugMoodServer(
        tmp_path / "data",
        tmp_path / "logs",
        {
            "HUGMOOD_DATABASE_URL": "memory",
            "HUGMOOD_LOG_LEVEL": "WARNING",
            "HUGMOOD_AGE_REQUIRED": "16",
        },
    )
    instance.start()
    yield instance
    instance.close()


def test_settings_explain_the_age_check_and_sealed_mode(new_person: NewPerson) -> None:
    person = new_person(width=375)
    person.sign_up(unique("age"), "Age")
    person.go("Settings")
    page = person.page

    age = page.get_by_role("region", name="Age check")
    expect(age.get_by_role("status")).to_have_text("No verified age yet.")
    expect(age).to_contain_text("need a verified age of 16 or over")
    expect(age.locator("code")).to_have_text("hugmood verify-age --threshold 16")
    expect(age).to_contain_text("hugmood-test-issuer")

    sealed = page.get_by_role("region", name="Sealed mode")
    expect(sealed.locator("code")).to_have_text("hugmood sealed enable")

    community = page.get_by_role("region", name="Community averages")
    expect(community).to_contain_text("does not publish community averages")
    expect(community.locator("code")).to_have_text("hugmood community contribute")
    age.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "privacy-settings.png", animations="disabled")
