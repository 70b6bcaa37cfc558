"""Issue 14 in the web app, on a phone-sized screen: six weeks of check-ins where walks lift
the day become an insight card with its numbers and chart, answered and dismissed; the
similar-minds opt-in stays as set; a friend of a friend is suggested and asked in a tap, and
a friend's page (the profile overview) shows what they share."""

from __future__ import annotations

import random
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.app import Person
from tests.browser.conftest import NewPerson
from tests.browser.test_quality import check_screen
from tests.conftest import unique
from tests.e2e.client import befriend, record_mood, sign_up

pytestmark = pytest.mark.e2e

RECORD_MOODS = "mutation($e: [RecordMoodInput!]!) { recordMoods(entries: $e) { status } }"
INSIGHTS = "{ insights(limit: 20) { id sentence helpful } }"


def six_weeks_with_walks(person: Person) -> None:
    """The recipe of tests/e2e/test_insights.py: a walk adds 0.4 to the day's intensity."""
    rng = random.Random(6)
    start = datetime.now(UTC) - timedelta(days=42)
    entries = []
    for n in range(42):
        walked = rng.random() < 0.45
        entries.append(
            {
                "id": str(uuid.uuid4()),
                "moodType": "happy",
                "intensity": round(rng.uniform(0.2, 0.5) + (0.4 if walked else 0.0), 2),
                "contextFactors": {"tags": ["walk"] if walked else []},
                "recordedAt": (start + timedelta(days=n, hours=9)).isoformat(),
            }
        )
    results = person.api(RECORD_MOODS, {"e": entries})["recordMoods"]
    assert {r["status"] for r in results} == {"STORED"}


def eventually_insights(person: Person) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found: list[dict[str, Any]] = person.api(INSIGHTS)["insights"]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("no insight came")


def test_walks_become_an_insight_card_to_answer_and_similar_minds_stay_opted_in(
    new_person: NewPerson,
) -> None:
    ada = new_person(width=375, height=740)
    ada.sign_up(unique("ada"), "Ada")
    page = ada.page
    ada.go("Insights")
    expect(page.get_by_test_id("insights-empty")).to_contain_text(
        "at least 3 days with it and 3 days without it"
    )
    expect(page.get_by_test_id("community-not-released")).to_contain_text("Not enough people yet")
    minds = page.get_by_label("Suggest me as a similar mind")
    expect(minds).not_to_be_checked()

    six_weeks_with_walks(ada)
    walk = next(i for i in eventually_insights(ada) if "walk" in i["sentence"])
    page.reload()
    card = page.get_by_test_id("insight").filter(has_text=walk["sentence"])
    expect(card.get_by_test_id("insight-numbers")).to_have_text(
        re.compile(
            r"^\+0\.\d\d \([\d.]+% interval 0\.\d\d to 0\.\d\d\), \d+ days with, \d+ without$"
        )
    )
    expect(card.get_by_test_id("insight-chart")).to_be_visible()
    check_screen(page, "Insights")
    ada.screenshot("insights")

    card.get_by_role("button", name="Helpful").click()
    expect(card.get_by_role("button", name="Helpful ✓")).to_have_attribute("aria-pressed", "true")
    card.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_role("status").filter(has_text="Dismissed")).to_be_visible()
    expect(card).to_have_count(0)
    assert walk["id"] not in [i["id"] for i in ada.api(INSIGHTS)["insights"]]

    minds.check()
    expect(page.get_by_role("status").filter(has_text="You can now be suggested")).to_be_visible()
    expect(page.get_by_test_id("minds-empty")).to_contain_text("Nobody to show yet")
    expect(page.get_by_test_id("minds-helped-empty")).to_contain_text(
        "Not enough people yet: this needs at least 20"
    )
    page.reload()
    expect(minds).to_be_checked()
    assert ada.api("{ discoverable }")["discoverable"] is True


def test_a_friend_of_a_friend_is_suggested_and_asked_and_a_friends_page_shows_what_they_share(
    new_person: NewPerson,
) -> None:
    ada = new_person(width=375, height=740)
    ada.sign_up(unique("ada"), "Ada")
    ben, cy = sign_up(ada.server, "ben"), sign_up(ada.server, "cy")
    ada.api("mutation($h: String!) { requestFriendship(handle: $h) { status } }", {"h": ben.handle})
    ben.api("mutation($h: String!) { acceptFriendship(handle: $h) { status } }", h=ada.handle)
    befriend(ben, cy)
    record_mood(ben, moodType="calm", intensity=0.6, privacy="FRIENDS_ONLY", note="a quiet day")
    record_mood(ben, moodType="anxious", intensity=0.4, privacy="PRIVATE", note="kept to myself")

    ada.go("Friends")
    suggested = ada.page.get_by_test_id("people-you-may-know").locator(
        f"[data-handle='{cy.handle}']"
    )
    expect(suggested).to_contain_text("1 friend in common")
    check_screen(ada.page, "Friends")
    ada.screenshot("people-you-may-know")
    suggested.get_by_role("button", name=f"Add friend @{cy.handle}").click()
    expect(ada.page.get_by_role("status")).to_have_text(f"Friend request sent to @{cy.handle}.")
    expect(suggested).to_have_count(0)
    expect(ada.page.get_by_role("region", name="Requests you sent")).to_contain_text(cy.handle)
    incoming = cy.api("{ connections(status: INCOMING) { profile { handle } } }")["connections"]
    assert [c["profile"]["handle"] for c in incoming] == [ada.handle]

    ada.page.get_by_test_id("friends-list").get_by_role("link", name=ben.handle.title()).click()
    page = ada.page
    expect(page).to_have_url(re.compile(f"/people/{ben.handle}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ben.handle.title())
    expect(page.get_by_test_id("person-facts")).to_contain_text("2 friends · 0 in common with you")
    recent = page.get_by_role("region", name="Recent check-ins")
    expect(recent).to_contain_text("a quiet day")
    expect(recent).not_to_contain_text("kept to myself")
    expect(page.get_by_test_id("person-chart")).to_be_visible()
    expect(page.get_by_test_id("person-unavailable")).to_have_count(0)
    check_screen(page, "a friend's page")
    ada.screenshot("person", full_page=True)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(ben.handle.title())
