"""The DEC sees what the intervenant sees (issue 10, item 5): every required receipt with the
documents that justify it, approval refused while one is missing, checkboxes only where there
is something to validate, and demo data that never shows a validated part without its receipts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from imagin import clock
from imagin.claims.rates import load_rates
from imagin.claims.validation import check_claim
from imagin.documents.receipts import receipts_view
from imagin.domain.status import PartStatus
from imagin.missions.queries import WHOLE_CLAIM
from imagin.models import Claim, Document, Mission
from tests.builders import claim_of, documents
from tests.conftest import GESTIONNAIRE, AuthActions, csrf_from, database, plain

PASSED_BY_THE_INTERVENANT = {PartStatus.VALIDATED, PartStatus.APPROVED, PartStatus.IN_PAYMENT}


@pytest.fixture
def manager(client):
    AuthActions(client).login(GESTIONNAIRE)
    return client


def lose_the_documents_of(app, number: int) -> None:
    """A claim validated before the rule (or whose documents were lost since)."""
    with database(app) as db:
        claim_id = db.scalar(select(Claim.id).join(Mission).where(Mission.number == number))
        db.execute(delete(Document).where(Document.claim_id == claim_id))
        db.commit()


def review(client, number: int) -> tuple[str, str, str]:
    html = client.get(f"/gestion/missions/{number}").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    return plain(html), csrf_from(html), version


def test_the_review_lists_each_required_receipt_with_its_documents(app, manager):
    html, _token, _version = review(manager, 815)
    [document] = documents(app, 815)
    assert (
        '<li id="receipt-meal-2024-06-12-dejeuner" class="receipts-check__item '
        'receipts-check__item--ok">Justificatif de repas — Déjeuner du 12/06/2024 — '
        "<strong>fourni</strong> : "
        f'<a href="/gestion/missions/815/pieces/{document.id}">ticket-dejeuner-12-06-2024.pdf</a>'
    ) in html
    assert "Justifie : Justificatif de repas — Déjeuner du 12/06/2024" in html
    assert re.search(r'action="/gestion/missions/815/deplacement/valider"', html)


def test_a_part_with_a_missing_receipt_is_shown_so_and_not_approved(app, manager):
    lose_the_documents_of(app, 815)
    html, token, version = review(manager, 815)
    assert "Justificatif de repas — Déjeuner du 12/06/2024 — <strong>manquant</strong>" in html
    assert "Il manque des justificatifs : cette partie ne peut pas être validée" in html
    assert 'action="/gestion/missions/815/deplacement/valider"' not in html
    assert 'action="/gestion/missions/815/deplacement/renvoyer"' in html
    refused = manager.post(
        "/gestion/missions/815/deplacement/valider", data={"csrf_token": token, "version": version}
    )
    assert refused.status_code == 409
    assert "Justificatif manquant (Justificatif de repas — Déjeuner du 12/06/2024)" in plain(
        refused.get_data(as_text=True)
    )
    assert claim_of(app, 815)["travel"] == "valide"


def test_bulk_validation_refuses_a_part_with_a_missing_receipt_and_says_why(app, manager):
    lose_the_documents_of(app, 815)
    token = csrf_from(manager.get("/gestion").get_data(as_text=True))
    response = manager.post(
        "/gestion/validation-groupee", data={"csrf_token": token, "selected": ["815"]}
    )
    assert response.status_code == 303
    html = plain(manager.get("/gestion").get_data(as_text=True))
    assert "1 partie(s) validée(s), 1 refusée(s)." in html
    assert "Mission 815 : partie rémunération validée." in html
    assert (
        "Mission 815 : partie déplacement refusée — justificatif manquant (Justificatif de "
        "repas — Déjeuner du 12/06/2024)" in html
    )
    stored = claim_of(app, 815)
    assert (stored["pay"], stored["travel"]) == ("valide_gestionnaire", "valide")


def test_checkboxes_only_on_rows_with_a_part_to_validate(app, manager):
    html = manager.get("/gestion").get_data(as_text=True)
    boxes = set(re.findall(r'name="selected" value="(\d+)"', html))
    # 815: both parts validated by Claire; 621, 640: waiting for the intervenant;
    # 1010: already validated by the DEC; 1050: cancelled.
    assert "815" in boxes
    assert not boxes & {"621", "640", "1010", "1050"}
    with database(app) as db:
        for number in boxes:
            claim = db.scalar(select(Claim).join(Mission).where(Mission.number == int(number)))
            assert {claim.pay, claim.travel} & {PartStatus.VALIDATED, PartStatus.NOT_DONE}


def test_demo_data_has_no_part_validated_without_its_receipts(app):
    with app.app_context():
        from imagin.db import get_db

        db = get_db()
        rates = load_rates(db)
        missions = db.scalars(select(Mission).options(*WHOLE_CLAIM)).unique().all()
        checked = 0
        for mission in missions:
            if mission.claim.travel not in PASSED_BY_THE_INTERVENANT:
                continue
            check = check_claim(db, mission, rates, clock.today())
            receipts = receipts_view(check.travel, mission.claim.documents)
            assert receipts.all_provided, (mission.number, receipts.missing)
            checked += 1
        assert checked >= 3  # 815, 1004 and 1010 at least
