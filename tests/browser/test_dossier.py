"""The dossier financier in a real browser, JavaScript on and off, at 360 px: Paul is told to
provide it, his errors come back beside their fields with what he typed, he sends it with
its documents, his validation goes through, and the DEC reveals and verifies it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select

from imagin.db import get_db
from imagin.models import Dossier, User
from tests.browser.conftest import DESKTOP, PHONE, open_page, sign_in
from tests.builders import jpeg, pypdf_pdf
from tests.conftest import GESTIONNAIRE, PAUL

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def no_dossier_for_paul(live_app):
    with live_app.app_context():
        db = get_db()
        paul = db.scalar(select(User.id).where(User.email == PAUL))
        db.execute(delete(Dossier).where(Dossier.user_id == paul))
        db.commit()
        return paul


def fits(page: Page) -> None:
    """Nothing wider than the screen: no horizontal scrolling at 360 px."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def fill_paul(page: Page, iban: str) -> None:
    page.get_by_label("Monsieur").check()
    page.get_by_label("Nom de naissance").fill("DURAND")
    page.get_by_label("Prénoms").fill("Paul")
    page.get_by_label("Date de naissance").fill("1978-06-20")
    page.get_by_label("Lieu de naissance").fill("Caen (14)")
    page.get_by_label("Numéro de sécurité sociale").fill("1 78 06 14 118 042 24")
    page.get_by_label("Adresse personnelle (numéro et voie)").fill("3 place de la République")
    page.get_by_label("Code postal").fill("14000")
    page.get_by_label("Commune", exact=True).fill("CAEN")
    page.get_by_label("Titulaire du compte").fill("Paul DURAND")
    page.get_by_label("IBAN").fill(iban)
    page.get_by_label("BIC").fill("COBADEFFXXX")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_whole_path_at_360(new_context, no_dossier_for_paul, tmp_path, javascript):
    page, errors = open_page(new_context, viewport=PHONE, java_script_enabled=javascript)
    sign_in(page, PAUL)
    notice = page.locator(".dossier-need")
    expect(notice).to_contain_text("Première intervention")
    notice.get_by_role("link", name="Compléter mon dossier financier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon dossier financier")
    fits(page)

    # A wrong IBAN key and a fake PDF: both refused beside their fields, nothing typed lost.
    fill_paul(page, "DE89 3704 0044 0532 0130 01")
    fake = tmp_path / "rib.pdf"
    fake.write_bytes(b"MZ not a pdf at all")
    page.get_by_label("RIB à votre adresse personnelle").set_input_files(str(fake))
    page.get_by_role("button", name="Enregistrer et transmettre").click()
    expect(page.locator("#iban-error")).to_contain_text("La clé de l'IBAN ne correspond pas")
    expect(page.locator("#rib-error")).to_be_visible()
    expect(page.get_by_label("Adresse personnelle (numéro et voie)")).to_have_value(
        "3 place de la République"
    )
    expect(page.get_by_label("IBAN")).to_have_value("DE89 3704 0044 0532 0130 01")
    fits(page)
    suffix = "js" if javascript else "nojs"
    page.screenshot(path=str(SCREENSHOTS / f"dossier-errors-360-{suffix}.png"), full_page=True)

    # Corrected, with the three documents: transmitted.
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    rib, vitale, notice_file = tmp_path / "rib.pdf", tmp_path / "vitale.jpg", tmp_path / "n.pdf"
    rib.write_bytes(pypdf_pdf())
    vitale.write_bytes(jpeg())
    notice_file.write_bytes(pypdf_pdf(2))
    page.get_by_label("RIB à votre adresse personnelle").set_input_files(str(rib))
    page.get_by_label("Carte Vitale ou attestation de droits").set_input_files(str(vitale))
    page.get_by_label("Notice individuelle signée").set_input_files(str(notice_file))
    page.get_by_role("button", name="Enregistrer et transmettre").click()
    expect(page.locator("#alerts")).to_contain_text("transmis à la DEC")
    expect(page.get_by_text("DE89 •••• •••• •••• •••• 000")).to_be_visible()
    assert "0532 0130" not in page.content() and "178061411804224" not in page.content()
    fits(page)
    page.screenshot(path=str(SCREENSHOTS / f"dossier-sent-360-{suffix}.png"), full_page=True)
    # The refused form's own 422 is the only message the console shows.
    assert not [m for m in errors.messages if "status of 422" not in m]

    # The DEC: queue, masked values beside the documents, reveal, verify.
    manager, manager_errors = open_page(new_context, viewport=PHONE, java_script_enabled=javascript)
    sign_in(manager, GESTIONNAIRE)
    manager.get_by_role("link", name="Dossiers financiers").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Dossiers financiers à vérifier")
    manager.get_by_role("link", name="Paul DURAND").click()
    expect(manager.locator("#iban")).to_have_text("DE89 •••• •••• •••• •••• 000")
    expect(manager.get_by_role("link", name="rib.pdf")).to_be_visible()
    fits(manager)
    manager.get_by_role("button", name=re.compile("Afficher les numéros complets")).click()
    expect(manager.locator("#iban")).to_have_text("DE89 3704 0044 0532 0130 00")
    expect(manager.locator("#nir")).to_have_text("1 78 06 14 118 042 24")
    manager.screenshot(path=str(SCREENSHOTS / f"dossier-review-360-{suffix}.png"), full_page=True)
    manager.get_by_role("button", name="Vérifié", exact=True).click()
    expect(manager.locator("#alerts")).to_contain_text("« Vérifié »")
    assert not manager_errors.messages

    page.goto("/missions")
    expect(page.locator(".dossier-need")).to_have_count(0)


def test_desktop_screenshots(new_context, live_app):
    page, errors = open_page(new_context, viewport=DESKTOP)
    sign_in(page)
    page.goto("/profil/dossier-financier")
    expect(page.get_by_text("FR76 •••• •••• •••• •••• •••• 189")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "dossier-1280.png"), full_page=True)
    assert not errors.messages


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_dossier_pages_have_no_axe_violations(new_context, live_app, viewport):
    from tests.browser.test_accessibility import axe_report

    page, _errors = open_page(new_context, viewport=viewport)
    sign_in(page)
    page.goto("/profil/dossier-financier")
    reports = [axe_report(page)]
    manager, _ = open_page(new_context, viewport=viewport)
    sign_in(manager, GESTIONNAIRE)
    manager.goto("/gestion/dossiers?statut=verifie")
    reports.append(axe_report(manager))
    manager.get_by_role("link", name="Claire MARTIN").click()
    reports.append(axe_report(manager))
    failures = [report for report in reports if report]
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360px", "1280px"])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_dec_queue_filter_and_search(new_context, live_app, viewport, javascript):
    """The DEC filters the queue by status and searches a name: with JavaScript the results
    change in place (and the address follows), without it the form is a plain GET."""
    manager, errors = open_page(new_context, viewport=viewport, java_script_enabled=javascript)
    sign_in(manager, GESTIONNAIRE)
    manager.goto("/gestion/dossiers")
    results = manager.locator("#dossier-results")
    expect(results).to_contain_text("« Transmis »")
    manager.get_by_label("Statut").select_option("tous")
    manager.get_by_label("Intervenant").press_sequentially("martin")
    if javascript:
        expect(manager).to_have_url(re.compile(r"nom=martin"))
    else:
        manager.get_by_role("button", name="Filtrer").click()
    expect(results.get_by_role("link", name="Claire MARTIN")).to_be_visible()
    expect(results).to_contain_text("pour « martin »")
    assert "statut=tous" in manager.url
    if viewport is PHONE:
        fits(manager)
    suffix = "js" if javascript else "nojs"
    manager.screenshot(
        path=str(SCREENSHOTS / f"dossier-queue-{viewport['width']}-{suffix}.png"), full_page=True
    )
    assert not errors.messages
