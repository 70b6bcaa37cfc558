"""Two friends make a mood board together: one creates it and invites the other, both edit the
same canvas, and each sees the other's stickers, notes and cursor arrive live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.app import Person
from tests.browser.conftest import NewPerson
from tests.conftest import unique

pytestmark = pytest.mark.e2e


def test_two_friends_edit_one_board_and_see_each_others_edits_live(
    new_person: NewPerson,
) -> None:
    ada, ben = new_person(width=1024, height=900), new_person()
    ada.sign_up(unique("ada"), "Ada")
    ben.sign_up(unique("ben"), "Ben")
    ada.api("mutation($h: String!) { requestFriendship(handle: $h) { status } }", {"h": ben.handle})
    ben.api("mutation($h: String!) { acceptFriendship(handle: $h) { status } }", {"h": ada.handle})

    # Ada creates a board and invites Ben as an editor.
    ada.go("Boards")
    expect(ada.page.get_by_text("No boards yet")).to_be_visible()
    ada.page.get_by_label("Title").fill("Our week")
    ada.page.get_by_role("button", name="Create board").click()
    expect(ada.page.get_by_role("heading", name="Our week")).to_be_visible()
    expect(ada.page.get_by_test_id("board-status")).to_contain_text("Live")
    ada.page.get_by_role("form", name="Invite a friend").get_by_label("Role").select_option(
        "EDITOR"
    )
    ada.page.get_by_role("button", name="Invite", exact=True).click()
    expect(ada.page.get_by_test_id("board-members")).to_contain_text("can edit")

    ben.go("Boards")
    ben.page.get_by_role("button", name="Open Our week").click()
    expect(ben.page.get_by_test_id("board-status")).to_contain_text("Live with Ada")
    expect(ada.page.get_by_test_id("board-status")).to_contain_text("Live with Ben")

    # Ada's sticker appears on Ben's canvas; Ben's note appears on Ada's.
    ada_canvas = ada.page.get_by_test_id("board-canvas")
    ben_canvas = ben.page.get_by_test_id("board-canvas")
    ada.page.locator("select[name=sticker]").select_option("grateful")
    ada.page.get_by_role("button", name="Add sticker").click()
    expect(ben_canvas.locator('[data-kind="sticker"]')).to_have_text("grateful")
    ben.page.locator("input[name=boardNote]").fill("Pizza on Friday?")
    ben.page.get_by_role("button", name="Add note").click()
    expect(ada_canvas.locator('[data-kind="note"]')).to_have_text("Pizza on Friday?")

    # Ben moves the sticker with the keyboard; Ada sees it move.
    sticker_on_ada = ada_canvas.locator('[data-kind="sticker"]')
    before = sticker_on_ada.get_attribute("style")
    ben_canvas.locator('[data-kind="sticker"]').focus()
    ben.page.keyboard.press("Shift+ArrowRight")
    expect(sticker_on_ada).not_to_have_attribute("style", before or "")

    # Ada drags the note with the mouse; it lands in the same place on Ben's canvas.
    note_on_ben = ben_canvas.locator('[data-kind="note"]')
    before = note_on_ben.get_attribute("style")
    ada_canvas.locator('[data-kind="note"]').drag_to(
        ada_canvas, target_position={"x": 600, "y": 450}
    )
    expect(note_on_ben).not_to_have_attribute("style", before or "")
    expect(note_on_ben).to_have_attribute(
        "style", ada_canvas.locator('[data-kind="note"]').get_attribute("style") or ""
    )

    # Ben's pointer over the canvas shows on Ada's as a named cursor.
    box = ben_canvas.bounding_box()
    assert box is not None
    # (On Ben's phone the canvas is zoomed wider than the screen: stay in its visible part.)
    ben.page.mouse.move(box["x"] + 60, box["y"] + box["height"] / 3)
    ben.page.mouse.move(box["x"] + 80, box["y"] + box["height"] / 3)
    expect(ada_canvas.get_by_test_id("peer-cursor")).to_contain_text("Ben")
    ada.screenshot("board")

    # What was made is kept: a reload shows both items; Ada removes the note.
    ben.page.reload()
    expect(ben.page.get_by_test_id("board-canvas").locator("[data-item-id]")).to_have_count(2)
    ada_canvas.locator('[data-kind="note"]').focus()
    ada.page.keyboard.press("Delete")
    expect(ben.page.get_by_test_id("board-canvas").locator("[data-item-id]")).to_have_count(1)
    snapshot = ada.api("query($id: ID!) { board(id: $id) { snapshot } }", {"id": board_id(ada)})
    assert [i["mood"] for i in snapshot["board"]["snapshot"]["items"]] == ["grateful"]


def board_id(person: Person) -> str:
    value = person.page.evaluate("new URLSearchParams(location.search).get('board')")
    assert isinstance(value, str)
    return value
