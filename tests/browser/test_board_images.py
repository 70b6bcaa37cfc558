"""Images on a mood board: an editor uploads a picture, everyone on the board sees it (fetched
with their session, shown through an object URL), an editor moves it with the keyboard, a
viewer sees it but cannot add one, and a file that is not an image is refused in words."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.app import Person
from tests.browser.conftest import NewPerson
from tests.browser.test_quality import check_screen
from tests.conftest import unique

pytestmark = pytest.mark.e2e

SNAPSHOT = "query($id: ID!) { board(id: $id) { snapshot } }"
ALT = "A sunny field"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour (8-bit RGB, no filter), made by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def befriend(a: Person, b: Person) -> None:
    a.api("mutation($h: String!) { requestFriendship(handle: $h) { status } }", {"h": b.handle})
    b.api("mutation($h: String!) { acceptFriendship(handle: $h) { status } }", {"h": a.handle})


def invite(owner: Person, friend: Person, role: str) -> None:
    form = owner.page.get_by_role("form", name="Invite a friend")
    form.get_by_label("Invite").select_option(friend.handle)
    form.get_by_label("Role").select_option(role)
    form.get_by_role("button", name="Invite", exact=True).click()
    expect(owner.page.get_by_test_id("board-members")).to_contain_text(f"@{friend.handle}")


def open_board(person: Person, title: str) -> Locator:
    person.go("Boards")
    person.page.get_by_role("button", name=f"Open {title}").click()
    expect(person.page.get_by_test_id("board-status")).to_contain_text("Live")
    return person.page.get_by_test_id("board-canvas")


def expect_image_shown(person: Person, canvas: Locator) -> None:
    image = canvas.locator('[data-kind="image"] img')
    expect(image).to_have_attribute("alt", ALT)
    handle = image.element_handle()
    person.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle)
    assert image.evaluate("img => img.naturalWidth") == 24
    src = image.get_attribute("src")
    assert src is not None and src.startswith("blob:"), src


def board_id(person: Person) -> str:
    value = person.page.evaluate("new URLSearchParams(location.search).get('board')")
    assert isinstance(value, str)
    return value


def test_an_editor_adds_an_image_that_everyone_on_the_board_sees(
    new_person: NewPerson, tmp_path: Path
) -> None:
    ada, ben, cy = (
        new_person(width=1024, height=900),
        new_person(width=375, height=740),
        new_person(),
    )
    ada.sign_up(unique("ada"), "Ada")
    ben.sign_up(unique("ben"), "Ben")
    cy.sign_up(unique("cy"), "Cy")
    befriend(ada, ben)
    befriend(ada, cy)

    # Ada makes a board with Ben as an editor and Cy as a viewer.
    ada.go("Boards")
    ada.page.get_by_label("Title").fill("Pictures")
    ada.page.get_by_role("button", name="Create board").click()
    expect(ada.page.get_by_test_id("board-status")).to_contain_text("Live")
    invite(ada, ben, "EDITOR")
    invite(ada, cy, "VIEWER")
    ada_canvas = ada.page.get_by_test_id("board-canvas")
    ben_canvas = open_board(ben, "Pictures")

    # Ada adds a picture with a description; it shows on her canvas and on Ben's.
    picture = tmp_path / "field.png"
    picture.write_bytes(png(24, 16, (240, 190, 40)))
    form = ada.page.get_by_role("form", name="Add an image")
    form.get_by_label("Image").set_input_files(picture)
    form.get_by_label("Description").fill(ALT)
    form.get_by_role("button", name="Add image").click()
    expect(form.get_by_label("Description")).to_have_value("")
    expect_image_shown(ada, ada_canvas)
    expect_image_shown(ben, ben_canvas)
    expect(ben_canvas.locator('[data-kind="image"]')).to_have_attribute(
        "aria-label", f"Image: {ALT}. Arrow keys move it, Delete removes it."
    )
    ada.screenshot("board-image")
    check_screen(ben.page, "a board with an image, 375 px")
    ben.screenshot("375-board-image", full_page=True)

    # Ben moves it with the keyboard; Ada sees it move.
    image_on_ada = ada_canvas.locator('[data-kind="image"]')
    before = image_on_ada.get_attribute("style")
    ben_canvas.locator('[data-kind="image"]').focus()
    ben.page.keyboard.press("Shift+ArrowRight")
    expect(image_on_ada).not_to_have_attribute("style", before or "")
    expect(image_on_ada).to_have_attribute(
        "style", ben_canvas.locator('[data-kind="image"]').get_attribute("style") or ""
    )

    # Cy, a viewer, sees the picture but has nothing to add one with.
    cy_canvas = open_board(cy, "Pictures")
    expect_image_shown(cy, cy_canvas)
    expect(cy.page.get_by_role("form", name="Add an image")).to_have_count(0)
    expect(cy.page.locator('input[type="file"]')).to_have_count(0)

    # A text file named .png is refused by the server, in words; nothing is added.
    ada.expect_refused_requests(415)
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture at all, just some words\n")
    form.get_by_label("Image").set_input_files(fake)
    form.get_by_role("button", name="Add image").click()
    alert = ada.page.get_by_role("alert")
    expect(alert).to_contain_text("The image was not added.")
    expect(alert).to_contain_text("not a PNG, JPEG, GIF or WebP image")
    expect(form.get_by_role("button", name="Add image")).to_be_enabled()
    check_screen(ada.page, "a refused image")

    # A file over 2 MiB is refused before it is sent.
    big = tmp_path / "huge.png"
    big.write_bytes(png(24, 16, (1, 2, 3)) + b"\x00" * (2 * 1024 * 1024))
    form.get_by_label("Image").set_input_files(big)
    form.get_by_role("button", name="Add image").click()
    expect(alert).to_contain_text("a board takes images up to 2 MB")

    expect(ben_canvas.locator("[data-item-id]")).to_have_count(1)
    items = ada.api(SNAPSHOT, {"id": board_id(ada)})["board"]["snapshot"]["items"]
    assert [(i["kind"], i.get("alt")) for i in items] == [("image", ALT)]
    assert len(items[0]["blobId"]) == 64
