"""The payment file pays only verified dossiers, and carries their numbers (issue 15, item 4)."""

from __future__ import annotations

import re

from sqlalchemy import select, text, update

from imagin.db import get_db
from imagin.demo import DEMO_BIC, DEMO_IBAN, DEMO_NIR
from imagin.models import Dossier
from tests.builders import certify_service_fait, claim_of
from tests.conftest import CLAIRE, GESTIONNAIRE, AuthActions, csrf_from, plain
from tests.integration.test_payment_export import enter_621, export_621, validate_621


def test_each_line_carries_the_verified_numbers_and_the_db_keeps_them_encrypted(app, client):
    AuthActions(client).login(CLAIRE)
    enter_621(app, client)
    validate_621(app, client)
    rows = export_621(app)
    assert len(rows) == 2
    for row in rows:
        assert row["Bénéficiaire"] == "Claire MARTIN"
        assert row["NIR"] == DEMO_NIR
        assert row["IBAN"] == DEMO_IBAN
        assert row["BIC"] == DEMO_BIC
        assert row["Total"]
    with app.app_context():
        stored = " ".join(get_db().scalars(text("SELECT csv FROM payment_batch")).all())
    assert DEMO_IBAN not in stored and DEMO_NIR not in stored


def test_export_refuses_parts_whose_dossier_is_not_verified_and_says_which(app, client):
    AuthActions(client).login(CLAIRE)
    enter_621(app, client)
    validate_621(app, client)
    certify_service_fait(app)  # the bureau requires it before the DEC validates
    manager = app.test_client()
    AuthActions(manager).login(GESTIONNAIRE)
    for slug in ("remuneration", "deplacement"):
        page = manager.get("/gestion/missions/621").get_data(as_text=True)
        version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
        manager.post(
            f"/gestion/missions/621/{slug}/valider",
            data={"csrf_token": csrf_from(page), "version": version},
        )
    # Claire changed her bank details since: the DEC has not checked them yet.
    with app.app_context():
        db = get_db()
        db.execute(update(Dossier).values(status="transmis", changed_since_verified=True))
        db.commit()
    page = manager.get("/gestion/paiement").get_data(as_text=True)
    assert "Dossier financier modifié, à vérifier" in page
    claim_id = claim_of(app, 621)["id"]
    refused = manager.post(
        "/gestion/paiement",
        data={"csrf_token": csrf_from(page), "selected": [f"{claim_id}:pay"]},
    )
    assert refused.status_code == 409
    message = plain(refused.get_data(as_text=True))
    assert "mission N° 621 (Claire MARTIN) : dossier financier modifié, à vérifier" in message
    assert claim_of(app, 621)["pay"] == "valide_gestionnaire"
    with app.app_context():
        assert get_db().scalar(select(Dossier.status)) == "transmis"
