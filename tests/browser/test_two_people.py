"""Two people in two browsers: sign up, become friends, check in, see each other's moods exactly
as privacy allows, see each other come and go, and send a hug that arrives live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewPerson
from tests.conftest import unique

pytestmark = pytest.mark.e2e


def test_two_friends_share_moods_as_privacy_allows_and_a_hug_arrives_live(
    new_person: NewPerson,
) -> None:
    ada, ben = new_person(), new_person()
    ada.sign_up(unique("ada"), "Ada")
    ada.screenshot("check-in")
    ben.sign_up(unique("ben"), "Ben")

    # Ada finds Ben by handle and asks; Ben sees the request and accepts.
    ada.go("Friends")
    expect(ada.page.get_by_text("No friends here yet")).to_be_visible()
    ada.page.get_by_label("Find by handle").fill("@" + ben.handle)
    ada.page.get_by_role("button", name="Find", exact=True).click()
    ada.page.get_by_role("button", name=f"Add friend @{ben.handle}").click()
    expect(ada.page.get_by_role("status").filter(has_text="Friend request sent")).to_contain_text(
        f"@{ben.handle}"
    )
    expect(ada.page.get_by_role("heading", name="Requests you sent")).to_be_visible()

    ben.go("Friends")
    expect(ben.page.get_by_role("heading", name="Asking to be friends")).to_be_visible()
    ben.page.get_by_role("button", name=f"Accept @{ada.handle}").click()
    friends = ben.page.get_by_test_id("friends-list")
    expect(friends.locator(f'[data-handle="{ada.handle}"]')).to_be_visible()
    # Both have the app open: each sees the other online.
    expect(friends.locator(f'[data-handle="{ada.handle}"] [data-presence]')).to_have_attribute(
        "data-presence", "ONLINE"
    )
    ada.go("Check in")
    ada.go("Friends")
    ada_sees_ben = ada.page.locator(f'[data-handle="{ben.handle}"] [data-presence]')
    expect(ada_sees_ben).to_have_attribute("data-presence", "ONLINE")

    # Ben checks in twice: one for friends, one only for himself.
    ben.go("Check in")
    ben.check_in("hopeful", note="Finished the long project", privacy="Friends")
    expect(ben.page.get_by_role("status").filter(has_text="Checked in: hopeful")).to_be_visible()
    ben.check_in("lonely", note="a private thought", privacy="Only me")
    expect(ben.page.get_by_role("status").filter(has_text="Checked in: lonely")).to_be_visible()

    # Ada's feed shows the shared one (live, without reloading) and never the private one.
    ada.go("Check in")
    feed = ada.page.get_by_test_id("friends-feed")
    expect(feed).to_contain_text("Finished the long project")
    expect(feed.locator("[data-mood]")).to_have_count(1)
    expect(ada.page.get_by_text("a private thought")).to_have_count(0)
    ben.check_in("proud", note="Told my team, too", privacy="Everyone")
    expect(feed).to_contain_text("Told my team, too")
    expect(feed.locator("[data-mood]")).to_have_count(2)
    ada.screenshot("check-in-with-friends-feed", full_page=True)

    # On Ben's card in Friends, the same two and not the private one.
    ada.go("Friends")
    ada.page.get_by_role("button", name=f"Show moods of @{ben.handle}").click()
    moods = ada.page.locator(f'[data-handle="{ben.handle}"] .their-moods')
    expect(moods.locator("[data-mood]")).to_have_count(2)
    expect(moods).not_to_contain_text("a private thought")
    ada.screenshot("friends")

    # Ada sends Ben a hug; it floats in on Ben's page while he looks at his history.
    ben.go("History")
    ada.page.get_by_role("button", name=f"Send a hug to @{ben.handle}").click()
    expect(ada.page.get_by_role("heading", name="Hugs", level=1)).to_be_visible()
    ada.page.get_by_role("radio", name=re.compile("Strength")).check()
    ada.page.get_by_label("Message").fill("You did it!")
    ada.page.get_by_role("button", name="Send hug").click()
    expect(ada.page.get_by_role("status").filter(has_text="Hug sent")).to_be_visible()

    arrival = ben.page.get_by_test_id("hug-arrival")
    expect(arrival).to_contain_text("Ada sent you a strength hug")
    expect(arrival).to_contain_text("You did it!")
    ben.screenshot("hug-arrives")
    arrival.get_by_role("button", name="Mark seen").click()
    expect(arrival).to_have_count(0)

    # Ada's sent list follows the hug live: seen.
    sent = ada.page.get_by_test_id("sent-hugs")
    expect(sent.locator("li").first).to_have_attribute("data-status", "SEEN")
    expect(sent).to_contain_text("seen")
    ada.screenshot("hugs")

    ben.go("Hugs")
    expect(ben.page.get_by_test_id("inbox")).to_contain_text("You did it!")

    # Ben appears offline: Ada's dot turns grey without her reloading.
    ada.go("Friends")
    expect(ada_sees_ben).to_have_attribute("data-presence", "ONLINE")
    ben.go("Settings")
    ben.page.get_by_label("Appear offline to friends").check()
    expect(
        ben.page.get_by_role("status").filter(has_text="Friends now see you as offline")
    ).to_be_visible()
    expect(ada_sees_ben).to_have_attribute("data-presence", "OFFLINE")
    ben.screenshot("settings")


def test_a_hug_can_be_taken_back_before_it_is_seen(new_person: NewPerson) -> None:
    ada, ben = new_person(), new_person()
    ada.sign_up(unique("ada"), "Ada")
    ben.sign_up(unique("ben"), "Ben")
    ada.api("mutation($h: String!) { requestFriendship(handle: $h) { status } }", {"h": ben.handle})
    ben.api("mutation($h: String!) { acceptFriendship(handle: $h) { status } }", {"h": ada.handle})

    ada.go("Hugs")
    ada.page.get_by_label("Message").fill("oops, wrong moment")
    ada.page.get_by_role("button", name="Send hug").click()
    expect(ben.page.get_by_test_id("hug-arrival")).to_contain_text("oops, wrong moment")

    ada.page.get_by_role("button", name="Take back the hug to Ben").click()
    expect(ada.page.get_by_test_id("sent-hugs")).to_contain_text("taken back")
    # Ben's arrival disappears, and his inbox does not have it.
    expect(ben.page.get_by_test_id("hug-arrival")).to_have_count(0)
    ben.go("Hugs")
    expect(ben.page.get_by_text("No hugs yet")).to_be_visible()


def test_a_friend_who_switches_to_another_tab_shows_as_away(new_person: NewPerson) -> None:
    ada, ben = new_person(), new_person()
    ada.sign_up(unique("ada"), "Ada")
    ben.sign_up(unique("ben"), "Ben")
    ada.api("mutation($h: String!) { requestFriendship(handle: $h) { status } }", {"h": ben.handle})
    ben.api("mutation($h: String!) { acceptFriendship(handle: $h) { status } }", {"h": ada.handle})
    ben.page.reload()
    ben.wait_for_check_in()
    ada.go("Friends")
    dot = ada.page.locator(f'[data-handle="{ben.handle}"] [data-presence]')
    expect(dot).to_have_attribute("data-presence", "ONLINE")

    # Ben's tab goes to the background (as when he switches tabs), then comes back.
    for state, seen in (("hidden", "AWAY"), ("visible", "ONLINE")):
        ben.page.evaluate(
            "(state) => { Object.defineProperty(document, 'visibilityState',"
            " { value: state, configurable: true });"
            " document.dispatchEvent(new Event('visibilitychange')); }",
            state,
        )
        expect(dot).to_have_attribute("data-presence", seen)
        expect(dot).to_contain_text(seen.lower())
