"""Boards on a phone: two fingers pinch the canvas larger and smaller (real touch events from
Chromium's input layer, through the DevTools protocol)."""

from __future__ import annotations

import pytest
from playwright.sync_api import CDPSession, expect

from tests.browser.conftest import NewPerson
from tests.conftest import unique

pytestmark = pytest.mark.e2e


def pinch(cdp: CDPSession, x: float, y: float, start: float, end: float) -> None:
    """Two fingers `start` px apart around (x, y), moved until `end` px apart, lifted."""

    def points(gap: float) -> list[dict[str, float]]:
        return [{"x": x - gap / 2, "y": y}, {"x": x + gap / 2, "y": y}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(start)})
    for n in range(1, 11):
        gap = start + (end - start) * n / 10
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(gap)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_two_fingers_zoom_a_board_in_and_out(new_person: NewPerson) -> None:
    ada = new_person(width=375)
    ada.sign_up(unique("ada"), "Ada")
    page = ada.page
    ada.go("Boards")
    page.get_by_label("Title").fill("Pinch")
    page.get_by_role("button", name="Create board").click()
    expect(page.get_by_test_id("board-status")).to_contain_text("Live")
    canvas = page.get_by_test_id("board-canvas")
    viewport = page.get_by_test_id("board-viewport")
    viewport.scroll_into_view_if_needed()
    box = viewport.bounding_box()
    assert box is not None
    before = canvas.evaluate("c => c.getBoundingClientRect().width")

    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 2})
    middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    pinch(cdp, *middle, start=60, end=150)
    expect(page.get_by_role("button", name="Fit")).to_have_attribute("aria-pressed", "false")
    wider = canvas.evaluate("c => c.getBoundingClientRect().width")
    assert wider > before * 1.8

    pinch(cdp, *middle, start=250, end=40)
    narrower = canvas.evaluate("c => c.getBoundingClientRect().width")
    assert narrower < wider / 3
    assert viewport.evaluate("(v) => v.scrollWidth <= v.clientWidth")
