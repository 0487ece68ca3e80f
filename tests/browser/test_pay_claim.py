"""Mission 621's pay claim in a real browser: declare it done, enter 8 candidates and
09:00–12:30, see 33,60 €, save, reload, validate, and find everything read-only."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, open_page, sign_in


def fill_621(page: Page) -> None:
    page.goto("/missions/621/remuneration")
    page.get_by_label("Oui").check()
    page.get_by_label("Nombre de candidats examinés").fill("8")
    page.get_by_label("Début").fill("09:00")
    page.get_by_label("Fin").fill("12:30")


def estimate(page: Page):
    return page.locator("#pay-estimate")


def validate_and_check_read_only(page: Page) -> None:
    page.get_by_label("Je certifie l'exactitude des informations saisies").check()
    page.get_by_role("button", name="Valider mes frais de rémunération").click()
    expect(page).to_have_url(re.compile(r"/missions/621/remuneration$"))
    expect(
        page.get_by_text("Vos frais de rémunération sont validés et transmis à la DEC.")
    ).to_be_visible()
    header = page.locator(".mission-header")
    expect(header.get_by_text("Validé", exact=True)).to_have_count(1)
    panel = page.get_by_role("tabpanel")
    expect(panel.locator("input, select, textarea, button")).to_have_count(0)
    expect(panel).to_contain_text("ils ne peuvent plus être modifiés")
    expect(panel).to_contain_text("3 h 30 × 9,60")
    # The travel part goes on its own: the Récapitulatif offers it alone.
    page.goto("/missions/621/recapitulatif")
    expect(page.get_by_text("Seront validés : les frais de déplacement.")).to_be_visible()
    page.goto("/missions")
    row = page.locator("tr.missions__row").filter(
        has=page.get_by_role("link", name="Mission N° 621", exact=True)
    )
    expect(row.get_by_text("Validé", exact=True)).to_have_count(1)


def test_pay_claim_with_javascript(new_context, fresh_621):
    page, errors = open_page(new_context)
    sign_in(page)
    fill_621(page)
    # The estimate follows the typing (HTMX, debounced), before any save.
    expect(estimate(page)).to_contain_text("3 h 30 × 9,60 € = 33,60 €")
    expect(estimate(page)).to_contain_text("Total des horaires : 3 h 30")
    with page.expect_response(lambda r: r.url.endswith("/missions/621/remuneration")) as saved:
        page.get_by_role("button", name="Enregistrer").click()
    assert saved.value.status == 200
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Enregistré à \d\d:\d\d"))
    page.reload()
    expect(page.get_by_label("Nombre de candidats examinés")).to_have_value("8")
    expect(page.get_by_label("Fin")).to_have_value("12:30")
    expect(estimate(page)).to_contain_text("33,60 €")
    validate_and_check_read_only(page)
    assert errors.messages == []


def test_pay_claim_without_javascript(new_context, fresh_621):
    page, _ = open_page(new_context, java_script_enabled=False)
    sign_in(page)
    fill_621(page)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(re.compile(r"/missions/621/remuneration$"))
    expect(page.get_by_text(re.compile(r"Enregistré à \d\d:\d\d"))).to_be_visible()
    # Without JS the estimate is computed on save.
    expect(estimate(page)).to_contain_text("3 h 30 × 9,60 € = 33,60 €")
    page.reload()
    expect(page.get_by_label("Nombre de candidats examinés")).to_have_value("8")
    validate_and_check_read_only(page)


def test_no_hides_the_details_without_javascript(new_context, fresh_621):
    page, _ = open_page(new_context, java_script_enabled=False, viewport=PHONE)
    sign_in(page)
    page.goto("/missions/621/remuneration")
    expect(page.get_by_label("Nombre de candidats examinés")).to_be_visible()
    page.get_by_label("Non").check()
    expect(page.get_by_label("Nombre de candidats examinés")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_bad_input_shows_the_error_next_to_the_field(new_context, fresh_621):
    page, _ = open_page(new_context)
    sign_in(page)
    fill_621(page)
    page.get_by_label("Fin").fill("08:00")
    page.get_by_role("button", name="Enregistrer").click()
    error = page.locator("#hours-0-end-error")
    expect(error).to_have_text("L'heure de fin doit être après l'heure de début.")
    expect(page.get_by_label("Fin")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Nombre de candidats examinés")).to_have_value("8")
