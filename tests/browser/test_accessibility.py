"""axe-core finds nothing on the sign-in page, the list and every tab of a
mission, on a desktop and on a phone; the keyboard reaches everything and
shows where it is."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, TABS, open_page, sign_in

axe = Axe()


def axe_report(page: Page) -> str | None:
    """None when axe-core finds no violation, else its report for this page."""
    results = axe.run(page)
    if results.violations_count == 0:
        return None
    return f"{page.url} ({page.viewport_size}):\n{results.generate_report()}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_no_axe_violations(new_context, viewport):
    page, errors = open_page(new_context, viewport=viewport)
    reports = []
    for path in ("/intervenant", "/intervenant/mot-de-passe", "/intervenant/mot-de-passe/x"):
        page.goto(path)
        reports.append(axe_report(page))
    sign_in(page)
    reports.append(axe_report(page))
    for _label, path in TABS:
        page.goto(path)
        reports.append(axe_report(page))
    # A tab reached through HTMX is as accessible as one loaded whole.
    page.get_by_role("tab", name=TABS[0][0], exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(TABS[0][1]) + "$"))
    reports.append(axe_report(page))
    failures = [report for report in reports if report]
    if failures:
        print("\n\n".join(failures))
    assert not failures, "\n\n".join(failures)
    # The only console line allowed: Chromium noting the 400 of the spent link page.
    assert [m for m in errors.messages if "status of 400" not in m] == []


def focus_ring(page: Page) -> dict:
    return page.evaluate(
        """() => {
            const el = document.activeElement, style = getComputedStyle(el);
            const box = el.getBoundingClientRect();
            return {
                outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
                visible: el.matches(':focus-visible'),
                inView: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
                    && box.right <= innerWidth && box.bottom <= innerHeight,
            };
        }"""
    )


def assert_focus_visible(page: Page) -> None:
    ring = focus_ring(page)
    assert ring["visible"] and ring["inView"], ring
    assert ring["outline"] != "none" and ring["width"] >= 2, ring


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_skip_link_is_the_first_tab_stop(new_context, viewport):
    page, _errors = open_page(new_context, viewport=viewport)
    page.goto("/intervenant")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).not_to_be_in_viewport()
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Adresse électronique")).to_be_focused()
    assert_focus_visible(page)


def test_keyboard_moves_between_tabs(new_context):
    page, errors = open_page(new_context)
    sign_in(page)
    page.goto(TABS[0][1])
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('role')") == "tab":
            break
    suivi = page.get_by_role("tab", name="Suivi", exact=True)
    expect(suivi).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.press("ArrowRight")
    remuneration = page.get_by_role("tab", name="Frais rémunération", exact=True)
    expect(remuneration).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="Récapitulatif", exact=True)).to_be_focused()
    page.keyboard.press("Home")
    expect(suivi).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="Récapitulatif", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(TABS[3][1]) + "$"))
    selected = page.get_by_role("tab", name="Récapitulatif", exact=True)
    expect(selected).to_have_attribute("aria-selected", "true")
    expect(selected).to_be_focused()
    assert_focus_visible(page)
    assert errors.messages == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_back_office_has_no_axe_violations(new_context, viewport):
    page, _ = open_page(new_context, viewport=viewport)
    sign_in(page, "dec.orleans@example.fr")
    reports = []
    for path in (
        "/gestion",
        "/gestion/missions/621",
        "/gestion/paiement",
        "/gestion/paiement/lots",
        "/gestion/import",
    ):
        page.goto(path)
        reports.append(axe_report(page))
    failures = [report for report in reports if report]
    assert not failures, "\n\n".join(failures)
