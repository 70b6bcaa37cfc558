"""A photo on a check-in in the web app: added when checking in, shown on the card to a friend
who may see the check-in (fetched with the session, as an <img> cannot send it)."""

from __future__ import annotations

import struct
import zlib

import pytest
from playwright.sync_api import expect

from tests.browser.app import SCREENSHOTS
from tests.browser.conftest import NewPerson
from tests.conftest import unique

pytestmark = pytest.mark.e2e


def sky(width: int, height: int) -> bytes:
    """An RGB PNG of an evening sky: a gradient from violet above to orange below."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b""
    for y in range(height):
        t = y / max(height - 1, 1)
        pixel = bytes((int(90 + 160 * t), int(60 + 90 * t), int(170 - 110 * t)))
        rows += b"\x00" + pixel * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


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
        {"name": "sky.png", "mimeType": "image/png", "buffer": sky(240, 120)}
    )
    ada.check_in("grateful", note="the sky tonight", privacy="Friends")
    expect(ada.page.get_by_role("status").filter(has_text="with a photo")).to_be_visible()

    ben.page.reload()
    ben.wait_for_check_in()
    card = ben.page.get_by_test_id("friends-feed").locator('[data-mood="grateful"]')
    photo = card.get_by_role("img", name="The photo of this check-in")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") == 240
    card.scroll_into_view_if_needed()
    ben.page.screenshot(path=SCREENSHOTS / "photo.png", animations="disabled")
