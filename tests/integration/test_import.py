"""Importing convocations at /gestion/import: dry run, apply, re-import, access, query count."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from imagin import create_app, mail
from imagin.models import (
    AuditEvent,
    Claim,
    Exam,
    ExamCentre,
    ExamSession,
    Mission,
    MissionDay,
    MissionType,
    OutgoingMail,
    User,
)
from tests.conftest import (
    CLAIRE,
    GESTIONNAIRE,
    base_config,
    count_queries,
    csrf_from,
    database,
    send_outbox,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "import-example.csv"
HEADER = (
    "numero_mission;examen;taux_examen;session_code;session;type_mission;base_remuneration;"
    "specialite;epreuve_option;centre_code;centre_nom;centre_commune;jours;email;prenom;nom;"
    "remuneration;deplacement;bureau_code"
)
ROW_621 = (
    "621;CERTIFICAT DE FORMATION GENERALE;heure 3;2022-12;Session décembre 2022;"
    "Interrogation orale;candidats+heures;CERTIFICAT DE FORMATION GENERALE;"
    "1-001, ENTretien AVEC LE JURY;06112932;PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX;"
    "ALENCON;02/12/2022 09:00;claire.martin@example.fr;Claire;Martin;oui;oui;DEC2"
)


def row(
    number: int,
    *,
    email: str = "nouvelle.personne@example.fr",
    exam: str = "CAP CUISINE",
    rate: str = "heure 2",
    days: str = "15/06/2026 08:00",
    pay: str = "oui",
    travel: str = "oui",
    bureau: str = "DEC2",
    first: str = "Nouvelle",
    last: str = "Personne",
) -> str:
    return (
        f"{number};{exam};{rate};2026-06;Session juin 2026;Épreuve pratique;heures;CUISINE;"
        f"EP1;0141555K;LYCEE HOTELIER FRANCOIS RABELAIS;HEROUVILLE-SAINT-CLAIR;{days};"
        f"{email};{first};{last};{pay};{travel};{bureau}"
    )


def csv_of(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


@pytest.fixture
def app(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config |= {"OUTBOX_DIR": str(tmp_path / "outbox"), "IMPORT_DIR": str(tmp_path / "imports")}
    app = create_app(config)
    mail.init_app(app)  # idempotent: create_app may already have done it
    yield app
    app.extensions["imagin.engine"].dispose()


@pytest.fixture
def manager(client, auth):
    assert auth.login(GESTIONNAIRE).status_code == 303
    return client


def upload(client, text: str | bytes, filename: str = "convocations.csv"):
    token = csrf_from(client.get("/gestion/import").get_data(as_text=True))
    data = text.encode() if isinstance(text, str) else text
    # The body is built here: werkzeug's test client spools a big multipart body to a
    # temporary file that it never closes (a ResourceWarning, an error under pytest).
    boundary = "----imagin-test-boundary"
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'.encode(),
            token.encode(),
            f"\r\n--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'.encode(),
            b"Content-Type: text/csv\r\n\r\n",
            data,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return client.post(
        "/gestion/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def apply_preview(client, preview):
    html = preview.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html)
    assert token, "no apply form in the preview"
    return client.post(
        "/gestion/import/appliquer",
        data={"csrf_token": csrf_from(html), "token": token.group(1)},
    )


def import_file(client, text: str):
    preview = upload(client, text)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    return apply_preview(client, preview)


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def counts(app) -> dict[str, int]:
    models = (Mission, MissionDay, Claim, User, AuditEvent, OutgoingMail, Exam, ExamSession)
    with database(app) as db:
        return {
            model.__name__: db.scalar(select(func.count()).select_from(model))
            for model in (*models, ExamCentre, MissionType)
        }


def test_upload_page_has_the_form(manager):
    page = manager.get("/gestion/import")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file"' in html and 'accept=".csv,text/csv"' in html
    assert "numero_mission" in html and "bureau_code" in html


def test_clean_file_dry_run_then_apply(app, manager, tmp_path):
    text = csv_of(
        ROW_621,
        row(3001, days="15/06/2026 08:00|16/06/2026 13:30 0,5"),
        row(3002, email=CLAIRE, first="Claire", last="Martin", travel="non"),
        row(
            3003, exam="DIPLOME NATIONAL DU BREVET", rate="NR", email="NOUVELLE.personne@example.fr"
        ),
    )
    before = counts(app)

    preview = upload(manager, text)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "3 missions créées, 0 mise à jour, 1 inchangée ; 1 intervenant créé." in html
    assert "Création" in html and "Inchangée" in html and "nouveau compte" in html
    assert counts(app) == before, "the dry run wrote something"

    response = apply_preview(manager, preview)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/gestion")
    assert flashes(manager) == [
        "Import terminé : 3 missions créées, 0 mise à jour, 1 inchangée ; 1 intervenant créé."
    ]

    after = counts(app)
    assert after["Mission"] == before["Mission"] + 3
    assert after["Claim"] == before["Claim"] + 3
    assert after["User"] == before["User"] + 1
    assert after["AuditEvent"] == before["AuditEvent"] + 3
    assert after["OutgoingMail"] == before["OutgoingMail"] + 3
    send_outbox(app)  # what the background sender does
    with database(app) as db:
        newcomer = db.scalar(select(User).where(User.email == "nouvelle.personne@example.fr"))
        assert newcomer.password_hash is None and newcomer.role == "intervenant"
        assert (newcomer.first_name, newcomer.last_name) == ("Nouvelle", "Personne")
        missions = {m.number: m for m in db.scalars(select(Mission).where(Mission.number > 3000))}
        first = missions[3001]
        assert first.bureau.code == "DEC2" and first.intervenant_id == newcomer.id
        assert [(d.day.isoformat(), d.start_time.isoformat(), d.half_days) for d in first.days] == [
            ("2026-06-15", "08:00:00", 2),
            ("2026-06-16", "13:30:00", 1),
        ]
        assert (first.starts_on.isoformat(), first.ends_on.isoformat()) == (
            "2026-06-15",
            "2026-06-16",
        )
        assert (first.claim.pay_status, first.claim.travel_status) == ("non_valide", "non_valide")
        second = missions[3002]
        assert second.intervenant.email == CLAIRE
        assert (second.claim.pay_status, second.claim.travel_status) == (
            "non_valide",
            "pas_de_frais",
        )
        assert not second.travel_applies
        nr = missions[3003]
        assert nr.intervenant_id == newcomer.id
        assert not nr.pay_applies and nr.claim.pay_status == "pas_de_frais"
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.mission_id.in_([m.id for m in missions.values()]))
        ).all()
        assert {e.action for e in events} == {"convocation"}
        assert {e.actor.email for e in events} == {GESTIONNAIRE}
        mails = db.scalars(select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(3)).all()
        assert sorted(m.to for m in mails) == [
            CLAIRE,
            "nouvelle.personne@example.fr",
            "nouvelle.personne@example.fr",
        ]
        assert all(m.sent_at is not None for m in mails), "not delivered by the sender"
        assert any("mission N° 3001" in m.subject for m in mails)
    # Default mode (no SMTP): one .eml per message in the outbox folder.
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3


def test_file_with_errors_applies_nothing(app, manager):
    text = csv_of(
        row(3001),
        row(3002, days="31/02/2026 08:00", email="pas-une-adresse"),
        row(3001, rate="heure 9"),
        row(3003, pay="peut-être"),
    )
    before = counts(app)
    response = upload(manager, text)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Import impossible" in html and "Rien n'a été enregistré" in html
    expected = [
        "Ligne 3, colonne « jours » : date invalide « 31/02/2026 ».",
        "Ligne 3, colonne « email » : adresse électronique invalide « pas-une-adresse ».",
        "Ligne 4, colonne « taux_examen » : taux inconnu « heure 9 »",
        "Ligne 5, colonne « remuneration » : oui ou non est attendu, pas « peut-être ».",
    ]
    for message in expected:
        assert message.replace("'", "&#39;") in html, message
    assert 'name="token"' not in html, "a file with errors must not be appliable"
    assert counts(app) == before


def test_apply_checks_the_file_again(app, manager):
    preview = upload(manager, csv_of(row(3001)))
    assert preview.status_code == 200
    # Between the preview and the apply, the number was taken in another bureau.
    with database(app) as db:
        other = db.scalar(select(Mission).where(Mission.number == 1300))
        other.number = 3001
        db.commit()
    response = apply_preview(manager, preview)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ligne 2, colonne « numero_mission »" in html
    assert "autre bureau" in html


def test_same_file_twice_changes_nothing(app, manager):
    text = csv_of(ROW_621, row(3001), row(3002, email=CLAIRE, first="Claire", last="Martin"))
    assert import_file(manager, text).status_code == 303
    first = counts(app)

    preview = upload(manager, text)
    assert "0 mission créée, 0 mise à jour, 3 inchangées." in preview.get_data(as_text=True)
    assert apply_preview(manager, preview).status_code == 303
    assert flashes(manager) == ["Import terminé : 0 mission créée, 0 mise à jour, 3 inchangées."]
    assert counts(app) == first


def test_update_of_an_open_mission_and_a_validated_one_is_kept(app, manager):
    with database(app) as db:
        validated = db.scalar(select(Mission).where(Mission.number == 1102))
        assert validated.claim.pay_status == "valide"
        before_days = [(d.day, d.start_time) for d in validated.days]
        events_before = db.scalar(select(func.count()).select_from(AuditEvent))
    moved = ROW_621.replace("02/12/2022 09:00", "02/12/2022 10:00").replace(
        ";oui;oui;", ";oui;non;"
    )
    paul_row = (
        "1102;BTS COMPTABILITE ET GESTION;copie 4;2026-06;Session juin 2026;"
        "Correction de copies;copies;COMPTABILITE ET GESTION;E4 — Gestion des obligations;"
        "0140061H;LYCEE MALHERBE;CAEN;19/06/2026 08:00;paul.durand@example.fr;Paul;Durand;"
        "oui;non;DEC2"
    )
    preview = upload(manager, csv_of(moved, paul_row))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "1 mise à jour" in html and "1 non modifiée" in html
    assert "jours" in html and "droit au déplacement" in html
    assert "Ligne 3, colonne « numero_mission » : la mission N° 1102 n&#39;est pas modifiée" in html
    assert apply_preview(manager, preview).status_code == 303

    with database(app) as db:
        mission = db.scalar(select(Mission).where(Mission.number == 621))
        assert [d.start_time.isoformat() for d in mission.days] == ["10:00:00"]
        assert not mission.travel_applies
        assert mission.claim.travel_status == "pas_de_frais"
        assert mission.claim.pay_status == "non_valide"
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.mission_id == mission.id).order_by(AuditEvent.id)
        ).all()
        # The right withdrawn through the state machine's re-import transition.
        assert (events[-2].action, events[-2].part) == ("reimport_close", "travel")
        assert (events[-2].before, events[-2].after) == ("non_valide", "pas_de_frais")
        assert events[-3].detail["update"] == ["droit au déplacement", "jours"]
        # The new time is announced: in the history, and by e-mail.
        assert events[-1].action == "mission_changed"
        assert events[-1].detail["changes"] == [
            "Dates : le vendredi 02/12/2022 à 09:00 (1 journée) → "
            "le vendredi 02/12/2022 à 10:00 (1 journée)"
        ]
        validated = db.scalar(select(Mission).where(Mission.number == 1102))
        assert [(d.day, d.start_time) for d in validated.days] == before_days
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == events_before + 3
        # Not a new mission for the same intervenant: no convocation, the change is told.
        [mail] = db.scalars(select(OutgoingMail)).all()
        assert mail.to == "claire.martin@example.fr"
        assert mail.subject == "Mission modifiée — mission N° 621"
        assert "à 10:00" in mail.body and "http://127.0.0.1:8080/missions/621/suivi" in mail.body


def test_reassigning_a_started_claim_is_refused_an_empty_one_is_convoked(app, manager):
    with database(app) as db:
        db.scalar(select(Mission).where(Mission.number == 621)).claim.done = True
        db.commit()
    to_paul = ROW_621.replace(
        "claire.martin@example.fr;Claire;Martin", "paul.durand@example.fr;Paul;Durand"
    )
    fresh = row(1201, email="paul.durand@example.fr", first="Paul", last="Durand")
    preview = upload(manager, csv_of(to_paul, fresh))
    html = preview.get_data(as_text=True)
    assert "colonne « email » : la mission N° 621 n&#39;est pas modifiée" in html
    assert apply_preview(manager, preview).status_code == 303
    with database(app) as db:
        assert db.scalar(select(Mission).where(Mission.number == 621)).intervenant.email == CLAIRE
        assert (
            db.scalar(select(Mission).where(Mission.number == 1201)).intervenant.email
            == "paul.durand@example.fr"
        )
        mails = db.scalars(select(OutgoingMail)).all()
        assert [(m.to, "1201" in m.subject) for m in mails] == [("paul.durand@example.fr", True)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            row(3001, bureau="DEC3"),
            "colonne « bureau_code » : vous ne gérez pas le bureau « DEC3 »",
        ),
        (row(3001, bureau="DEC9"), "colonne « bureau_code » : bureau « DEC9 » inconnu."),
        (row(1300), "colonne « numero_mission » : le numéro 1300 est déjà celui d"),
        (
            row(3001, exam="CAP CUISINE", rate="heure 4"),
            "colonne « taux_examen » : l&#39;examen « CAP CUISINE » a le taux « heure 2 »",
        ),
    ],
)
def test_other_bureaus_and_conflicting_references_are_refused(app, manager, line, message):
    before = counts(app)
    response = upload(manager, csv_of(line))
    assert response.status_code == 422
    assert f"Ligne 2, {message}" in response.get_data(as_text=True)
    assert counts(app) == before


def test_intervenant_gets_404_everywhere(client, auth):
    auth.login(CLAIRE)
    assert client.get("/gestion/import").status_code == 404
    response = client.post(
        "/gestion/import",
        data={"csrf_token": auth.token, "file": (io.BytesIO(b"x"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    response = client.post(
        "/gestion/import/appliquer", data={"csrf_token": auth.token, "token": "x"}
    )
    assert response.status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/gestion/import")
    assert response.status_code == 302 and "/intervenant" in response.headers["Location"]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\xe9t\xe9;ligne", "convocations.csv", "n&#39;est pas encodé en UTF-8"),
        (b"%PDF-1.4", "convocations.pdf", "au format CSV"),
        (b"x" * (2 * 1024 * 1024 + 1), "gros.csv", "dépasse 2 Mo"),
    ],
)
def test_bad_uploads_are_explained(manager, data, filename, message):
    response = upload(manager, data, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_missing_file_is_explained(manager):
    token = csrf_from(manager.get("/gestion/import").get_data(as_text=True))
    response = manager.post("/gestion/import", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Choisissez le fichier CSV" in response.get_data(as_text=True)


def test_expired_or_forged_preview_is_refused(app, manager):
    token = csrf_from(manager.get("/gestion/import").get_data(as_text=True))
    before = counts(app)
    response = manager.post(
        "/gestion/import/appliquer", data={"csrf_token": token, "token": "forged"}
    )
    assert response.status_code == 422
    assert "Cet aperçu a expiré" in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_preview_applies_once(app, manager):
    preview = upload(manager, csv_of(row(3001)))
    assert apply_preview(manager, preview).status_code == 303
    again = apply_preview(manager, preview)
    assert again.status_code == 422
    assert "déjà été appliqué" in again.get_data(as_text=True).replace("&#39;", "'")


def test_example_file_imports_cleanly(app, manager):
    text = EXAMPLE.read_text(encoding="utf-8")
    preview = upload(manager, text)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert "4 missions créées, 1 mise à jour, 1 inchangée ; 2 intervenants créés." in html
    assert apply_preview(manager, preview).status_code == 303
    with database(app) as db:
        paul = db.scalar(select(Mission).where(Mission.number == 640))
        assert [(d.start_time.isoformat(), d.half_days) for d in paul.days] == [("14:30:00", 1)]
    # And once more: nothing changes.
    before = counts(app)
    assert import_file(manager, text).status_code == 303
    assert counts(app) == before


def _rows(first_number: int, count: int) -> str:
    return csv_of(
        *(
            row(
                first_number + i,
                email=f"personne.{first_number + i}@example.fr",
                exam=f"EXAMEN {first_number + i}",
                days=f"{1 + i % 28:02d}/06/2026 08:00|{1 + i % 28:02d}/07/2026 09:00 0,5",
            )
            for i in range(count)
        )
    )


def test_queries_do_not_grow_with_the_number_of_rows(app, manager):
    measures = {}
    for first_number, count in ((4000, 20), (5000, 200)):
        text = _rows(first_number, count)
        with count_queries(app) as dry_run:
            preview = upload(manager, text)
        assert preview.status_code == 200
        with count_queries(app) as applying:
            assert apply_preview(manager, preview).status_code == 303
        measures[count] = (len(dry_run), len(applying))
    with database(app) as db:
        assert db.scalar(select(func.count()).where(Mission.number >= 4000)) == 220
    (dry_few, apply_few), (dry_many, apply_many) = measures[20], measures[200]
    assert dry_many == dry_few, measures
    # Ten times the rows: at most a few more statements (INSERT batches), never ten times.
    assert apply_many <= apply_few + 5, measures


def test_a_preview_is_only_for_the_gestionnaire_who_made_it(app, client, auth):
    auth.login(GESTIONNAIRE)
    preview = upload(client, csv_of(row(3001)))
    html = preview.get_data(as_text=True)
    apply_token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    auth.logout()
    auth.login("admin@example.fr")
    token = csrf_from(client.get("/gestion/import").get_data(as_text=True))
    response = client.post(
        "/gestion/import/appliquer", data={"csrf_token": token, "token": apply_token}
    )
    assert response.status_code == 422
    with database(app) as db:
        assert db.scalar(select(Mission).where(Mission.number == 3001)) is None


def test_an_admin_may_import_for_any_bureau(app, client, auth):
    auth.login("admin@example.fr")
    assert import_file(client, csv_of(row(3001, bureau="DEC3"))).status_code == 303
    with database(app) as db:
        assert db.scalar(select(Mission).where(Mission.number == 3001)).bureau.code == "DEC3"


# --- A changed mission is announced --------------------------------------------------------

CANCELLABLE_HEADER = HEADER + ";annulation;motif_annulation"


def test_a_new_place_is_announced_in_the_history_and_by_e_mail(app, manager):
    # Mission 640 (Paul, not started) moves to another centre.
    moved = (
        ROW_621.replace("621;", "640;", 1)
        .replace("claire.martin@example.fr;Claire;Martin", "paul.durand@example.fr;Paul;Durand")
        .replace("02/12/2022 09:00", "02/12/2022 14:00")
    )
    moved = moved.replace(
        "06112932;PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX;ALENCON",
        "0610001A;LYCEE ALAIN;ALENCON",
    )
    assert import_file(manager, csv_of(moved)).status_code == 303
    with database(app) as db:
        mission = db.scalar(select(Mission).where(Mission.number == 640))
        event = db.scalar(
            select(AuditEvent).where(
                AuditEvent.mission_id == mission.id, AuditEvent.action == "mission_changed"
            )
        )
        assert event.detail["changes"] == [
            "Lieu : PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX (06112932), ALENCON "
            "→ LYCEE ALAIN (0610001A), ALENCON"
        ]
        [message] = db.scalars(select(OutgoingMail)).all()
    assert message.to == "paul.durand@example.fr"
    assert "La DEC a modifié votre mission N° 640 :" in message.body
    assert "→ LYCEE ALAIN (0610001A), ALENCON" in message.body
    # The links of the e-mail lead to the configured public address.
    assert "http://127.0.0.1:8080/missions/640/suivi" in message.body
    # Paul reads it in the history of his mission too.
    manager.post("/deconnexion", data={"csrf_token": csrf_from(manager.get("/gestion").text)})
    client = app.test_client()
    token = csrf_from(client.get("/intervenant").get_data(as_text=True))
    client.post(
        "/intervenant",
        data={"csrf_token": token, "email": "paul.durand@example.fr", "password": "imagin-demo"},
    )
    suivi = client.get("/missions/640/suivi").get_data(as_text=True)
    assert "Mission modifiée par la DEC" in suivi and "LYCEE ALAIN (0610001A)" in suivi


def test_a_cancelled_convocation_cancels_the_mission_and_says_so(app, manager):
    cancelled = (
        ROW_621.replace("621;", "640;", 1)
        .replace("claire.martin@example.fr;Claire;Martin", "paul.durand@example.fr;Paul;Durand")
        .replace("02/12/2022 09:00", "02/12/2022 14:00")
    )
    unknown = row(4242)
    text = "\n".join(
        [
            CANCELLABLE_HEADER,
            cancelled + ";oui;Jury complet.",
            unknown + ";oui;",
        ]
    )
    preview = upload(manager, text + "\n")
    html = preview.get_data(as_text=True)
    assert "1 mise à jour" in html and "1 ignorée" in html
    assert "la mission N° 4242 est annulée dans le fichier" in html
    assert apply_preview(manager, preview).status_code == 303
    with database(app) as db:
        mission = db.scalar(select(Mission).where(Mission.number == 640))
        assert mission.cancelled and mission.cancel_reason == "Jury complet."
        assert (mission.claim.pay_status, mission.claim.travel_status) == ("annule", "annule")
        cancels = db.scalars(
            select(AuditEvent).where(
                AuditEvent.mission_id == mission.id, AuditEvent.action == "cancel"
            )
        ).all()
        assert sorted(event.part for event in cancels) == ["pay", "travel"]
        assert db.scalar(select(Mission).where(Mission.number == 4242)) is None
        [message] = db.scalars(select(OutgoingMail)).all()
    assert message.subject == "Mission annulée — mission N° 640"
    assert "Motif :\nJury complet." in message.body


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (
            lambda: row(3002).replace(";", ';"', 1),
            "Ligne 3, colonne « fichier » : un guillemet (&#34;) est ouvert et jamais refermé",
        ),
        (
            lambda: row(3002) + ";" + "x" * 200_000,
            "Ligne 3, colonne « fichier » : cellule beaucoup trop longue",
        ),
    ],
    ids=["unclosed-quote", "200-KB-cell"],
)
def test_a_malformed_csv_is_explained_at_its_line(app, manager, bad_row, message):
    # Issue 11: both answered 500 (csv.Error) or a wrong line before.
    before = counts(app)
    response = upload(manager, csv_of(row(3001), bad_row(), row(3003)))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html.replace("&quot;", "&#34;"), html[-3000:]
    assert 'name="token"' not in html
    assert counts(app) == before
