"""The intervenant's walk: sign in, the list, mission 621 and its tabs, sign out.

With JavaScript (HTMX swaps fragments and pushes URLs), without it (plain
links and forms), and on a 360 px wide phone (the list becomes cards).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, TABS, open_page, sign_in


def url(path: str) -> re.Pattern[str]:
    return re.compile(re.escape(path) + r"$")


def mark_document(page: Page) -> None:
    """Tag the window: a full navigation loses the tag, an HTMX swap keeps it."""
    page.evaluate("window.__sameDocument = true")


def same_document(page: Page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def expect_selected(page: Page, name: str) -> None:
    tabs = page.get_by_role("tablist", name="Sections de la mission").get_by_role("tab")
    expect(tabs).to_have_count(4)
    for label, path in TABS:
        tab = page.get_by_role("tab", name=label, exact=True)
        expect(tab).to_have_attribute("aria-selected", "true" if label == name else "false")
        if label == name:
            expect(tab).to_have_attribute("href", url(path))
            # The panel is labelled by the selected tab.
            tab_id = tab.get_attribute("id") or ""
            expect(page.get_by_role("tabpanel")).to_have_attribute("aria-labelledby", tab_id)
            expect(page.get_by_role("tabpanel", name=label, exact=True)).to_be_visible()


def row_of(page: Page, number: int):
    link = page.get_by_role("link", name=f"Mission N° {number}", exact=True)
    return page.locator("tr.missions__row").filter(has=link)


def click_row_outside_link(page: Page, number: int) -> None:
    """Click the row's "Centre d'examen" cell, away from the number link, like a user would."""
    cell = row_of(page, number).locator('td[data-label="Centre d\'examen"]')
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def open_mission_621(page: Page) -> None:
    """From the list: by clicking the row, back, then by the number link."""
    expect(row_of(page, 621)).to_have_count(1)
    click_row_outside_link(page, 621)
    expect(page).to_have_url(url("/missions/621/suivi"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mission N° 621")
    page.go_back()
    expect(page).to_have_url(url("/missions"))
    page.get_by_role("link", name="Mission N° 621", exact=True).click()
    expect(page).to_have_url(url("/missions/621/suivi"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mission N° 621")
    expect_selected(page, "Suivi")


def walk_tabs(page: Page, *, htmx: bool) -> None:
    """Visit the tabs in turn, then go back and forward through them."""
    if htmx:
        mark_document(page)
    for label, path in [*TABS[1:], TABS[0]]:
        tab = page.get_by_role("tab", name=label, exact=True)
        if htmx:
            with page.expect_request(lambda r, path=path: r.url.endswith(path)) as request:
                tab.click()
            headers = request.value.all_headers()
            assert headers.get("hx-request") == "true"
            assert headers.get("hx-target") == "mission-tabs"
        else:
            tab.click()
        expect(page).to_have_url(url(path))
        expect_selected(page, label)
        if htmx:
            # The tab just chosen keeps the focus after HTMX replaced it.
            expect(page.get_by_role("tab", name=label, exact=True)).to_be_focused()
    assert same_document(page) is htmx

    # History: Suivi <- Récapitulatif <- Frais déplacement <- Frais rémunération <- Suivi
    for label, path in reversed(TABS[1:]):
        page.go_back()
        expect(page).to_have_url(url(path))
        expect_selected(page, label)
    page.go_back()
    expect(page).to_have_url(url("/missions/621/suivi"))
    expect_selected(page, "Suivi")
    page.go_forward()
    expect(page).to_have_url(url(TABS[1][1]))
    expect_selected(page, TABS[1][0])
    page.go_forward()
    expect(page).to_have_url(url(TABS[2][1]))
    expect_selected(page, TABS[2][0])
    assert same_document(page) is htmx


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(url("/intervenant"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.goto("/missions/621")
    expect(page).to_have_url(re.compile(r"/intervenant\?next="))


def test_walk_with_javascript(new_context):
    page, errors = open_page(new_context)
    sign_in(page)
    expect(page.locator("table.missions")).to_be_visible()
    open_mission_621(page)
    walk_tabs(page, htmx=True)
    sign_out(page)
    assert errors.messages == []


def test_walk_without_javascript(new_context):
    page, errors = open_page(new_context, java_script_enabled=False)
    sign_in(page)
    open_mission_621(page)
    walk_tabs(page, htmx=False)

    # The filter is a plain GET form.
    page.get_by_role("link", name="← Mes missions").click()
    page.get_by_label("Statut").select_option("mis_en_paiement")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"/missions\?(.*&)?status=mis_en_paiement"))
    expect(row_of(page, 702)).to_have_count(1)
    expect(row_of(page, 621)).to_have_count(0)
    sign_out(page)
    assert errors.messages == []


def assert_no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a 360px screen"


def test_walk_on_a_phone(new_context):
    page, errors = open_page(new_context, viewport=PHONE)
    page.goto("/intervenant")
    assert_no_horizontal_scroll(page)
    sign_in(page)

    # Cards, not a table: no visible header row, each mission a block.
    thead = page.locator("table.missions thead")
    box = thead.bounding_box()
    assert box is not None and box["width"] <= 1 and box["height"] <= 1
    row = row_of(page, 621)
    assert row.evaluate("tr => getComputedStyle(tr).display") == "block"
    assert row.locator("td").first.evaluate("td => getComputedStyle(td).display") != "table-cell"
    row_box = row.bounding_box()
    assert row_box is not None and row_box["x"] >= 0
    assert row_box["x"] + row_box["width"] <= PHONE["width"]
    assert_no_horizontal_scroll(page)

    open_mission_621(page)
    assert_no_horizontal_scroll(page)
    for label, path in TABS[1:]:
        page.get_by_role("tab", name=label, exact=True).click()
        expect(page).to_have_url(url(path))
        expect_selected(page, label)
        assert_no_horizontal_scroll(page)
    sign_out(page)
    assert errors.messages == []


def test_filter_swaps_only_the_results(new_context):
    page, errors = open_page(new_context)
    sign_in(page)
    mark_document(page)
    page.evaluate("document.querySelector('h1').dataset.kept = 'yes'")
    results_before = page.locator("#mission-results").element_handle()

    with page.expect_response(lambda r: "status=mis_en_paiement" in r.url) as response_info:
        page.get_by_label("Statut").select_option("mis_en_paiement")
    response = response_info.value
    headers = response.request.all_headers()
    assert headers.get("hx-request") == "true"
    assert headers.get("hx-target") == "mission-results"
    body = response.text()
    assert body.lstrip().startswith('<div id="mission-results"')
    assert "<html" not in body and "<h1" not in body

    expect(page).to_have_url(re.compile(r"/missions\?(.*&)?status=mis_en_paiement"))
    expect(row_of(page, 702)).to_have_count(1)
    expect(row_of(page, 621)).to_have_count(0)
    assert same_document(page)
    assert page.evaluate("document.querySelector('h1').dataset.kept") == "yes"
    # The results were replaced, the form around them was not.
    assert results_before is not None
    assert results_before.evaluate("el => el.isConnected") is False
    expect(page.get_by_label("Statut")).to_have_value("mis_en_paiement")

    # Back to the unfiltered list, from history.
    page.go_back()
    expect(page).to_have_url(url("/missions"))
    expect(row_of(page, 621)).to_have_count(1)
    assert errors.messages == []
