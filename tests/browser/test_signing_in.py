"""A passkey as the second step, in Chromium with its virtual authenticator (CDP WebAuthn):
added in Settings, then asked for at the next log-in; a replayed answer is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Request, expect

from tests.browser.app import PASSWORD
from tests.browser.conftest import NewPerson
from tests.conftest import unique
from tests.e2e.server import HugMoodServer, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HugMoodServer]:
    """Served at http://localhost:<port>: WebAuthn needs a domain (not an IP address) for
    the relying party, and localhost is a secure context without TLS."""
    port = free_port()
    origin = f"http://localhost:{port}"
    instance = HugMoodServer(
        tmp_path / "data",
        tmp_path / "logs",
        {
            "HUGMOOD_DATABASE_URL": "memory",
            "HUGMOOD_LOG_LEVEL": "WARNING",
            "HUGMOOD_PUBLIC_URL": origin,
            "HUGMOOD_WS_ALLOWED_ORIGINS": origin,
        },
    )
    instance.start(port=port)
    yield instance
    instance.close()


def test_a_passkey_added_in_settings_is_the_second_step_of_the_next_log_in(
    server: HugMoodServer, new_person: NewPerson
) -> None:
    person = new_person()
    page = person.page
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    origin = f"http://localhost:{server.port}"
    handle = unique("pia")
    page.goto(origin + "/")
    page.get_by_role("tab", name="Sign up").click()
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Display name").fill("Pia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    person.wait_for_check_in()

    person.go("Settings")
    two_step = page.get_by_role("region", name="Two-step sign-in")
    two_step.get_by_label("Name for a new passkey").fill("This laptop")
    two_step.get_by_role("button", name="Add a passkey").click()
    expect(two_step.get_by_test_id("passkeys")).to_contain_text("This laptop")

    page.get_by_role("button", name="Log out", exact=True).click()
    answers: list[dict[str, Any]] = []

    def keep_answer(request: Request) -> None:
        if request.url.endswith("/graphql") and "finishPasskeyLogIn" in (request.post_data or ""):
            answers.append(json.loads(request.post_data or "{}"))

    page.on("request", keep_answer)
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    step = page.get_by_role("region", name="One more step")
    expect(step).to_be_visible()
    person.screenshot("passkey-second-step")
    step.get_by_role("button", name="Use my passkey").click()
    expect(page.get_by_role("navigation", name="Screens")).to_be_visible()
    assert person.api("{ me { handle } }")["me"]["handle"] == handle

    # The same answer sent again (its challenge was used): refused, no session.
    assert len(answers) == 1
    replay = httpx.post(f"{server.url}/graphql", json=answers[0], timeout=15).json()
    assert replay["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired or was already answered" in replay["errors"][0]["message"]
    assert replay.get("data") is None
