"""Close friends in the web app: a friend ticked as a close friend sees, live, a check-in
shared with close friends only (who does not see it is checked on every path in e2e)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewPerson
from tests.conftest import unique

pytestmark = pytest.mark.e2e

ASK = "mutation($h: String!) { requestFriendship(handle: $h) { status } }"
ACCEPT = "mutation($h: String!) { acceptFriendship(handle: $h) { status } }"


def test_a_close_friend_sees_a_check_in_shared_with_close_friends(
    new_person: NewPerson,
) -> None:
    ada, ben = new_person(), new_person()
    ada.sign_up(unique("ada"), "Ada")
    ben.sign_up(unique("ben"), "Ben")
    ada.api(ASK, {"h": ben.handle})
    ben.api(ACCEPT, {"h": ada.handle})

    ada.go("Friends")
    friend = ada.page.get_by_test_id("friends-list").locator(f'[data-handle="{ben.handle}"]')
    friend.get_by_label("Close friend").check()
    expect(ada.page.get_by_role("status")).to_contain_text(f"@{ben.handle} is now a close friend")
    assert ada.api("{ closeFriends { handle } }")["closeFriends"] == [{"handle": ben.handle}]
    ada.screenshot("close-friends")

    ben.go("Check in")
    ada.go("Check in")
    ada.check_in("anxious", note="only for the closest", privacy="Close friends")
    expect(ada.page.get_by_role("status").filter(has_text="Checked in: anxious")).to_be_visible()
    expect(ben.page.get_by_test_id("friends-feed")).to_contain_text("only for the closest")
