"""One person alone: signing up and in with clear errors, history with edit and delete,
settings, export, logging out, and check-ins made offline that are sent once on reconnect."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.app import PASSWORD
from tests.browser.conftest import NewPerson
from tests.conftest import unique

pytestmark = pytest.mark.e2e

MY_ENTRIES = """query($from: DateTime!, $to: DateTime!) {
  moodHistory(from: $from, to: $to) { entries { id moodType note } } }"""
_NOW = datetime.now(UTC)
ALL_TIME = {
    "from": (_NOW - timedelta(days=400)).isoformat(),
    "to": (_NOW + timedelta(days=1)).isoformat(),
}


def test_sign_up_and_log_in_say_what_went_wrong(new_person: NewPerson) -> None:
    ada = new_person()
    ada.open()
    page = ada.page
    ada.screenshot("log-in")
    page.get_by_label("Handle").fill("nobody_here")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("The handle or password is incorrect.")

    page.get_by_role("tab", name="Sign up").click()
    page.get_by_label("Handle").fill("ada_" + unique("x")[2:10])
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("alert")).to_have_text("Your password needs at least 10 characters.")

    page.get_by_label("Handle").fill("9lives")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Handle must be 3–30 characters: a letter, then letters, digits or underscores."
    )
    ada.screenshot("sign-up-error")

    handle = unique("ada")
    ada.sign_up(handle, "Ada")
    # The same handle again, from another browser: taken.
    other = new_person()
    other.open()
    other.page.get_by_role("tab", name="Sign up").click()
    other.page.get_by_label("Handle").fill(handle)
    other.page.get_by_label("Password").fill(PASSWORD)
    other.page.get_by_role("button", name="Create my account").click()
    expect(other.page.get_by_role("alert")).to_have_text(f"The handle @{handle} is already taken.")

    # A reload keeps the session; logging out ends it, and the old token stops working.
    page.reload()
    ada.wait_for_check_in()
    token = ada.token()
    ada.go("Settings")
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="logged out")).to_have_text(
        "You've logged out. See you soon."
    )
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    refused = ada.server.http.post(
        ada.server.url + "/graphql",
        json={"query": "{ me { handle } }"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_history_shows_check_ins_and_lets_me_edit_and_delete_them(new_person: NewPerson) -> None:
    ada = new_person()
    ada.sign_up(unique("ada"), "Ada")
    ada.check_in("calm", note="tea in the garden", privacy="Only me")
    expect(ada.page.get_by_role("status").filter(has_text="Checked in: calm")).to_be_visible()
    ada.check_in("anxious", note="before the exam")
    expect(ada.page.get_by_role("status").filter(has_text="Checked in: anxious")).to_be_visible()

    ada.go("History")
    page = ada.page
    expect(page.get_by_test_id("mood-chart").locator("canvas")).to_be_visible()
    for grouping in ("Weeks", "Months", "Days"):
        page.get_by_role("button", name=grouping, exact=True).click()
        expect(page.get_by_role("button", name=grouping, exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(page.get_by_test_id("mood-chart")).to_have_attribute(
            "aria-label", re.compile(r"1 (day|week|month) with check-ins")
        )
    today = page.get_by_test_id("year-in-pixels").locator(".pixel.filled")
    expect(today).to_have_count(1)
    expect(today).to_have_attribute("title", re.compile(r"2 check-ins"))
    entries = page.get_by_test_id("my-entries")
    expect(entries.locator("[data-mood]")).to_have_count(2)
    ada.screenshot("history")

    # Edit: the anxious entry becomes hopeful with a new note.
    page.get_by_role("button", name=re.compile("^Edit anxious")).click()
    form = page.get_by_role("form", name="Edit entry")
    form.get_by_label("Mood").select_option("hopeful")
    form.get_by_label("Note").fill("the exam went fine")
    form.get_by_role("button", name="Save changes").click()
    expect(entries.locator('[data-mood="hopeful"]')).to_contain_text("the exam went fine")
    expect(entries.locator('[data-mood="anxious"]')).to_have_count(0)

    # Delete asks first, then the entry is gone (here and on the server).
    page.get_by_role("button", name=re.compile("^Delete calm")).click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(entries.locator("[data-mood]")).to_have_count(1)
    stored = ada.api(MY_ENTRIES, ALL_TIME)["moodHistory"]["entries"]
    assert [(e["moodType"], e["note"]) for e in stored] == [("hopeful", "the exam went fine")]


def test_settings_change_privacy_default_hug_types_and_export_my_data(
    new_person: NewPerson,
) -> None:
    ada = new_person()
    ada.sign_up(unique("ada"), "Ada")
    ada.check_in("grateful", note="exported later")
    expect(ada.page.get_by_role("status").filter(has_text="Checked in")).to_be_visible()
    ada.go("Settings")
    page = ada.page

    page.get_by_role("group", name="Who can see it").get_by_text("Only me").click()
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    hugs = page.get_by_role("group", name="Hugs you accept")
    hugs.get_by_role("checkbox", name=re.compile("Playful")).uncheck()
    expect(hugs.get_by_role("status")).to_have_text("Saved.")
    settings = ada.api("{ me { defaultVisibility } hugSettings { acceptedTypes } }")
    assert settings["me"]["defaultVisibility"] == "PRIVATE"
    assert "PLAYFUL" not in settings["hugSettings"]["acceptedTypes"]

    with page.expect_download() as download:
        page.get_by_role("button", name="Export my data").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert (exported["format"], exported["account"]) == ("hugmood-export", ada.handle)
    assert exported["profile"]["handle"] == ada.handle
    assert [e["note"] for e in exported["entries"]] == ["exported later"]
    assert "PLAYFUL" not in exported["hugSettings"]["acceptedTypes"]

    # The new default is what the next check-in starts with.
    ada.go("Check in")
    privacy = page.get_by_role("group", name="Who can see it")
    expect(privacy.get_by_role("radio", name="Only me")).to_be_checked()


def test_an_offline_check_in_waits_on_the_device_and_is_sent_once(new_person: NewPerson) -> None:
    ada = new_person()
    ada.sign_up(unique("ada"), "Ada")
    page = ada.page

    ada.set_offline(True)
    ada.check_in("tired", note="written on the train")
    expect(page.get_by_role("status").filter(has_text="Saved on this device")).to_be_visible()
    banner = page.get_by_test_id("waiting-banner")
    expect(banner).to_contain_text("You're offline")
    expect(page.get_by_test_id("live-state")).to_have_text("Offline")
    expect(banner).to_contain_text("1 check-in is waiting to be sent")
    ada.check_in("sleepy", note="still on the train")
    expect(banner).to_contain_text("2 check-ins are waiting to be sent")
    ada.screenshot("offline-waiting")

    ada.set_offline(False)
    expect(banner).to_have_count(0)
    expect(page.get_by_test_id("live-state")).to_have_text("Live")
    stored = ada.api(MY_ENTRIES, ALL_TIME)["moodHistory"]["entries"]
    assert sorted(e["note"] for e in stored) == ["still on the train", "written on the train"]

    # Going offline and back, and reloading, sends nothing twice.
    ada.set_offline(True)
    ada.set_offline(False)
    page.reload()
    ada.wait_for_check_in()
    ada.go("History")
    expect(page.get_by_test_id("my-entries").locator("[data-mood]")).to_have_count(2)
    assert len(ada.api(MY_ENTRIES, ALL_TIME)["moodHistory"]["entries"]) == 2


def test_log_out_everywhere_signs_out_my_other_browsers_too(new_person: NewPerson) -> None:
    laptop, phone = new_person(), new_person(width=375)
    handle = unique("ada")
    laptop.sign_up(handle, "Ada")
    phone.open()
    phone.page.get_by_label("Handle").fill(handle)
    phone.page.get_by_label("Password").fill(PASSWORD)
    phone.page.get_by_role("button", name="Log in").click()
    phone.wait_for_check_in()
    phone_token = phone.token()

    laptop.go("Settings")
    laptop.page.get_by_role("button", name="Log out everywhere").click()
    expect(laptop.page.get_by_role("status").filter(has_text="logged out")).to_have_text(
        "You've logged out everywhere (2 sessions ended). See you soon."
    )
    # The phone is sent to log in by itself (its live socket closes with 4401), saying why.
    expect(phone.page.get_by_role("status").filter(has_text="session")).to_have_text(
        "Your session has ended. Please log in again."
    )
    expect(phone.page.get_by_role("button", name="Log in")).to_be_visible()
    refused = phone.server.http.post(
        phone.server.url + "/graphql",
        json={"query": "{ me { handle } }"},
        headers={"Authorization": f"Bearer {phone_token}"},
    ).json()
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_the_app_opens_without_a_network_and_keeps_the_check_in_for_later(
    new_person: NewPerson,
) -> None:
    ada = new_person()
    ada.sign_up(unique("ada"), "Ada")
    page = ada.page
    # The app has been opened once: its service worker keeps it.
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    ada.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    ada.wait_for_check_in()  # the mood words were kept too
    ada.check_in("peaceful", note="opened on a plane")
    expect(page.get_by_test_id("waiting-banner")).to_contain_text(
        "1 check-in is waiting to be sent"
    )

    ada.set_offline(False)
    expect(page.get_by_test_id("waiting-banner")).to_have_count(0)
    stored = ada.api(MY_ENTRIES, ALL_TIME)["moodHistory"]["entries"]
    assert [e["note"] for e in stored] == ["opened on a plane"]


def test_check_ins_waiting_on_a_shared_browser_are_sent_only_as_their_author(
    new_person: NewPerson,
) -> None:
    ada = new_person()
    ada.sign_up(unique("ada"), "Ada")
    ada_token = ada.token()
    ben_handle = unique("ben")
    ada.server.http.post(
        ada.server.url + "/graphql",
        json={
            "query": "mutation($i: RegisterInput!) { register(input: $i) { handle } }",
            "variables": {"i": {"handle": ben_handle, "displayName": "Ben", "password": PASSWORD}},
        },
    ).raise_for_status()
    page = ada.page

    ada.set_offline(True)
    ada.check_in("nervous", note="Ada's, written offline")
    banner = page.get_by_test_id("waiting-banner")
    expect(banner).to_contain_text("1 check-in is waiting")
    # Meanwhile Ada's session ends elsewhere; back online, the app asks her to log in again.
    ada.server.http.post(
        ada.server.url + "/graphql",
        json={"query": "mutation { logOutEverywhere }"},
        headers={"Authorization": f"Bearer {ada_token}"},
    ).raise_for_status()
    ada.set_offline(False)
    expect(page.get_by_role("status").filter(has_text="session")).to_have_text(
        "Your session has ended. Please log in again."
    )

    def log_in(handle: str) -> None:
        page.get_by_label("Handle").fill(handle)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("banner")).to_contain_text(f"@{handle}")

    # Ben borrows the browser: Ada's check-in is neither shown to him nor sent as his.
    log_in(ben_handle)
    expect(page.get_by_text("waiting to be sent")).to_have_count(0)
    ada.go("History")
    expect(page.get_by_text("No entries yet")).to_be_visible()
    ada.go("Settings")
    page.get_by_role("button", name="Log out", exact=True).click()

    # Ada logs in again: hers goes out, once, as hers.
    log_in(ada.handle)
    expect(banner).to_have_count(0)
    stored = ada.api(MY_ENTRIES, ALL_TIME)["moodHistory"]["entries"]
    assert [e["note"] for e in stored] == ["Ada's, written offline"]


def test_a_waiting_check_in_the_server_refuses_is_explained_and_can_be_discarded(
    new_person: NewPerson,
) -> None:
    ada = new_person()
    ada.sign_up(unique("ada"), "Ada")
    page = ada.page
    ada.set_offline(True)
    form = page.get_by_role("form", name="Check in")
    form.locator("summary").click()
    form.get_by_label("Tags").fill("#yay!")
    ada.check_in("excited")
    expect(page.get_by_role("status").filter(has_text="Saved on this device")).to_be_visible()

    ada.set_offline(False)
    refused = page.get_by_test_id("waiting-banner").locator(".refused")
    expect(refused).to_contain_text("A check-in saved on this device (excited) could not be stored")
    expect(refused).to_contain_text("Tag '#yay!' must be 1–32 letters, digits, spaces")
    refused.get_by_role("button", name="Discard it").click()
    expect(page.get_by_test_id("waiting-banner")).to_have_count(0)
    assert ada.api(MY_ENTRIES, ALL_TIME)["moodHistory"]["entries"] == []
