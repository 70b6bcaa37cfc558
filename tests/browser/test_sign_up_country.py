"""The sign-up form asks the country one lives in: it offers this server's region's
countries, suggests the browser's when offered (else the server's default), and the account
gets that country's rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.app import PASSWORD
from tests.browser.conftest import NewPerson
from tests.conftest import unique
from tests.e2e.server import HugMoodServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HugMoodServer]:
    """The browser tests' server, with the regional age rules on (as in production)."""
    instance = HugMoodServer(
        tmp_path / "data",
        tmp_path / "logs",
        {"HUGMOOD_DATABASE_URL": "memory", "HUGMOOD_AGE_RULES": "true"},
    )
    instance.start()
    yield instance
    instance.close()


def test_sign_up_takes_the_country_and_its_rules_follow(new_person: NewPerson) -> None:
    ada = new_person()
    ada.open()
    page = ada.page
    page.get_by_role("tab", name="Sign up").click()
    country = page.get_by_label("Country you live in")
    # The test browser speaks en-US, and this eu-west server keeps no US data: the default.
    expect(country).to_have_value("IE")
    expect(country.locator("option[value=US]")).to_have_count(0)
    country.select_option("AT")
    page.get_by_label("Handle").fill(unique("ada"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    ada.wait_for_check_in()
    assert ada.api("{ me { homeRegion } }")["me"]["homeRegion"] == "eu-west"
    status = httpx.get(
        f"{ada.server.url}/privacy/age",
        headers={"authorization": f"Bearer {ada.token()}"},
        timeout=15,
    ).json()
    assert status["rules"]["public_profile"]["rule"] == "AT.age.public_profile"
