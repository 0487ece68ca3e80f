"""The rule wired: the mission pages say when the dossier is needed, and validating a part
that pays is refused while it is to provide, with a link to it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from imagin import clock
from imagin.db import get_db
from imagin.models import Dossier, PaymentBatch
from tests.builders import claim_of, token
from tests.conftest import CLAIRE, PAUL
from tests.integration.test_dossier_web import post_dossier, three_documents

NUMBER = 1300  # Paul's corrected copies, ended, not validated


def validate_1300(app, client):
    data = {"csrf_token": token(client, NUMBER, "remuneration")}
    data["version"] = str(claim_of(app, NUMBER)["version"])
    saved = client.post(
        f"/missions/{NUMBER}/remuneration", data={**data, "done": "oui", "copies": "40"}
    )
    assert saved.status_code == 303
    data["version"] = str(claim_of(app, NUMBER)["version"])
    return client.post(f"/missions/{NUMBER}/valider", data={**data, "certify": "y"})


def test_list_and_mission_page_say_the_dossier_is_to_provide(client, auth):
    auth.login(PAUL)
    listing = client.get("/missions").get_data(as_text=True)
    assert "Première intervention : fournissez votre dossier financier" in listing
    assert 'href="/profil/dossier-financier"' in listing
    page = client.get(f"/missions/{NUMBER}").get_data(as_text=True)
    assert f'href="/profil/dossier-financier?number={NUMBER}"' in page
    auth.logout()
    auth.login(CLAIRE)
    assert "dossier financier" not in client.get("/missions").get_data(as_text=True)


def test_validating_pay_without_dossier_is_refused_with_a_link(client, auth, app):
    auth.login(PAUL)
    response = validate_1300(app, client)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "fournissez votre dossier financier" in page
    assert f"/profil/dossier-financier?number={NUMBER}#contenu" in page
    assert claim_of(app, NUMBER)["pay"] == "non_valide"
    # Transmitted (not yet checked by the DEC): the intervenant may validate.
    assert post_dossier(client, files=three_documents()).status_code == 303
    assert validate_1300(app, client).status_code in (200, 303)
    assert claim_of(app, NUMBER)["pay"] == "valide"


def test_not_paid_for_13_months_the_verified_dossier_is_to_renew(client, auth, app):
    with app.app_context():
        db = get_db()
        old = clock.now() - dt.timedelta(days=400)
        dossier = db.scalar(select(Dossier).join(Dossier.user).where(Dossier.status == "verifie"))
        dossier.submitted_at = dossier.verified_at = old
        # Claire's last payment, 13 months ago.
        for batch in db.scalars(select(PaymentBatch)):
            batch.created_at = old
        db.commit()
    auth.login(CLAIRE)
    listing = client.get("/missions").get_data(as_text=True)
    assert "renouvelez votre dossier financier" in listing
