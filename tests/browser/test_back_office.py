"""The DEC's round trip in real browsers: send mission 621 back with a reason, Claire
corrects and validates again, the gestionnaire validates and exports to payment, and the
CSV read back has the right amounts."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, open_page, sign_in
from tests.builders import certify_service_fait
from tests.conftest import GESTIONNAIRE


def claire_validates(page: Page, end: str, message: str) -> None:
    """Claire saves her pay part, then validates from the Récapitulatif what is ready."""
    page.goto("/missions/621/remuneration")
    page.get_by_label("Oui").check()
    page.get_by_label("Nombre de candidats examinés").fill("8")
    page.get_by_label("Début").fill("09:00")
    page.get_by_label("Fin").fill(end)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("Enregistré à")
    page.goto("/missions/621/recapitulatif")
    page.get_by_label("Je certifie l'exactitude des informations saisies").check()
    page.get_by_role("button", name="Valider mon état de frais").click()
    expect(page.get_by_text(message)).to_be_visible()


def part(page: Page, title: str):
    return page.locator("section.review-part").filter(
        has=page.get_by_role("heading", name=re.compile(title))
    )


def test_send_back_correct_validate_export(new_context, live_app):
    claire, errors = open_page(new_context)
    sign_in(claire)
    claire_validates(claire, "12:00", "Votre état de frais est validé et transmis à la DEC.")

    dec, dec_errors = open_page(new_context, viewport=PHONE, accept_downloads=True)
    dec.goto("/intervenant")
    dec.get_by_label("Adresse électronique").fill(GESTIONNAIRE)
    dec.get_by_label("Mot de passe").fill("imagin-demo")
    dec.get_by_role("button", name="Se connecter").click()
    expect(dec).to_have_url(re.compile(r"/gestion$"))
    dec.get_by_role("link", name="Mission N° 621", exact=True).click()
    pay = part(dec, "Frais de rémunération")
    expect(pay).to_contain_text("3 h × 9,60 € = 28,80 €")
    pay.get_by_role("button", name="Renvoyer pour correction").click()
    expect(dec.get_by_text("Indiquez le motif : l'intervenant le verra.")).to_be_visible()
    pay = part(dec, "Frais de rémunération")
    pay.get_by_label("Motif").fill("La feuille d'émargement indique une fin à 12:30.")
    pay.get_by_role("button", name="Renvoyer pour correction").click()
    expect(part(dec, "Frais de rémunération")).to_contain_text("À corriger")

    claire.goto("/missions")
    row = claire.locator("tr.missions__row").filter(
        has=claire.get_by_role("link", name="Mission N° 621", exact=True)
    )
    expect(row).to_contain_text("À corriger")
    claire.goto("/missions/621/suivi")
    expect(claire.get_by_role("tabpanel")).to_contain_text("fin à 12:30")
    # Sent back, the pay part alone waits for her: it goes on its own.
    claire_validates(
        claire, "12:30", "Vos frais de rémunération sont validés et transmis à la DEC."
    )

    # The centre certified the service fait, which the bureau requires before the DEC.
    certify_service_fait(live_app, 621)
    dec.reload()
    for title in ("Frais de rémunération", "Frais de déplacement"):
        section = part(dec, title)
        section.get_by_role("button", name="Valider", exact=True).click()
        expect(part(dec, title)).to_contain_text("Validé par gestionnaire")
    dec.goto("/gestion/paiement")
    dec.get_by_role("button", name="Exporter et mettre en paiement").click()
    expect(dec).to_have_url(re.compile(r"/gestion/paiement/lots$"))
    with dec.expect_download() as download:
        dec.get_by_role("link", name="Télécharger le CSV").first.click()
    with open(download.value.path(), encoding="utf-8-sig") as exported:
        content = exported.read()
    rows = list(csv.DictReader(io.StringIO(content), delimiter=";"))
    pay_row = next(r for r in rows if r["N° de mission"] == "621" and r["Partie"] == "Rémunération")
    assert pay_row["Rémunération"] == "33,60" and pay_row["Total"] == "33,60"

    claire.goto("/missions/621/suivi")
    expect(claire.locator(".mission-header")).to_contain_text("Mis en paiement")
    # The only console line allowed: Chromium noting the deliberate 422 (reason missing).
    assert errors.messages == []
    assert [m for m in dec_errors.messages if "status of 422" not in m] == []
    assert dec.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
