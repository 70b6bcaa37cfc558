"""Fixtures for the browser tests: a HugMood server serving the built app, Debian's Chromium
driven by Playwright, and one browser context per person (each its own cookies and storage)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from hugmood.entrypoints.http.web import WEB_DIST
from tests.browser.app import CHROMIUM, CHROMIUM_ARGS, Person
from tests.e2e.server import HugMoodServer

NewPerson = Callable[..., Person]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module (Debian's, never a downloaded one)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    if not (WEB_DIST / "index.html").exists():
        pytest.fail(f"{WEB_DIST} is not built: run `make web`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HugMoodServer]:
    """A fresh HugMood (nothing kept on disk) serving the app at `/`."""
    instance = HugMoodServer(
        tmp_path / "data",
        tmp_path / "logs",
        {"HUGMOOD_DATABASE_URL": "memory", "HUGMOOD_LOG_LEVEL": "WARNING"},
    )
    instance.start()
    yield instance
    instance.close()


@pytest.fixture
def new_person(browser: Browser, server: HugMoodServer) -> Iterator[NewPerson]:
    """`new_person(width=…)`: a fresh browser context on the app; each checked at the end for
    console errors and uncaught exceptions."""
    contexts: list[BrowserContext] = []
    people: list[Person] = []

    def make(width: int = 390, height: int = 844) -> Person:
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        person = Person(server, context.new_page())
        people.append(person)
        return person

    yield make
    problems = [p for person in people for p in person.problems()]
    for context in contexts:
        context.close()
    assert not problems, "the page logged errors:\n" + "\n".join(problems)
