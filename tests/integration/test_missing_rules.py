"""Issue 16, item 6 through the pages: the import's exam attribute (optional test, 75 %) and
closing date, the profile's reduced mobility seen by the DEC, and no travel part at all for a
centre in the commune of administrative residence."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from imagin import create_app, mail
from imagin.models import Exam, ExamSession, Mission, User
from tests.conftest import (
    CLAIRE,
    GESTIONNAIRE,
    AuthActions,
    base_config,
    csrf_from,
    database,
    plain,
)
from tests.integration.test_import import HEADER, import_file

EXTRA = ";epreuve_facultative;cloture_saisie"


def row(number: int, *, optional: str = "", closes: str = "", session="2026-06") -> str:
    label = {"2026-06": "Session juin 2026", "2026-06B": "Session juin 2026 (bis)"}[session]
    return (
        f"{number};LV2 FACULTATIVE ORAL;heure 3;{session};{label};Épreuve pratique;heures;"
        f"LANGUES;EF1;0140061H;LYCEE MALHERBE;CAEN;22/06/2026 08:00;{CLAIRE};Claire;Martin;"
        f"oui;oui;DEC2;{optional};{closes}"
    )


@pytest.fixture
def app(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config |= {"OUTBOX_DIR": str(tmp_path / "outbox"), "IMPORT_DIR": str(tmp_path / "imports")}
    app = create_app(config)
    mail.init_app(app)
    yield app
    app.extensions["imagin.engine"].dispose()


@pytest.fixture
def manager(client):
    assert AuthActions(client).login(GESTIONNAIRE).status_code == 303
    return client


def test_the_import_reads_the_optional_test_and_the_closing_date(app, manager):
    text = "\n".join([HEADER + EXTRA, row(7001, optional="oui", closes="15/09/2026")]) + "\n"
    assert import_file(manager, text).status_code == 303
    with database(app) as db:
        exam = db.scalar(select(Exam).where(Exam.name == "LV2 FACULTATIVE ORAL"))
        session = db.scalar(select(ExamSession).where(ExamSession.code == "2026-06"))
        assert exam.optional_test is True
        assert session.entries_close_on == dt.date(2026, 9, 15)


def test_without_a_closing_date_a_new_session_closes_on_31_august(app, manager):
    text = "\n".join([HEADER, row(7002, session="2026-06B").rsplit(";", 2)[0]]) + "\n"
    assert import_file(manager, text).status_code == 303
    with database(app) as db:
        session = db.scalar(select(ExamSession).where(ExamSession.code == "2026-06B"))
        exam = db.scalar(select(Exam).where(Exam.name == "LV2 FACULTATIVE ORAL"))
        assert session.entries_close_on == dt.date(2026, 8, 31)
        assert exam.optional_test is False


def test_a_wrong_closing_date_or_yes_no_is_refused_in_french(app, manager):
    from tests.integration.test_import import upload

    text = "\n".join([HEADER + EXTRA, row(7003, optional="peut-être", closes="31/02/2026")])
    response = upload(manager, text + "\n")
    html = plain(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "colonne « epreuve_facultative » : oui ou non est attendu, pas « peut-être »." in html
    assert "date de clôture invalide « 31/02/2026 »" in html
    with database(app) as db:
        assert db.scalar(select(Mission).where(Mission.number == 7003)) is None


def test_an_optional_test_is_estimated_at_75_percent_on_the_pay_tab(app, client):
    AuthActions(client).login(GESTIONNAIRE)
    text = "\n".join([HEADER + EXTRA, row(7004, optional="oui")]) + "\n"
    assert import_file(client, text).status_code == 303
    claire = app.test_client()
    AuthActions(claire).login(CLAIRE)
    html = claire.get("/missions/7004/remuneration").get_data(as_text=True)
    response = claire.post(
        "/missions/7004/remuneration",
        data={
            "csrf_token": csrf_from(html),
            "version": "1",
            "done": "oui",
            "hours-0-day": "2026-06-22",
            "hours-0-start": "08:00",
            "hours-0-end": "11:30",
        },
    )
    assert response.status_code == 303
    page = plain(claire.get("/missions/7004/remuneration").get_data(as_text=True))
    assert "3 h 30 × 9,60 € × 75 % = 25,20 €" in page
    assert "épreuve facultative ou ponctuelle : 75 % du taux horaire" in page


def test_reduced_mobility_is_declared_in_the_profile_and_seen_by_the_dec(app, client):
    AuthActions(client).login(CLAIRE)
    html = client.get("/profil").get_data(as_text=True)
    assert "travailleur handicapé et en situation de mobilité réduite" in plain(html)
    saved = client.post(
        "/profil",
        data={
            "csrf_token": csrf_from(html),
            "family_commune": "SAINT-LO",
            "admin_commune": "SAINT-LO",
            "vehicle_cv": "5",
            "reduced_mobility": "y",
        },
    )
    assert saved.status_code == 303
    with database(app) as db:
        assert db.scalar(select(User.reduced_mobility).where(User.email == CLAIRE)) is True
    manager = app.test_client()
    AuthActions(manager).login(GESTIONNAIRE)
    review = plain(manager.get("/gestion/missions/621").get_data(as_text=True))
    assert "Déclaré travailleur handicapé à mobilité réduite" in review


def test_no_travel_part_when_the_centre_is_in_the_administrative_residence(app, client):
    AuthActions(client).login(CLAIRE)
    html = client.get("/profil").get_data(as_text=True)
    client.post(
        "/profil",
        data={"csrf_token": csrf_from(html), "family_commune": "Caen", "admin_commune": "Alençon"},
    )
    page = plain(client.get("/missions/621/deplacement").get_data(as_text=True))
    assert "Pas de frais : le centre d'examen est à ALENCON, votre commune de résidence." in page
    assert "Ajouter un trajet" not in page
