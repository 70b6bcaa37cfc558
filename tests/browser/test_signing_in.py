"""Signing in, in Chromium: a passkey as the second step (its virtual authenticator, over CDP
WebAuthn), added in Settings, then asked for at the next log-in, a replayed answer refused;
and signing in with another provider (oidc-provider-mock), linked only by a password log-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Request, expect

from tests.browser.app import PASSWORD
from tests.browser.conftest import NewPerson
from tests.conftest import unique
from tests.e2e.client import PASSWORD as REGISTERED_PASSWORD
from tests.e2e.client import register
from tests.e2e.server import HugMoodServer, free_port

pytestmark = [
    pytest.mark.e2e,
    # The mock provider (in this process) still calls Authlib's deprecated APIs.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HugMoodServer]:
    """Served at http://localhost:<port>: WebAuthn needs a domain (not an IP address) for
    the relying party, and localhost is a secure context without TLS. With a local OpenID
    Connect provider to sign in with."""
    from oidc_provider_mock import run_server_in_thread  # see the warnings filter above

    root = tmp_path_factory.mktemp("signing-in-browser")
    port = free_port()
    origin = f"http://localhost:{port}"
    with run_server_in_thread(require_nonce=True) as provider:
        instance = HugMoodServer(
            root / "data",
            root / "logs",
            {
                "HUGMOOD_DATABASE_URL": "memory",
                "HUGMOOD_LOG_LEVEL": "WARNING",
                "HUGMOOD_PUBLIC_URL": origin,
                "HUGMOOD_WS_ALLOWED_ORIGINS": origin,
                "HUGMOOD_OIDC_ISSUER": f"http://localhost:{provider.server_port}",
                "HUGMOOD_OIDC_CLIENT_ID": "hugmood-test",
                "HUGMOOD_OIDC_CLIENT_SECRET": "not a real secret",
                "HUGMOOD_OIDC_NAME": "Mock ID",
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


def test_another_provider_signs_in_once_a_password_log_in_linked_it(
    server: HugMoodServer, browser: Browser
) -> None:
    origin = f"http://localhost:{server.port}"
    handle = unique("oli")
    register(server, handle)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    # The provider's own page asks for files on the internet, which this machine cannot
    # reach: only the app's problems count.
    problems: list[str] = []

    def app_problem(message: ConsoleMessage) -> None:
        if message.type == "error" and page.url.startswith(origin):
            problems.append(message.text)

    page.on("console", app_problem)
    page.on("pageerror", lambda error: problems.append(error.message))

    def at_provider() -> None:
        page.get_by_role("button", name="Sign in with Mock ID").click()
        page.locator("input[name=sub]").fill(f"{handle}-at-mock")
        page.get_by_role("button", name="Authorize").click()

    page.goto(origin + "/")
    at_provider()
    expect(page.get_by_role("status")).to_contain_text("No HugMood account is linked")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(REGISTERED_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    screens = page.get_by_role("navigation", name="Screens")
    expect(screens).to_be_visible()

    screens.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Log out", exact=True).click()
    at_provider()
    expect(screens).to_be_visible()
    assert page.evaluate("localStorage.getItem('hugmood.handle')") == handle
    context.close()
    assert problems == []
