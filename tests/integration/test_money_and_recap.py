"""Where is my money (issue 16, item 4) and the printable Récapitulatif (item 5)."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from imagin import clock
from imagin.models import Claim, Mission
from tests.conftest import CLAIRE, GESTIONNAIRE, PAUL, AuthActions, csrf_from, database, plain

MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"


def signed_in_as(app, email: str):
    client = app.test_client()
    AuthActions(client).login(email)
    return client


def month_after(day, months: int) -> str:
    index = day.year * 12 + day.month - 1 + months
    return f"{MONTHS.split()[index % 12]} {index // 12}"


def test_suivi_shows_the_whole_path_with_dates_and_the_expected_payslip(app):
    app.config["PAYMENT_DELAY_MONTHS"] = 2
    html = plain(signed_in_as(app, CLAIRE).get("/missions/702/suivi").get_data(as_text=True))
    path = html[html.index('id="argent"') : html.index("Jours de mission")]
    steps = [re.sub(r"\s+", " ", s).strip() for s in re.findall(r"</span>([^<]+)", path)]
    assert steps[:6] == [
        "Convoqué — le 16/05/2023",
        "Déclaré et validé par vous — le 16/06/2023",
        "Service fait certifié par le centre d'examen — le 16/06/2023",
        "Validé par la DEC — le 17/06/2023",
        "Mis en paiement (lot de paiement) — le 18/06/2023",
        "Versement attendu sur la paie d'août 2023",
    ]
    assert "Rémunération — Versement attendu sur la paie d'août 2023." in path


def test_pay_and_travel_paid_in_different_months_is_said(app):
    manager = signed_in_as(app, GESTIONNAIRE)
    with database(app) as db:
        claim_id = db.scalar(select(Claim.id).join(Mission).where(Mission.number == 1010))
    page = manager.get("/gestion/paiement").get_data(as_text=True)
    assert f'value="{claim_id}:pay"' in page
    exported = manager.post(
        "/gestion/paiement", data={"csrf_token": csrf_from(page), "selected": [f"{claim_id}:pay"]}
    )
    assert exported.status_code == 303
    html = plain(signed_in_as(app, CLAIRE).get("/missions/1010/suivi").get_data(as_text=True))
    expected = month_after(clock.today(), 1)
    of = "d'" if expected[0] in "ao" else "de "
    assert (
        "La rémunération et les frais de déplacement sont versés séparément : la rémunération "
        f"sur la paie {of}{expected}, les frais de déplacement plus tard."
    ) in html
    assert f"Mis en paiement (lot de paiement) — le {clock.today():%d/%m/%Y}" in html


def test_the_recapitulatif_prints_alone_and_downloads_as_a_pdf(app):
    claire = signed_in_as(app, CLAIRE)
    html = plain(claire.get("/missions/1010/recapitulatif").get_data(as_text=True))
    assert (
        'href="/missions/1010/recapitulatif.pdf" download>Télécharger le récapitulatif (PDF)'
        in html
    )
    assert "Informations certifiées exactes et validées par" in html
    assert "Service fait certifié par le centre d'examen le" in html
    response = claire.get("/missions/1010/recapitulatif.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert 'filename="recapitulatif-mission-1010.pdf"' in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    text = plain("\n".join(page.extract_text() for page in reader.pages))
    for expected in (
        "Récapitulatif — Mission N° 1010",
        "Frais de rémunération — Validé par gestionnaire",
        "Frais de déplacement — Validé par gestionnaire",
        "Pièces justificatives demandées",
        "Pièces justificatives envoyées",
        "Certification",
        "Informations certifiées exactes et validées par",
        "Service fait certifié le",
        "€",
    ):
        assert expected in text, expected
    assert len(response.data) < 20_000


def test_nobody_else_gets_the_pdf(app):
    assert signed_in_as(app, PAUL).get("/missions/1010/recapitulatif.pdf").status_code == 404
    assert (
        signed_in_as(app, GESTIONNAIRE).get("/missions/1010/recapitulatif.pdf").status_code == 404
    )
    response = app.test_client().get("/missions/1010/recapitulatif.pdf")
    assert response.status_code in (302, 303) and "/intervenant" in response.location
