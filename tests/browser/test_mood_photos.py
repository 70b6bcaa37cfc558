"""A photo on a check-in in the web app: added when checking in, shown on the card to a friend
who may see the check-in (fetched with the session, as an <img> cannot send it)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewPerson
from tests.conftest import unique
from tests.e2e.test_board_images import png

pytestmark = pytest.mark.e2e


def test_a_friend_sees_the_photo_of_a_check_in_shared_with_friends(
    new_person: NewPerson,
) -> None:
    ada, ben = new_person(), new_person()
    ada.sign_up(unique("ada"), "Ada")
    ben.sign_up(unique("ben"), "Ben")
    ada.api("mutation($h: String!) { requestFriendship(handle: $h) { status } }", {"h": ben.handle})
    ben.api("mutation($h: String!) { acceptFriendship(handle: $h) { status } }", {"h": ada.handle})

    form = ada.page.get_by_role("form", name="Check in")
    form.get_by_label("Photo").set_input_files(
        {"name": "sky.png", "mimeType": "image/png", "buffer": png(24, 24)}
    )
    ada.check_in("grateful", note="the sky tonight", privacy="Friends")
    expect(ada.page.get_by_role("status").filter(has_text="with a photo")).to_be_visible()

    ben.page.reload()
    ben.wait_for_check_in()
    card = ben.page.get_by_test_id("friends-feed").locator('[data-mood="grateful"]')
    photo = card.get_by_role("img", name="The photo of this check-in")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") == 24
