"""In real browsers (issue 16): the chef de centre certifies mission 621, then the DEC
validates it, on a phone, JavaScript on and off; the printed Récapitulatif."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from tests.browser.conftest import DESKTOP, PHONE, open_page, sign_in
from tests.conftest import CLAIRE, GESTIONNAIRE, database

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CHEF = "chef.alencon@example.fr"


def claire_validated_621(app) -> None:
    """Claire said she examined 8 candidates and validated both parts (no receipt needed)."""
    from imagin.models import Claim, Mission

    with database(app) as db:
        mission_id = db.scalar(
            Mission.__table__.select().with_only_columns(Mission.id).where(Mission.number == 621)
        )
        db.execute(
            update(Claim)
            .where(Claim.mission_id == mission_id)
            .values(pay_status="valide", travel_status="valide", done=True, candidates=8)
        )
        db.commit()


@pytest.mark.parametrize("javascript", [True, False])
def test_the_chef_certifies_621_then_the_dec_validates(
    new_context, live_app, fresh_621, javascript
):
    claire_validated_621(live_app)
    dec, dec_errors = open_page(new_context, viewport=PHONE, java_script_enabled=javascript)
    sign_in(dec, GESTIONNAIRE)
    dec.goto("/gestion/missions/621")
    expect(dec.locator("#service-fait")).to_contain_text("À certifier")
    expect(dec.get_by_text("Validation impossible pour l'instant").first).to_be_visible()
    expect(dec.get_by_role("button", name="Valider", exact=True)).to_have_count(0)

    chef, errors = open_page(new_context, viewport=PHONE, java_script_enabled=javascript)
    sign_in(chef, CHEF)
    chef.get_by_label("Du").fill("2022-12-01")
    chef.get_by_label("Au").fill("2022-12-31")
    chef.get_by_role("button", name="Afficher").click()
    row = chef.locator("#mission-621")
    expect(row).to_contain_text("Claire MARTIN")
    expect(row).to_contain_text("À certifier")
    if javascript:
        SCREENSHOTS.mkdir(exist_ok=True)
        chef.screenshot(path=SCREENSHOTS / "16-service-fait-360.png", full_page=True)
    row.get_by_role("button", name="Certifier la mission 621").click()
    expect(chef.get_by_text("Service fait certifié : mission 621.")).to_be_visible()
    expect(chef.locator("#mission-621")).to_contain_text("Service fait certifié")
    expect(chef).to_have_url(re.compile(r"/centre\?start=2022-12-01&end=2022-12-31"))

    dec.reload()
    expect(dec.locator("#service-fait")).to_contain_text("par Henri ROUSSEL")
    for title in ("Frais de rémunération", "Frais de déplacement"):
        section = dec.locator("section.review-part").filter(
            has=dec.get_by_role("heading", name=re.compile(title))
        )
        section.get_by_role("button", name="Valider", exact=True).click()
        expect(
            dec.locator("section.review-part").filter(
                has=dec.get_by_role("heading", name=re.compile(title))
            )
        ).to_contain_text("Validé par gestionnaire")
    if javascript:
        dec.set_viewport_size(DESKTOP)
        dec.screenshot(path=SCREENSHOTS / "16-dec-service-fait-1280.png", full_page=True)
        chef.set_viewport_size(DESKTOP)
        chef.screenshot(path=SCREENSHOTS / "16-service-fait-1280.png", full_page=True)
    assert errors.messages == [] and dec_errors.messages == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_the_printed_recapitulatif_and_its_pdf(new_context, viewport):
    page, errors = open_page(new_context, viewport=viewport, accept_downloads=True)
    sign_in(page, CLAIRE)
    page.goto("/missions/702/suivi")
    path = page.locator(".money-path")
    expect(path).to_contain_text("Mis en paiement (lot de paiement) — le 18/06/2023")
    expect(path).to_contain_text("Versement attendu sur la paie de juillet 2023")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"16-suivi-argent-{viewport['width']}.png", full_page=True)
    page.goto("/missions/1010/recapitulatif")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("tablist")).to_be_hidden()
    expect(page.get_by_role("link", name="Télécharger le récapitulatif (PDF)")).to_be_hidden()
    expect(page.get_by_role("heading", name="Frais de rémunération")).to_be_visible()
    expect(page.get_by_role("heading", name="Frais de déplacement")).to_be_visible()
    expect(page.get_by_role("heading", name="Pièces justificatives envoyées")).to_be_visible()
    expect(page.get_by_role("heading", name="Certification")).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(
        path=SCREENSHOTS / f"16-recapitulatif-print-{viewport['width']}.png", full_page=True
    )
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le récapitulatif (PDF)").click()
    assert download.value.suggested_filename == "recapitulatif-mission-1010.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert errors.messages == []
