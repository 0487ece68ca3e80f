"""Claims you can trust, in a real browser with JavaScript on and off (issue 10, items 1 to 8
and the small fixes of item 10): receipts that stay linked, one file for several receipts,
the payment file, each part on its own, the DEC's view, no silent loss, every error at once,
a changed mission announced; no inline style during swaps, focus, Retirer, sign-out."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select, update

from imagin.db import get_db
from imagin.models import (
    Claim,
    Document,
    FrozenAmount,
    Mission,
    TravelLeg,
    User,
)
from tests.browser.conftest import DESKTOP, PHONE, open_page, sign_in
from tests.builders import certify_service_fait, pypdf_pdf
from tests.conftest import CLAIRE, GESTIONNAIRE

TAB = "/missions/621/deplacement"
DAY = dt.datetime(2022, 12, 2)
THERE = "Billet — Train ST LO → ALENCON CEDEX du 02/12/2022"
BACK = "Billet — Train ALENCON CEDEX → ST LO du 02/12/2022"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
# Every console line an inline style refused by the policy would give.
CSP_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__csp.push(event.violatedDirective + " " + (event.target.outerHTML || "").slice(0, 80));
});
"""


def unexpected(messages: list[str]) -> list[str]:
    """Console errors, minus Chromium's notes on the 4xx the tests provoke on purpose."""
    return [m for m in messages if not re.search(r"responded with a status of 4(09|22)", m)]


@pytest.fixture
def trains_621(live_app, fresh_621):
    """Mission 621 as new, without documents, with a train there (07:00–09:00) and back
    (18:30–21:30)."""
    with live_app.app_context():
        db = get_db()
        claim = db.scalar(select(Claim).join(Mission).where(Mission.number == 621))
        folder = Path(live_app.config["UPLOAD_DIR"])
        for document in claim.documents:
            (folder / document.stored_name).unlink(missing_ok=True)
        for rows in (Document, FrozenAmount):
            db.execute(delete(rows).where(rows.claim_id == claim.id))
        db.execute(update(User).where(User.email == CLAIRE).values(vehicle_cv=5))
        for (start, city), (end, to) in (
            ((DAY.replace(hour=7), "ST LO"), (DAY.replace(hour=9), "ALENCON CEDEX")),
            (
                (DAY.replace(hour=18, minute=30), "ALENCON CEDEX"),
                (DAY.replace(hour=21, minute=30), "ST LO"),
            ),
        ):
            db.add(
                TravelLeg(
                    claim_id=claim.id,
                    departure_at=start,
                    departure_city=city,
                    arrival_at=end,
                    arrival_city=to,
                    mode="train",
                    fare_cents=3550,
                )
            )
        db.commit()


def refs_of_621(live_app) -> dict[str, list[str]]:
    with live_app.app_context():
        found = get_db().scalars(
            select(Document).join(Claim).join(Mission).where(Mission.number == 621)
        )
        return {d.original_name: sorted(str(ref) for ref in d.refs) for d in found}


def choose(page: Page, *files: tuple[str, bytes]) -> None:
    page.locator("#pieces-files").set_input_files(
        [{"name": name, "mimeType": "application/pdf", "buffer": data} for name, data in files],
        timeout=60_000,
    )


def checklist(page: Page):
    return page.locator("#pieces .receipts-check__item")


def document_row(page: Page, name: str):
    return page.locator("#documents-list li.documents__item[id]").filter(has_text=name)


# --- 1 and 2: receipts that stay linked, one file for several ------------------------------------


def test_one_file_for_the_way_there_and_back_stays_linked_when_expenses_are_saved_again(
    new_context, live_app, trains_621
):
    page, errors = open_page(new_context)
    page.add_init_script(CSP_WATCH)
    sign_in(page)
    page.goto(TAB)
    choose(page, ("e-billet.pdf", pypdf_pdf(2)))
    row = page.locator("li.upload--pending")
    expect(row.get_by_label(THERE)).to_be_checked()
    row.get_by_label(BACK).check()
    page.get_by_role("button", name="Envoyer les documents").click()
    expect(document_row(page, "e-billet.pdf")).to_contain_text(f"Justifie : {THERE} ; {BACK}")
    expect(checklist(page)).to_have_text([re.compile("fourni"), re.compile("fourni")])
    expect(page.locator("#montants")).to_contain_text(
        "Toutes les pièces justificatives demandées sont fournies."
    )
    expect(page.locator("#montants")).not_to_contain_text("Pièces justificatives à fournir")

    # The expenses form saved again, unchanged, twice: the ticket stays linked.
    for _ in range(2):
        page.locator("#frais").get_by_role("button", name="Enregistrer les frais").click()
        expect(page.locator("#frais")).to_contain_text("Frais enregistrés")
    expect(checklist(page)).to_have_text([re.compile("fourni :"), re.compile("fourni :")])
    [justified] = refs_of_621(live_app).values()
    assert len(justified) == 2 and all(ref.startswith("leg:") for ref in justified)

    # The same file again: offered to be linked, not refused; Retirer dismisses the row.
    choose(page, ("copie.pdf", pypdf_pdf(2)))
    page.get_by_role("button", name="Envoyer les documents").click()
    failed = page.locator("li.upload--failed")
    expect(failed).to_contain_text("Ce fichier est déjà déposé pour ce dossier (« e-billet.pdf »).")
    failed.get_by_role("button", name=re.compile("^Retirer")).click()
    expect(page.locator("li.upload")).to_have_count(0)
    expect(page.locator("#pieces-files")).to_be_focused()

    # Changed later: the document's row turns into its choice; Escape gives it back.
    document_row(page, "e-billet.pdf").get_by_role(
        "link", name=re.compile("^Modifier ce qu'il justifie")
    ).click()
    editing = page.locator("li.documents__item--edit")
    expect(editing.get_by_label(BACK)).to_be_checked()
    editing.get_by_label(BACK).press("Escape")
    expect(page.locator("li.documents__item--edit")).to_have_count(0)
    expect(
        document_row(page, "e-billet.pdf").get_by_role(
            "link", name=re.compile("^Modifier ce qu'il justifie")
        )
    ).to_be_focused()
    document_row(page, "e-billet.pdf").get_by_role(
        "link", name=re.compile("^Modifier ce qu'il justifie")
    ).click()
    page.locator("li.documents__item--edit").get_by_label(BACK).uncheck()
    page.locator("li.documents__item--edit").get_by_role("button", name="Enregistrer").click()
    expect(document_row(page, "e-billet.pdf")).to_contain_text("est enregistré")
    expect(checklist(page).nth(1)).to_contain_text("à fournir")
    assert page.evaluate("window.__csp") == []
    assert unexpected(errors.messages) == []


def test_without_javascript_a_deleted_leg_leaves_its_document_to_re_assign(
    new_context, live_app, trains_621
):
    page, _ = open_page(new_context, java_script_enabled=False)
    sign_in(page)
    page.goto(TAB)
    section = page.locator("#pieces")
    section.get_by_label(BACK).check()  # the first one comes checked: one file for both
    choose(page, ("e-billet.pdf", pypdf_pdf(2)))
    section.get_by_role("button", name="Envoyer les documents").click()
    expect(page.locator("#pieces-messages")).to_be_in_viewport()
    expect(document_row(page, "e-billet.pdf")).to_contain_text(f"{THERE} ; {BACK}")

    page.locator("#legs-body tr.legs__row").nth(1).get_by_role(
        "link", name=re.compile("^Supprimer")
    ).click()
    page.get_by_role("button", name="Supprimer le trajet").click()
    row = document_row(page, "e-billet.pdf")
    expect(row).to_contain_text(f"Ne justifie plus : {BACK} (supprimé depuis)")
    expect(row).to_contain_text(f"Justifie : {THERE}")
    row.get_by_role("link", name=re.compile("^Modifier ce qu'il justifie")).click()
    expect(page).to_have_url(re.compile(r"/pieces/\d+/justifie$"))
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(re.compile(r"/deplacement#document-\d+$"))
    expect(document_row(page, "e-billet.pdf")).not_to_contain_text("Ne justifie plus")


# --- 4 and 6: each part on its own, no silent loss ----------------------------------------------


@pytest.mark.parametrize("javascript", [True, False])
def test_the_pay_part_goes_alone_and_not_done_asks_first(
    new_context, live_app, trains_621, javascript
):
    page, errors = open_page(new_context, java_script_enabled=javascript)
    sign_in(page)
    page.goto("/missions/621/remuneration")
    page.get_by_label("Non").check()
    page.get_by_role("button", name="Enregistrer").click()
    confirm = page.locator("#confirm-not-done")
    expect(confirm).to_contain_text(
        "Vous avez saisi des frais de déplacement (2 trajets) : si la mission n'a pas été "
        "effectuée, ils ne seront pas remboursés."
    )
    # Nothing lost by changing one's mind: "Oui", the pay part, and it goes on its own
    # although the travel part still waits for its tickets.
    page.get_by_label("Oui").check()
    page.get_by_label("Nombre de candidats examinés").fill("8")
    page.get_by_label("Début").fill("09:00")
    page.get_by_label("Fin").fill("12:30")
    page.get_by_label("Je certifie l'exactitude des informations saisies").check()
    page.get_by_role("button", name="Valider mes frais de rémunération").click()
    expect(
        page.get_by_text("Vos frais de rémunération sont validés et transmis à la DEC.")
    ).to_be_visible()
    header = page.locator(".mission-header")
    expect(header).to_contain_text("Validé")
    expect(header).to_contain_text("Non validé")
    page.goto("/missions/621/recapitulatif")
    expect(page.locator("section.recap-part").nth(1)).to_contain_text(
        f"Ajoutez le justificatif : {THERE}"
    )
    if javascript:
        assert unexpected(errors.messages) == []


# --- 7: every error at once -------------------------------------------------------------------


def test_with_javascript_every_error_shows_and_the_first_field_in_error_has_the_focus(
    new_context, trains_621
):
    page, errors = open_page(new_context)
    sign_in(page)
    page.goto("/missions/621/remuneration")
    page.get_by_label("Oui").check()
    page.get_by_label("Début").fill("14:00")
    page.get_by_label("Fin").fill("09:00")
    page.get_by_label("Je certifie l'exactitude des informations saisies").check()
    page.get_by_role("button", name="Valider mes frais de rémunération").click()
    expect(page.locator("#hours-0-end-error")).to_have_text(
        "L'heure de fin doit être après l'heure de début."
    )
    expect(page.get_by_label("Fin")).to_be_focused()
    assert unexpected(errors.messages) == []


# --- 5: the DEC sees the receipts -------------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False])
def test_the_dec_review_shows_each_receipt_and_the_queue_ticks_only_what_can_go(
    new_context, javascript
):
    page, errors = open_page(new_context, java_script_enabled=javascript, viewport=PHONE)
    sign_in(page, GESTIONNAIRE)
    boxes = page.locator("input[name=selected]")
    numbers = [box.get_attribute("value") for box in boxes.all()]
    assert "815" in numbers and "621" not in numbers and "1010" not in numbers
    page.goto("/gestion/missions/815")
    item = page.locator("#receipt-meal-2024-06-12-dejeuner")
    expect(item).to_contain_text("Justificatif de repas — Déjeuner du 12/06/2024 — fourni")
    expect(item.get_by_role("link", name="ticket-dejeuner-12-06-2024.pdf")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if javascript:
        assert unexpected(errors.messages) == []


# --- 3: the payment file pays what was validated ------------------------------------------------


def test_the_exported_file_has_the_amounts_by_category(new_context, live_app, trains_621):
    claire, errors = open_page(new_context)
    sign_in(claire)
    claire.goto(TAB)
    frais = claire.locator("#frais")
    frais.get_by_role("group", name="Déjeuner du 02/12/2022").get_by_label(
        "Autre (plein tarif)"
    ).check()
    frais.get_by_role("group", name="Dîner du 02/12/2022").get_by_label(
        "Restaurant administratif"
    ).check()
    frais.get_by_label("Nature").select_option(label="Péage")
    frais.get_by_label("Précision").fill("@SUM(1)")
    frais.get_by_label("Montant (€)").fill("12,40")
    frais.get_by_role("button", name="Enregistrer les frais").click()
    expect(claire.locator("#montants")).to_contain_text("Autres frais 12,40 €")
    choose(claire, ("tout.pdf", pypdf_pdf(3)))
    pending = claire.locator("li.upload--pending")
    for label in pending.locator("input[type=checkbox]").all():
        label.check()
    claire.get_by_role("button", name="Envoyer les documents").click()
    expect(claire.locator("#montants")).to_contain_text("Toutes les pièces justificatives")
    claire.get_by_label("Je certifie l'exactitude des informations saisies").check()
    claire.get_by_role("button", name="Valider mes frais de déplacement").click()
    expect(claire.get_by_text("Vos frais de déplacement sont validés")).to_be_visible()

    certify_service_fait(live_app, 621)
    dec, dec_errors = open_page(new_context, accept_downloads=True)
    sign_in(dec, GESTIONNAIRE)
    dec.goto("/gestion/missions/621")
    dec.locator("section.review-part").nth(1).get_by_role(
        "button", name="Valider", exact=True
    ).click()
    dec.goto("/gestion/paiement")
    dec.get_by_role("button", name="Exporter et mettre en paiement").click()
    with dec.expect_download() as download:
        dec.get_by_role("link", name="Télécharger le CSV").first.click()
    with open(download.value.path(), encoding="utf-8-sig") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read()), delimiter=";"))
    travel = next(r for r in rows if r["N° de mission"] == "621" and r["Partie"] == "Déplacement")
    assert (travel["Transport"], travel["Repas"], travel["Autres frais"]) == (
        "71,00",
        "26,25",
        "12,40",
    )
    assert travel["Total"] == "109,65"
    assert travel["Précisions"] == "'@SUM(1)"
    assert unexpected(errors.messages) == [] and unexpected(dec_errors.messages) == []


# --- 8: a changed mission is announced ------------------------------------------------------


def test_a_re_imported_time_is_announced_in_the_history(new_context, live_app, tmp_path):
    dec, _ = open_page(new_context)
    sign_in(dec, GESTIONNAIRE)
    dec.goto("/gestion/import")
    text = (
        "numero_mission;examen;taux_examen;session_code;session;type_mission;"
        "base_remuneration;specialite;epreuve_option;centre_code;centre_nom;centre_commune;"
        "jours;email;prenom;nom;remuneration;deplacement;bureau_code\n"
        "640;CERTIFICAT DE FORMATION GENERALE;heure 3;2022-12;Session décembre 2022;"
        "Interrogation orale;candidats+heures;CERTIFICAT DE FORMATION GENERALE;"
        "1-001, ENTretien AVEC LE JURY;06112932;"
        "PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX;ALENCON;02/12/2022 15:00;"
        "paul.durand@example.fr;Paul;Durand;oui;oui;DEC2\n"
    )
    path = tmp_path / "convocations.csv"
    path.write_text(text, encoding="utf-8")
    dec.get_by_label(re.compile("Fichier")).set_input_files(str(path))
    dec.get_by_role("button", name=re.compile("Vérifier")).click()
    dec.get_by_role("button", name=re.compile("Appliquer")).click()
    paul, _ = open_page(new_context)
    sign_in(paul, "paul.durand@example.fr")
    paul.goto("/missions/640/suivi")
    expect(paul.get_by_role("tabpanel")).to_contain_text("Mission modifiée par la DEC")
    expect(paul.get_by_role("tabpanel")).to_contain_text("→ le vendredi 02/12/2022 à 15:00")


# --- 10: small fixes ----------------------------------------------------------------------


def test_no_inline_style_during_swaps_even_when_something_styled_the_page(new_context, trains_621):
    """htmx's settle step copied an element's style attribute onto its new version: an inline
    style the policy refuses. Extensions (password managers, dark modes) put such styles."""
    page, errors = open_page(new_context)
    page.add_init_script(CSP_WATCH)
    sign_in(page)
    page.goto(TAB)
    expect(page.locator("#frais")).to_contain_text("Déjeuner du 02/12/2022")
    # As an extension would: through the CSSOM, which the policy allows.
    page.evaluate(
        "document.querySelectorAll('input').forEach(i => { i.style.caretColor = 'red'; })"
    )
    page.locator("#frais").get_by_role("button", name="Enregistrer les frais").click()
    expect(page.locator("#frais")).to_contain_text("Frais enregistrés")
    page.get_by_role("tab", name="Frais rémunération").click()
    page.evaluate(
        "document.querySelectorAll('input').forEach(i => { i.style.caretColor = 'red'; })"
    )
    page.get_by_label("Nombre de candidats examinés").fill("4")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("Enregistré à")
    assert page.evaluate("window.__csp") == []
    assert not [m for m in errors.messages if "Content Security Policy" in m]


def test_focus_after_cancelling_a_new_leg_and_escape_cancels(new_context, trains_621):
    page, errors = open_page(new_context)
    sign_in(page)
    page.goto(TAB)
    add = page.get_by_role("link", name="Ajouter un trajet")
    add.click()
    page.locator("tr.legs__row--edit").get_by_role("link", name="Annuler").click()
    expect(page.locator("tr.legs__row--edit")).to_have_count(0)
    expect(add).to_be_focused()
    add.click()
    page.locator("tr.legs__row--edit").get_by_label("Ville d'arrivée").press("Escape")
    expect(page.locator("tr.legs__row--edit")).to_have_count(0)
    expect(add).to_be_focused()
    # An existing leg: Escape gives its row back, focused on its Modifier link.
    page.locator("#legs-body tr.legs__row").first.get_by_role(
        "link", name=re.compile("^Modifier")
    ).click()
    page.locator("tr.legs__row--edit").get_by_label("Heure de départ").press("Escape")
    expect(page.locator("tr.legs__row--edit")).to_have_count(0)
    expect(
        page.locator("#legs-body tr.legs__row").first.get_by_role(
            "link", name=re.compile("^Modifier")
        )
    ).to_be_focused()
    assert unexpected(errors.messages) == []


def test_receipt_names_are_whole_on_a_phone(new_context, trains_621):
    page, _ = open_page(new_context, viewport=PHONE)
    sign_in(page)
    page.goto(TAB)
    choose(page, ("e-billet.pdf", pypdf_pdf()))
    for label in page.locator("li.upload--pending label.choice").all():
        box = label.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        # Wrapped on several lines rather than cut.
        assert label.evaluate("e => e.scrollWidth <= e.clientWidth")
    expect(page.locator("li.upload--pending")).to_contain_text(BACK)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_signing_out_says_so(new_context):
    page, _ = open_page(new_context)
    sign_in(page)
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/intervenant$"))
    expect(page.locator("#alerts")).to_contain_text("Vous êtes déconnecté(e).")


@pytest.mark.skipif(
    not __import__("os").environ.get("IMAGIN_SCREENSHOTS"),
    reason="set IMAGIN_SCREENSHOTS=1 to take them",
)
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_screenshots_of_issue_10(new_context, trains_621, viewport):
    SCREENSHOTS.mkdir(exist_ok=True)
    width = viewport["width"]
    page, _ = open_page(new_context, viewport=viewport)
    sign_in(page)
    page.goto(TAB)
    choose(page, ("e-billet.pdf", pypdf_pdf()), ("hotel.pdf", pypdf_pdf(2)))
    page.screenshot(path=SCREENSHOTS / f"10-pieces-a-envoyer-{width}.png", full_page=True)
    page.get_by_role("button", name="Envoyer les documents").click()
    expect(page.locator("#documents-list li.documents__item[id]")).to_have_count(2)
    page.goto("/missions/621/recapitulatif")
    page.screenshot(path=SCREENSHOTS / f"10-recapitulatif-{width}.png", full_page=True)
    page.goto("/missions/621/remuneration")
    page.get_by_label("Non").check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#confirm-not-done")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / f"10-non-effectuee-{width}.png", full_page=True)
    nojs, _ = open_page(new_context, viewport=viewport, java_script_enabled=False)
    sign_in(nojs)
    nojs.goto("/missions/621/deplacement/trajets/nouveau")
    nojs.get_by_label("Ville de départ").fill("")
    nojs.get_by_label("Heure de départ").fill("10:00")
    nojs.get_by_label("Heure d'arrivée").fill("09:00")
    nojs.get_by_role("button", name="Enregistrer").click()
    nojs.screenshot(path=SCREENSHOTS / f"10-erreurs-{width}.png", full_page=True)
    dec, _ = open_page(new_context, viewport=viewport)
    sign_in(dec, GESTIONNAIRE)
    dec.screenshot(path=SCREENSHOTS / f"10-gestion-file-{width}.png", full_page=True)
    dec.goto("/gestion/missions/815")
    dec.screenshot(path=SCREENSHOTS / f"10-gestion-815-{width}.png", full_page=True)
