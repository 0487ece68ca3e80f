"""The DEC queue's closing-date column and filter in a real browser, JS on and off,
on a 360 px phone and a desktop (issue 16, item 3, DEC side)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from imagin import clock
from imagin.demo import session_closing_dates
from tests.browser.conftest import DESKTOP, PHONE, open_page, sign_in
from tests.conftest import GESTIONNAIRE

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def shot(page, name: str) -> None:
    if os.environ.get("IMAGIN_SCREENSHOTS"):
        SHOTS.mkdir(exist_ok=True)
        width = page.viewport_size["width"]
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_the_dec_filters_the_queue_on_closed_entries(new_context, viewport, javascript):
    closed_on = session_closing_dates(clock.today())["2026-03"]
    dec, errors = open_page(new_context, viewport=viewport, java_script_enabled=javascript)
    sign_in(dec, GESTIONNAIRE)
    results = dec.locator("#queue-results")
    expect(results).to_contain_text("à valider par la DEC, les plus anciens en premier")
    row_1150 = dec.locator("tr", has=dec.get_by_role("link", name="Mission N° 1150"))
    expect(row_1150.locator('td[data-label="Clôture"]')).to_have_text(
        f"{closed_on:%d/%m/%Y} (close)"
    )
    if javascript:
        shot(dec, "16-queue")
    dec.get_by_label("Clôture").select_option("close")
    if not javascript:
        dec.get_by_role("button", name="Filtrer").click()
    expect(dec).to_have_url(re.compile(r"entries=close"))
    expect(results.get_by_role("link", name="Mission N° 621")).to_have_count(0)
    expect(results.get_by_role("link", name="Mission N° 1150")).to_have_count(1)
    for cell in results.locator('td[data-label="Clôture"]').all():
        expect(cell).to_contain_text("(close)")
    if viewport is PHONE:
        assert dec.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if javascript:
        shot(dec, "16-queue-closed")
    assert not errors.messages
