"""Mission 621's travel legs in a real browser: add, change, delete and add the way back,
inline with JavaScript (HTMX swaps the rows), as small pages without it, and at 360 px."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, open_page, sign_in

TAB = "/missions/621/deplacement"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
OUTWARD = ("2022-12-02", "07:00", "ST LO", "2022-12-02", "18:00", "ALENCON CEDEX")


def unexpected(messages: list[str]) -> list[str]:
    """Console errors, minus Chromium's note on the 422 the test provoked on purpose."""
    return [m for m in messages if "responded with a status of 422" not in m]


def rows(page: Page) -> Locator:
    """The legs as displayed (not being edited)."""
    return page.locator("#legs-body tr.legs__row:not(.legs__row--edit)")


def edit_row(page: Page) -> Locator:
    return page.locator("tr.legs__row--edit, .legs--single tr")


def fill_leg(scope: Locator, dep_day, dep_time, dep_city, arr_day, arr_time, arr_city) -> None:
    scope.get_by_label("Date de départ").fill(dep_day)
    scope.get_by_label("Heure de départ").fill(dep_time)
    scope.get_by_label("Ville de départ").fill(dep_city)
    scope.get_by_label("Date d'arrivée").fill(arr_day)
    scope.get_by_label("Heure d'arrivée").fill(arr_time)
    scope.get_by_label("Ville d'arrivée").fill(arr_city)


def expect_row(row: Locator, *cells: str) -> None:
    for cell in cells:
        expect(row).to_contain_text(cell)


def mark_document(page: Page) -> None:
    """Tag the window: a full navigation loses the tag, an HTMX swap keeps it."""
    page.evaluate("window.__sameDocument = true")


def add_outward_leg(page: Page) -> None:
    page.get_by_role("link", name="Ajouter un trajet").click()
    row = edit_row(page)
    expect(row).to_have_count(1)
    fill_leg(row, *OUTWARD)
    row.get_by_label("Mode de transport").select_option(label="Voiture personnelle")
    expect(row.get_by_label("Prix payé (€)")).to_be_hidden()  # a car is paid by the km
    row.get_by_label("Kilomètres parcourus").fill("150")
    row.get_by_role("button", name="Enregistrer").click()
    expect(rows(page)).to_have_count(1)
    # The expenses section reloads itself with the lunch the leg gives a right to.
    expect(page.locator("#frais")).to_contain_text("Déjeuner du 02/12/2022")


def test_legs_inline_with_javascript(new_context, fresh_621):
    page, errors = open_page(new_context)
    sign_in(page)
    page.goto("/missions/621/suivi")
    mark_document(page)
    # Reached through HTMX, the tab loads its expenses and amounts sections by itself.
    page.get_by_role("tab", name="Frais déplacement", exact=True).click()
    expect(page).to_have_url(re.compile(TAB + "$"))
    expect(page.get_by_text("Aucun trajet saisi.")).to_be_visible()
    expect(page.locator("#frais")).to_contain_text("Aucun repas")
    expect(page.locator("#montants")).to_contain_text("Total des frais de déplacement : 0,00 €")

    # Add: an editable row appended in place; a mistake is explained in the row.
    page.get_by_role("link", name="Ajouter un trajet").click()
    row = edit_row(page)
    fill_leg(row, *OUTWARD[:4], "06:00", OUTWARD[5])
    row.get_by_label("Mode de transport").select_option("voiture")
    row.get_by_label("Kilomètres parcourus").fill("150")
    row.get_by_role("button", name="Enregistrer").click()
    expect(row.get_by_text("L'arrivée doit être après le départ.")).to_be_visible()
    expect(row.get_by_label("Heure d'arrivée")).to_have_attribute("aria-invalid", "true")
    expect(row.get_by_label("Ville de départ")).to_have_value("ST LO")
    row.get_by_label("Heure d'arrivée").fill("18:00")
    row.get_by_role("button", name="Enregistrer").click()
    expect(rows(page)).to_have_count(1)
    expect_row(rows(page).first, "02/12/2022", "07:00", "ST LO", "18:00", "ALENCON CEDEX", "150 km")
    expect(page.get_by_text("Aucun trajet saisi.")).to_be_hidden()
    # The allowances reload themselves when the server announces the change.
    amounts = page.locator("#montants")
    expect(amounts).to_contain_text("150 km × 0,32 € = 48,00 € (5 CV)")
    expect(page.locator("#frais")).to_contain_text("Déjeuner du 02/12/2022")

    # Add the return: pre-filled with the cities swapped and the same car and km.
    page.get_by_role("link", name=re.compile("^Ajouter le retour")).click()
    row = edit_row(page)
    expect(row.get_by_label("Ville de départ")).to_have_value("ALENCON CEDEX")
    expect(row.get_by_label("Ville d'arrivée")).to_have_value("ST LO")
    expect(row.get_by_label("Kilomètres parcourus")).to_have_value("150")
    row.get_by_label("Heure de départ").fill("19:00")
    row.get_by_label("Heure d'arrivée").fill("20:30")
    row.get_by_role("button", name="Enregistrer").click()
    expect(rows(page)).to_have_count(2)
    expect_row(rows(page).nth(1), "19:00", "ALENCON CEDEX", "20:30", "ST LO")
    expect(amounts).to_contain_text("300 km × 0,32 € = 96,00 €")

    # Edit: the row turns into inputs in place; Annuler swaps it back unchanged.
    first = rows(page).first
    first.get_by_role("link", name=re.compile("^Modifier")).click()
    row = edit_row(page)
    expect(row.get_by_label("Kilomètres parcourus")).to_have_value("150")
    expect(row.get_by_label("Date de départ")).to_be_focused()
    row.get_by_role("link", name="Annuler").click()
    expect(edit_row(page)).to_have_count(0)
    expect(rows(page)).to_have_count(2)
    rows(page).first.get_by_role("link", name=re.compile("^Modifier")).click()
    row = edit_row(page)
    row.get_by_label("Kilomètres parcourus").fill("160")
    row.get_by_role("button", name="Enregistrer").click()
    expect(rows(page).first).to_contain_text("160 km")
    expect(amounts).to_contain_text("310 km × 0,32 € = 99,20 €")

    # The expenses form took the new version out of band: saving it is not a conflict.
    page.wait_for_load_state("networkidle")  # the sections have reloaded after the change
    page.locator("#frais").get_by_label("Autre (plein tarif)").check()
    page.get_by_role("button", name="Enregistrer les frais").click()
    expect(page.locator("#frais").get_by_role("status")).to_contain_text("Frais enregistrés")
    expect(amounts).to_contain_text("couvrant 11:00–14:00 — 17,50 €")
    expect(amounts).to_contain_text("Total des frais de déplacement : 116,70 €")

    # Delete, after the browser's confirmation.
    page.once("dialog", lambda dialog: dialog.accept())
    rows(page).nth(1).get_by_role("link", name=re.compile("^Supprimer")).click()
    expect(rows(page)).to_have_count(1)
    expect(amounts).to_contain_text("160 km × 0,32 € = 51,20 €")

    assert page.evaluate("window.__sameDocument === true"), "a full page load happened"
    page.reload()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("160 km")
    assert unexpected(errors.messages) == []


def test_legs_without_javascript(new_context, fresh_621):
    page, _ = open_page(new_context, java_script_enabled=False)
    sign_in(page)
    page.goto(TAB)

    page.get_by_role("link", name="Ajouter un trajet").click()
    expect(page).to_have_url(re.compile(r"/deplacement/trajets/nouveau$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter un trajet")
    form = page.locator("form.leg-form")
    fill_leg(form, *OUTWARD)
    form.get_by_label("Mode de transport").select_option("voiture")
    form.get_by_label("Kilomètres parcourus").fill("150")
    form.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(re.compile(r"/missions/621/deplacement#leg-\d+$"))
    expect(page.get_by_text("Trajet enregistré.")).to_be_visible()
    expect(rows(page)).to_have_count(1)
    # Without JavaScript the amounts are computed with the page.
    expect(page.locator("#montants")).to_contain_text("150 km × 0,32 € = 48,00 €")

    page.get_by_role("link", name=re.compile("^Ajouter le retour")).click()
    expect(page).to_have_url(re.compile(r"/trajets/\d+/retour$"))
    form = page.locator("form.leg-form")
    expect(form.get_by_label("Ville de départ")).to_have_value("ALENCON CEDEX")
    form.get_by_label("Heure de départ").fill("19:00")
    form.get_by_label("Heure d'arrivée").fill("20:30")
    form.get_by_role("button", name="Enregistrer").click()
    expect(rows(page)).to_have_count(2)

    rows(page).first.get_by_role("link", name=re.compile("^Modifier")).click()
    expect(page).to_have_url(re.compile(r"/trajets/\d+/modifier$"))
    form = page.locator("form.leg-form")
    form.get_by_label("Kilomètres parcourus").fill("3000")
    form.get_by_role("button", name="Enregistrer").click()
    # Without JavaScript the page starts with the summary of the errors, linking to each field.
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(
        ["Kilomètres parcourus : Le nombre de kilomètres doit être compris entre 1 et 2 000."]
    )
    expect(page.locator("form.leg-form .field__error")).to_have_text(
        "Le nombre de kilomètres doit être compris entre 1 et 2 000."
    )
    page.locator("form.leg-form").get_by_label("Kilomètres parcourus").fill("160")
    page.locator("form.leg-form").get_by_role("button", name="Enregistrer").click()
    expect(rows(page).first).to_contain_text("160 km")

    rows(page).nth(1).get_by_role("link", name=re.compile("^Supprimer")).click()
    expect(page).to_have_url(re.compile(r"/trajets/\d+/supprimer$"))
    expect(page.get_by_text("Voulez-vous supprimer le trajet")).to_contain_text("ALENCON CEDEX")
    page.get_by_role("button", name="Supprimer le trajet").click()
    expect(page).to_have_url(re.compile(r"/missions/621/deplacement#trajets$"))
    expect(page.get_by_text("Trajet supprimé.")).to_be_visible()
    expect(rows(page)).to_have_count(1)

    page.locator("#frais").get_by_label("Restaurant administratif").check()
    page.get_by_role("button", name="Enregistrer les frais").click()
    expect(page.locator("#montants")).to_contain_text("moitié de 17,50 € : 8,75 €")


def test_legs_are_cards_on_a_phone(new_context, fresh_621):
    page, errors = open_page(new_context, viewport=PHONE)
    sign_in(page)
    page.goto(TAB)
    add_outward_leg(page)
    expect(rows(page)).to_have_count(1)
    card = rows(page).first
    # The column headers are hidden; each value carries its label.
    expect(page.locator("table.legs thead")).not_to_be_in_viewport()
    label = card.locator("td[data-label='Ville de départ']").evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    assert label == '"Ville de départ"'
    assert card.evaluate("tr => getComputedStyle(tr).display") == "block"
    card.get_by_role("link", name=re.compile("^Ajouter le retour")).click()
    row = edit_row(page)
    expect(row.get_by_label("Heure de départ")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    row.get_by_label("Heure de départ").fill("19:00")
    row.get_by_label("Heure d'arrivée").fill("20:30")
    row.get_by_role("button", name="Enregistrer").click()
    expect(rows(page)).to_have_count(2)
    rows(page).first.get_by_role("link", name=re.compile("^Modifier")).click()
    edit_row(page).get_by_label("Kilomètres parcourus").fill("140")
    edit_row(page).get_by_role("button", name="Enregistrer").click()
    expect(rows(page).first).to_contain_text("140 km")
    page.once("dialog", lambda dialog: dialog.accept())
    rows(page).nth(1).get_by_role("link", name=re.compile("^Supprimer")).click()
    expect(rows(page)).to_have_count(1)
    for link in ("Modifier", "Ajouter le retour", "Supprimer"):
        box = rows(page).first.get_by_role("link", name=re.compile(f"^{link}")).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], link
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert errors.messages == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_no_axe_violations_with_legs_errors_and_a_row_in_edit_mode(
    new_context, fresh_621, viewport
):
    page, _ = open_page(new_context, viewport=viewport)
    sign_in(page)
    page.goto(TAB)
    add_outward_leg(page)
    expect(rows(page)).to_have_count(1)
    expenses = page.locator("#frais")
    page.wait_for_load_state("networkidle")
    expenses.get_by_label("Montant (€)").fill("douze")
    page.get_by_role("button", name="Enregistrer les frais").click()
    expect(expenses.get_by_text("Saisissez un montant en euros")).to_be_visible()
    rows(page).first.get_by_role("link", name=re.compile("^Modifier")).click()
    edit_row(page).get_by_label("Ville d'arrivée").fill("")
    edit_row(page).get_by_role("button", name="Enregistrer").click()
    expect(edit_row(page).get_by_text("Saisissez la ville d'arrivée.")).to_be_visible()
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.skipif(
    os.environ.get("IMAGIN_SCREENSHOTS") != "1", reason="set IMAGIN_SCREENSHOTS=1 to take them"
)
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_screenshots_of_the_travel_tab(new_context, fresh_621, viewport):
    SCREENSHOTS.mkdir(exist_ok=True)
    page, _ = open_page(new_context, viewport=viewport)
    sign_in(page)
    page.goto(TAB)
    add_outward_leg(page)
    expect(rows(page)).to_have_count(1)
    page.get_by_role("link", name=re.compile("^Ajouter le retour")).click()
    edit_row(page).get_by_label("Heure de départ").fill("19:00")
    edit_row(page).get_by_label("Heure d'arrivée").fill("20:30")
    edit_row(page).get_by_role("button", name="Enregistrer").click()
    expect(rows(page)).to_have_count(2)
    page.wait_for_load_state("networkidle")
    page.locator("#frais").get_by_label("Autre (plein tarif)").check()
    page.get_by_role("button", name="Enregistrer les frais").click()
    expect(page.locator("#montants")).to_contain_text("17,50 €")
    rows(page).first.get_by_role("link", name=re.compile("^Modifier")).click()
    expect(edit_row(page)).to_have_count(1)
    width = viewport["width"]
    page.screenshot(
        path=SCREENSHOTS / f"7-mission-621-deplacement-trajets-{width}.png", full_page=True
    )


def test_validate_from_the_travel_tab_after_inline_changes(new_context, fresh_621):
    """The tab's Valider form carries the claim version the HTMX changes moved on."""
    page, errors = open_page(new_context)
    sign_in(page)
    page.goto("/missions/621/remuneration")
    page.get_by_label("Oui").check()
    page.get_by_label("Nombre de candidats examinés").fill("8")
    page.get_by_label("Début").fill("09:00")
    page.get_by_label("Fin").fill("12:30")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("Enregistré à")
    page.goto(TAB)
    add_outward_leg(page)
    frais = page.locator("#frais")
    frais.get_by_label("Autre (plein tarif)").check()
    frais.get_by_role("button", name="Enregistrer les frais").click()
    expect(page.locator("#frais")).to_contain_text("Frais enregistrés")
    page.get_by_label("Je certifie l'exactitude des informations saisies").check()
    page.get_by_role("button", name="Valider mes frais de déplacement").click()
    expect(page).to_have_url(re.compile(r"/missions/621/deplacement$"))
    expect(
        page.get_by_text("Vos frais de déplacement sont validés et transmis à la DEC.")
    ).to_be_visible()
    # The pay part, ready too, is validated on its own, from its tab or the Récapitulatif.
    expect(page.locator(".mission-header")).to_contain_text("Non validé")
    assert unexpected(errors.messages) == []
