"""What a person does in the HugMood web app, step by step, for the browser tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import ConsoleMessage, Error, Page, expect

from tests.e2e.server import HugMoodServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "a calm password"

# What Chromium itself logs when the test takes the network (or the server) away on purpose.
_OFFLINE_NOISE = re.compile(r"ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed")
_SERVER_DOWN_NOISE = re.compile(r"ERR_CONNECTION_REFUSED|WebSocket connection to .* failed")


class Person:
    """One person in their own browser context, using the app like anyone would."""

    def __init__(self, server: HugMoodServer, page: Page) -> None:
        self.server = server
        self.page = page
        self.handle = ""
        self._console: list[str] = []
        self._offline_at_some_point = False
        self._server_down_at_some_point = False
        self._refused_statuses: set[int] = set()
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self._console.append(f"console {message.type}: {message.text}")

    def _on_page_error(self, error: Error) -> None:
        self._console.append(f"uncaught: {error.message}")

    def problems(self) -> list[str]:
        problems = list(self._console)
        if self._offline_at_some_point:
            problems = [p for p in problems if not _OFFLINE_NOISE.search(p)]
        if self._server_down_at_some_point:
            problems = [p for p in problems if not _SERVER_DOWN_NOISE.search(p)]
        for status in self._refused_statuses:
            noise = f"Failed to load resource: the server responded with a status of {status} "
            problems = [p for p in problems if noise not in p]
        return problems

    # --- account ----------------------------------------------------------------------------

    def open(self, path: str = "/") -> None:
        self.page.goto(self.server.url + path)

    def sign_up(self, handle: str, display_name: str) -> None:
        self.open()
        self.page.get_by_role("tab", name="Sign up").click()
        self.page.get_by_label("Handle").fill(handle)
        self.page.get_by_label("Display name").fill(display_name)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Create my account").click()
        self.handle = handle
        self.wait_for_check_in()

    def wait_for_check_in(self) -> None:
        expect(self.page.locator("form[data-ready]")).to_be_visible()

    def token(self) -> str:
        token = self.page.evaluate("localStorage.getItem('hugmood.token')")
        assert isinstance(token, str)
        return token

    def api(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Ask the server directly, with this person's session (to check what it stored)."""
        response = httpx.post(
            self.server.url + "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=15,
        )
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    # --- navigation and screens -------------------------------------------------------------

    def go(self, screen: str) -> None:
        self.page.get_by_role("navigation", name="Screens").get_by_role("link", name=screen).click()
        expect(self.page.get_by_role("heading", level=1)).to_be_visible()

    def screenshot(self, name: str, *, full_page: bool = False) -> None:
        """Saved under tests/browser/screenshots/ (not committed; a few are in docs/)."""
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(
            path=SCREENSHOTS / f"{name}.png", animations="disabled", full_page=full_page
        )

    def check_in(self, mood: str, *, note: str = "", privacy: str = "Friends") -> None:
        page = self.page
        self.wait_for_check_in()
        form = page.get_by_role("form", name="Check in")
        form.locator("label.chip", has_text=re.compile(f"^{mood}$")).click()
        if note:
            form.get_by_label("Note").fill(note)
        form.get_by_role("group", name="Who can see it").get_by_text(privacy, exact=True).click()
        form.get_by_role("button", name="Check in").click()

    def set_offline(self, offline: bool) -> None:
        self._offline_at_some_point = True
        self.page.context.set_offline(offline)

    def expect_server_down(self) -> None:
        """The test is about to stop the server: Chromium's refused connections are expected."""
        self._server_down_at_some_point = True

    def expect_refused_requests(self, *statuses: int) -> None:
        """The test is about to make the server refuse a request on purpose (e.g. 415 for an
        upload that is not an image): Chromium's "Failed to load resource" line is expected."""
        self._refused_statuses.update(statuses)
