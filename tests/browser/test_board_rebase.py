"""A board rebased while a page was away from it: when a board's room closes (here at a clean
shutdown) the server starts a new generation of its document without the history. A page still
holding the old copy is told so when it reconnects (close code 4410) after its edits made in
the meantime are taken; it loads the board afresh by itself and nothing it did is lost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.app import Person
from tests.browser.conftest import NewPerson
from tests.conftest import unique
from tests.e2e.server import HugMoodServer

pytestmark = pytest.mark.e2e

HISTORY_ROUNDS = 40
"""Each round moves the sticker and then the note one step: history a rebase can drop."""

SNAPSHOT = "query($id: ID!) { board(id: $id) { snapshot } }"

# y-websocket keeps a close code to itself: record how each board socket of the page closed.
RECORD_BOARD_CLOSE_CODES = """
(() => {
  const Native = window.WebSocket;
  window.boardCloseCodes = [];
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (String(url).includes("/boards/")) {
        this.addEventListener("close", (event) => window.boardCloseCodes.push(event.code));
      }
    }
  };
})();
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HugMoodServer]:
    """HugMood on SQLite (kept across restarts) that rebases any board with some history when
    its room closes."""
    instance = HugMoodServer(
        tmp_path / "data",
        tmp_path / "logs",
        {
            "HUGMOOD_DATABASE_URL": "sqlite",
            "HUGMOOD_LOG_LEVEL": "WARNING",
            "HUGMOOD_BOARD_REBASE_MIN_BYTES": "0",
        },
    )
    instance.start()
    yield instance
    instance.close()


def test_a_page_away_during_a_rebase_reloads_the_board_and_keeps_its_offline_edits(
    new_person: NewPerson, server: HugMoodServer
) -> None:
    ada, ben = new_person(width=1024, height=900), new_person(width=1024, height=900)
    ada.page.add_init_script(RECORD_BOARD_CLOSE_CODES)
    ada.sign_up(unique("ada"), "Ada")
    ben.sign_up(unique("ben"), "Ben")
    ada.api("mutation($h: String!) { requestFriendship(handle: $h) { status } }", {"h": ben.handle})
    ben.api("mutation($h: String!) { acceptFriendship(handle: $h) { status } }", {"h": ada.handle})

    # Ada makes a board with Ben as an editor, puts a sticker and a note on it, and moves them
    # about for a while: the board's document keeps every old position as history.
    ada.go("Boards")
    ada.page.get_by_label("Title").fill("Our week")
    ada.page.get_by_role("button", name="Create board").click()
    status = ada.page.get_by_test_id("board-status")
    expect(status).to_contain_text("Live")
    ada.page.get_by_role("button", name="Invite", exact=True).click()
    expect(ada.page.get_by_test_id("board-members")).to_contain_text("can edit")
    board = board_id(ada)
    canvas = ada.page.get_by_test_id("board-canvas")
    ada.page.locator("select[name=sticker]").select_option("grateful")
    ada.page.get_by_role("button", name="Add sticker").click()
    ada.page.locator("input[name=boardNote]").fill("Pizza on Friday?")
    ada.page.get_by_role("button", name="Add note").click()
    sticker, note = canvas.locator('[data-kind="sticker"]'), canvas.locator('[data-kind="note"]')
    expect(note).to_have_text("Pizza on Friday?")
    start = {i["kind"]: (i["x"], i["y"]) for i in items_on_server(ada, board)}
    for _ in range(HISTORY_ROUNDS):
        for item in (sticker, note):
            item.focus()
            ada.page.keyboard.press("ArrowRight")
    moved = {kind: (x + 10 * HISTORY_ROUNDS, y) for kind, (x, y) in start.items()}
    wait_until(
        lambda: {i["kind"]: (i["x"], i["y"]) for i in items_on_server(ada, board)} == moved,
        "every move stored",
    )

    # The server shuts down cleanly while Ada's page stays open: the board's room closes and
    # the board is rebased. Ada goes on working: she moves the sticker and adds a note.
    ada.expect_server_down()
    ben.expect_server_down()
    port = server.port
    server.stop()
    expect(status).to_contain_text("Connecting")
    sticker.focus()
    ada.page.keyboard.press("Shift+ArrowDown")
    ada.page.locator("input[name=boardNote]").fill("Written while the server was away")
    ada.page.get_by_role("button", name="Add note").click()
    expect(canvas.locator("[data-item-id]")).to_have_count(3)
    sticker_style = sticker.get_attribute("style") or ""

    # The server is back on the same port. Ada's page reconnects by itself, hands over what it
    # did meanwhile, is told the board was rebased (4410), and loads it afresh: everything is
    # there, and the page is live again.
    server.start(port=port)
    ada.page.wait_for_function("window.boardCloseCodes.includes(4410)", timeout=30_000)
    expect(status).to_contain_text("Live", timeout=15_000)
    expect(canvas.locator("[data-item-id]")).to_have_count(3)
    expect(canvas.get_by_text("Written while the server was away")).to_be_visible()
    expect(note.filter(has_text="Pizza on Friday?")).to_be_visible()
    expect(sticker).to_have_attribute("style", sticker_style)
    stored = items_on_server(ada, board)
    assert sorted(i.get("text") or i["mood"] for i in stored) == [
        "Pizza on Friday?",
        "Written while the server was away",
        "grateful",
    ]
    sticker_x, sticker_y = moved["sticker"]
    assert [(i["x"], i["y"]) for i in stored if i["kind"] == "sticker"] == [
        (sticker_x, sticker_y + 50)
    ]

    # Ben opens the board for the first time: he sees all of it, and the two of them are live
    # together on the new document (names, edits both ways).
    ben.go("Boards")
    ben.page.get_by_role("button", name="Open Our week").click()
    ben_canvas = ben.page.get_by_test_id("board-canvas")
    expect(ben.page.get_by_test_id("board-status")).to_contain_text("Live with Ada")
    expect(status).to_contain_text("Live with Ben")
    expect(ben_canvas.locator("[data-item-id]")).to_have_count(3)
    expect(ben_canvas.get_by_text("Written while the server was away")).to_be_visible()
    expect(ben_canvas.locator('[data-kind="sticker"]')).to_have_attribute("style", sticker_style)
    sticker.focus()
    ada.page.keyboard.press("Shift+ArrowLeft")
    expect(ben_canvas.locator('[data-kind="sticker"]')).not_to_have_attribute(
        "style", sticker_style
    )
    ben.page.locator("select[name=sticker]").select_option("hopeful")
    ben.page.get_by_role("button", name="Add sticker").click()
    expect(canvas.locator('[data-kind="sticker"]', has_text="hopeful")).to_be_visible()
    codes = ada.page.evaluate("window.boardCloseCodes")
    assert codes.count(4410) == 1, codes


def items_on_server(person: Person, board: str) -> list[dict[str, Any]]:
    data = person.api(SNAPSHOT, {"id": board})
    items: list[dict[str, Any]] = data["board"]["snapshot"]["items"]
    return items


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}")
        time.sleep(0.2)


def board_id(person: Person) -> str:
    value = person.page.evaluate("new URLSearchParams(location.search).get('board')")
    assert isinstance(value, str)
    return value
