"""What makes the app usable by everyone: a phone-sized screen, a keyboard alone, labelled
controls and readable contrast on every screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewPerson
from tests.conftest import unique

pytestmark = pytest.mark.e2e

_NOW = datetime.now(UTC)
RECENT = {"f": (_NOW - timedelta(days=1)).isoformat(), "t": (_NOW + timedelta(days=1)).isoformat()}
SCREENS = ("Check in", "History", "Friends", "Hugs", "Boards", "Settings")

# Every form control with no accessible name, and every button with no words.
UNLABELLED_JS = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => {
    if (el.closest('[hidden]')) return false;
    if (el.tagName === 'BUTTON') return !(el.textContent.trim() || el.getAttribute('aria-label'));
    return !(el.labels && el.labels.length) && !el.getAttribute('aria-label');
  })
  .map((el) => el.outerHTML.slice(0, 120))"""

# Text whose contrast with what is behind it is below WCAG AA (4.5:1, or 3:1 for large text).
LOW_CONTRAST_JS = """() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const [r, g, b, a = 1] = parse(getComputedStyle(node).backgroundColor);
      if (a > 0) layers.push([r, g, b, a]);
      if (a >= 1) break;
    }
    let colour = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) {
      colour = [r * a + colour[0] * (1 - a), g * a + colour[1] * (1 - a), b * a + colour[2] * (1 - a)];
    }
    return colour;
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
    if (!text || el.closest('.chart') || el.closest('[aria-hidden="true"]')) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || box.width === 0 || box.height === 0) continue;
    if (el.closest('button:disabled')) continue;
    const [l1, l2] = [lum(parse(style.color)), lum(background(el))].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) bad.push(`${text.slice(0, 40)}: ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


def check_screen(page: Page, name: str) -> None:
    width: Any = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: the page scrolls sideways at {width[1]} px ({width[0]})"
    assert page.evaluate(UNLABELLED_JS) == [], f"{name}: controls without a label"
    assert page.evaluate(LOW_CONTRAST_JS) == [], f"{name}: text below AA contrast"


def test_every_screen_fits_375_px_with_labelled_controls_and_readable_contrast(
    new_person: NewPerson,
) -> None:
    ada = new_person(width=375, height=740)
    ada.open()
    check_screen(ada.page, "log in")
    ada.sign_up(unique("ada"), "Ada")
    ada.check_in("content", note="first one")
    expect(ada.page.get_by_role("status").filter(has_text="Checked in")).to_be_visible()
    for screen in SCREENS:
        ada.go(screen)
        expect(ada.page.get_by_text("Loading…")).to_have_count(0)
        check_screen(ada.page, screen)
        # Every screen has something kind to say when it is empty, never a blank area.
        if screen in ("Friends", "Hugs", "Boards"):
            expect(ada.page.locator(".empty").first).to_be_visible()
        ada.screenshot(f"375-{screen.lower().replace(' ', '-')}")


def test_a_check_in_can_be_made_with_the_keyboard_alone(new_person: NewPerson) -> None:
    ada = new_person()
    ada.sign_up(unique("ada"), "Ada")
    page = ada.page

    def tab_to(selector: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    tab_to("input[name=mood]")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    chosen = page.locator("input[name=mood]:checked")
    expect(chosen).to_have_count(1)
    mood = chosen.get_attribute("value")
    tab_to("input[name=intensity]")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.locator(".intensity output")).to_have_text("65%")
    tab_to("textarea[name=note]")
    page.keyboard.type("typed, not clicked")
    tab_to("button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text=f"Checked in: {mood}")).to_be_visible()
    feed = ada.api(
        "query($f: DateTime!, $t: DateTime!) { moodHistory(from: $f, to: $t) "
        "{ entries { moodType intensity note } } }",
        RECENT,
    )
    assert feed["moodHistory"]["entries"] == [
        {"moodType": mood, "intensity": 0.65, "note": "typed, not clicked"}
    ]
