"""Service fait (issue 16, item 1): the chef de centre certifies the missions of his centres,
only his; the DEC waits for it when its bureau requires it, or certifies on the centre's
behalf with a reason; every step is an audit event."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from imagin.models import AuditEvent, Bureau, Mission, User
from tests.builders import claim_of, validate
from tests.conftest import CLAIRE, GESTIONNAIRE, AuthActions, csrf_from, database, plain

CHEF = "chef.alencon@example.fr"
ALL_2022 = "start=2022-12-01&end=2022-12-31"


def service_fait_of(app, number: int) -> tuple[str, str | None]:
    with database(app) as db:
        mission = db.scalar(select(Mission).where(Mission.number == number))
        return mission.service_fait, mission.service_fait_reason


def events_of(app, number: int, prefix: str = "service_fait") -> list[AuditEvent]:
    with database(app) as db:
        return list(
            db.scalars(
                select(AuditEvent)
                .join(Mission)
                .where(Mission.number == number, AuditEvent.action.startswith(prefix))
                .order_by(AuditEvent.id)
            )
        )


def signed_in_as(app, email: str):
    client = app.test_client()
    AuthActions(client).login(email)
    return client


@pytest.fixture
def chef(app):
    return signed_in_as(app, CHEF)


@pytest.fixture
def manager(app):
    return signed_in_as(app, GESTIONNAIRE)


def claire_validates_621(app) -> None:
    assert validate(app, signed_in_as(app, CLAIRE)).status_code == 303
    assert claim_of(app, 621)["pay"] == "valide"


def review(client, number=621) -> tuple[str, str, str]:
    html = client.get(f"/gestion/missions/{number}").get_data(as_text=True)
    version = re.search(r'name="(?:\w+-)?version" type="hidden" value="(\d+)"', html)
    return plain(html), csrf_from(html), version.group(1) if version else "0"


@pytest.mark.parametrize("who", [CLAIRE, GESTIONNAIRE])
def test_an_intervenant_or_a_gestionnaire_cannot_certify_as_a_centre(app, who):
    client = signed_in_as(app, who)
    assert client.get("/centre").status_code == 404
    token = csrf_from(client.get("/missions").get_data(as_text=True))
    posted = client.post("/centre/certifier", data={"csrf_token": token, "one": "621"})
    assert posted.status_code == 404
    flagged = client.post(
        "/centre/missions/621/signaler", data={"csrf_token": token, "reason": "Je signale."}
    )
    assert flagged.status_code == 404
    assert service_fait_of(app, 621) == ("a_certifier", None)
    assert events_of(app, 621) == []


def test_the_chef_lands_on_his_centres_missions_grouped_by_exam_and_day(app):
    client = app.test_client()
    response = AuthActions(client).login(CHEF)
    assert response.location == "/centre"
    html = plain(client.get(f"/centre?{ALL_2022}").get_data(as_text=True))
    assert (
        'CERTIFICAT DE FORMATION GENERALE <span class="muted">— vendredi 02/12/2022</span>' in html
    )
    assert "Claire MARTIN" in html and "Paul DURAND" in html
    assert re.findall(r'name="selected" value="(\d+)"', html) == ["621", "640"]
    assert "Rien de déclaré pour l'instant" in html
    assert 'href="/centre"' in html and ">Service fait</a>" in html


def test_the_chef_sees_only_his_centres(app, chef):
    html = chef.get("/centre?start=2024-01-01&end=2024-12-31").get_data(as_text=True)
    assert "815" not in re.findall(r"Sélectionner la mission (\d+)", html)
    assert "LYCEE HOTELIER" not in html
    assert chef.get("/centre/missions/815/signaler").status_code == 404
    token = csrf_from(chef.get("/centre").get_data(as_text=True))
    response = chef.post(
        "/centre/certifier", data={"csrf_token": token, "selected": ["815"]}, follow_redirects=True
    )
    assert "Mission 815 : introuvable dans vos centres." in plain(response.get_data(as_text=True))
    assert service_fait_of(app, 815)[0] == "certifie"  # by the demo, untouched
    assert len(events_of(app, 815)) == 1
    refused = chef.post(
        "/centre/missions/815/signaler", data={"csrf_token": token, "reason": "Absent."}
    )
    assert refused.status_code == 404


def test_a_period_too_long_or_backwards_is_said_next_to_its_field(chef):
    response = chef.get("/centre?start=2022-01-01&end=2024-12-31")
    assert response.status_code == 422
    assert "Choisissez une période d'un an au plus." in plain(response.get_data(as_text=True))
    response = chef.get("/centre?start=2022-12-31&end=2022-12-01")
    assert "La fin de la période doit suivre son début." in plain(response.get_data(as_text=True))


def test_the_dec_is_refused_before_the_service_fait_then_validates_once_certified(
    app, chef, manager
):
    claire_validates_621(app)
    html, token, version = review(manager)
    assert "Validation impossible pour l'instant : service fait non certifié" in html
    assert 'action="/gestion/missions/621/remuneration/valider"' not in html
    refused = manager.post(
        "/gestion/missions/621/remuneration/valider",
        data={"csrf_token": token, "version": version},
    )
    assert refused.status_code == 409
    assert "Service fait non certifié par le chef de centre" in plain(
        refused.get_data(as_text=True)
    )
    bulk = manager.post(
        "/gestion/validation-groupee",
        data={"csrf_token": token, "selected": ["621"]},
        follow_redirects=True,
    )
    assert "Mission 621 : partie rémunération refusée — service fait non certifié" in plain(
        bulk.get_data(as_text=True)
    )
    assert claim_of(app, 621)["pay"] == "valide"

    page = chef.get(f"/centre?{ALL_2022}").get_data(as_text=True)
    done = chef.post(
        "/centre/certifier",
        data={"csrf_token": csrf_from(page), "selected": ["621", "640"], "start": "2022-12-01"},
    )
    assert done.status_code == 303 and done.location == "/centre?start=2022-12-01"
    assert service_fait_of(app, 621) == ("certifie", None)
    assert service_fait_of(app, 640) == ("certifie", None)
    [event] = events_of(app, 621)
    assert (event.action, event.detail) == (
        "service_fait",
        {"before": "a_certifier", "after": "certifie"},
    )

    html, token, version = review(manager)
    assert "Service fait certifié le" in html and "par Henri ROUSSEL" in html
    approved = manager.post(
        "/gestion/missions/621/remuneration/valider",
        data={"csrf_token": token, "version": version},
    )
    assert approved.status_code == 303
    assert claim_of(app, 621)["pay"] == "valide_gestionnaire"
    suivi = plain(signed_in_as(app, CLAIRE).get("/missions/621/suivi").get_data(as_text=True))
    assert "Service fait certifié par le centre d'examen" in suivi


def test_a_bureau_may_let_the_dec_validate_without_the_service_fait(app, manager):
    with database(app) as db:
        db.execute(update(Bureau).where(Bureau.code == "DEC2").values(service_fait_required=False))
        db.commit()
    claire_validates_621(app)
    _, token, version = review(manager)
    approved = manager.post(
        "/gestion/missions/621/remuneration/valider",
        data={"csrf_token": token, "version": version},
    )
    assert approved.status_code == 303
    assert service_fait_of(app, 621)[0] == "a_certifier"


def test_the_gestionnaire_certifies_on_behalf_of_the_centre_with_a_reason(app, manager):
    claire_validates_621(app)
    html, token, _ = review(manager)
    assert "Certifier le service fait pour le centre" in html
    missing = manager.post("/gestion/missions/621/service-fait", data={"csrf_token": token})
    assert missing.status_code == 422
    assert "Indiquez le motif : l'intervenant le verra." in plain(missing.get_data(as_text=True))
    assert service_fait_of(app, 621)[0] == "a_certifier"
    done = manager.post(
        "/gestion/missions/621/service-fait",
        data={"csrf_token": token, "sf-reason": "Feuille d'émargement reçue par courrier."},
    )
    assert done.status_code == 303
    assert service_fait_of(app, 621) == ("certifie", "Feuille d'émargement reçue par courrier.")
    [event] = events_of(app, 621)
    assert (event.action, event.reason) == (
        "service_fait_dec",
        "Feuille d'émargement reçue par courrier.",
    )
    html, token, _ = review(manager)
    assert "Service fait certifié par la DEC pour le centre d'examen" in html
    assert "Certifier le service fait pour le centre" not in html
    again = manager.post(
        "/gestion/missions/621/service-fait", data={"csrf_token": token, "sf-reason": "Encore."}
    )
    assert again.status_code == 409
    assert "Le service fait est déjà certifié." in plain(again.get_data(as_text=True))
    # Another bureau's mission stays out of reach.
    assert (
        manager.post(
            "/gestion/missions/1300/service-fait", data={"csrf_token": token, "sf-reason": "x"}
        ).status_code
        == 404
    )


def test_a_flag_reaches_the_dec_and_its_queue_filter(app, chef, manager):
    token = csrf_from(chef.get("/centre/missions/640/signaler").get_data(as_text=True))
    empty = chef.post("/centre/missions/640/signaler", data={"csrf_token": token})
    assert empty.status_code == 422
    assert "Indiquez le motif du signalement : la DEC le verra." in plain(
        empty.get_data(as_text=True)
    )
    flagged = chef.post(
        "/centre/missions/640/signaler",
        data={"csrf_token": token, "reason": "Absent l'après-midi."},
    )
    assert flagged.status_code == 303
    assert service_fait_of(app, 640) == ("signale", "Absent l'après-midi.")
    html, _, _ = review(manager, 640)
    assert "Motif : Absent l'après-midi." in html
    queue = plain(manager.get("/gestion?service_fait=signale").get_data(as_text=True))
    assert re.findall(r'aria-label="Mission N° (\d+)"', queue) == ["640"]
    assert "Signalé par le centre" in queue
    pending = manager.get("/gestion?service_fait=a_certifier").get_data(as_text=True)
    assert "640" not in re.findall(r'aria-label="Mission N° (\d+)"', pending)
    assert "621" in re.findall(r'aria-label="Mission N° (\d+)"', pending)


def test_the_chef_cannot_certify_before_the_end_nor_a_cancelled_mission(app, chef):
    token = csrf_from(chef.get("/centre").get_data(as_text=True))
    response = chef.post(
        "/centre/certifier",
        data={"csrf_token": token, "selected": ["1120", "1050"]},
        follow_redirects=True,
    )
    html = plain(response.get_data(as_text=True))
    assert "Mission 1050 : La mission est annulée" in html
    assert "Mission 1120 : La mission n'est pas terminée" in html
    assert service_fait_of(app, 1120)[0] == service_fait_of(app, 1050)[0] == "a_certifier"


def test_the_admin_attaches_a_chef_de_centre_and_sets_a_bureau(app):
    admin = signed_in_as(app, "admin@example.fr")
    page = admin.get("/admin/service-fait")
    assert page.status_code == 200
    html = plain(page.get_data(as_text=True))
    assert "Henri ROUSSEL" in html
    token = csrf_from(html)
    with database(app) as db:
        from imagin.models import ExamCentre

        centre_id = db.scalar(select(ExamCentre.id).where(ExamCentre.code == "0141555K"))
        bureau_id = db.scalar(select(Bureau.id).where(Bureau.code == "DEC2"))
    url = f"/admin/service-fait/centres/{centre_id}/chefs"
    bad = admin.post(url, data={"csrf_token": token, f"c{centre_id}-email": "pas-une-adresse"})
    assert bad.status_code == 422
    assert "Cette adresse e-mail n'est pas valide." in plain(bad.get_data(as_text=True))
    convoked = admin.post(url, data={"csrf_token": token, f"c{centre_id}-email": CLAIRE})
    assert convoked.status_code == 422
    assert (
        admin.post(url, data={"csrf_token": token, f"c{centre_id}-email": CHEF}).status_code == 303
    )
    chef = signed_in_as(app, CHEF)
    html = chef.get("/centre?start=2024-06-01&end=2024-06-30").get_data(as_text=True)
    assert "LYCEE HOTELIER FRANCOIS RABELAIS" in html
    off = admin.post(f"/admin/service-fait/bureaux/{bureau_id}", data={"csrf_token": token})
    assert off.status_code == 303
    with database(app) as db:
        assert db.get(Bureau, bureau_id).service_fait_required is False
    # Everyone but an admin: a 404.
    assert chef.get("/admin/service-fait").status_code == 404
    assert signed_in_as(app, GESTIONNAIRE).get("/admin/service-fait").status_code == 404


def test_the_chef_page_keeps_its_queries_with_300_missions_and_uses_its_index(app, chef):
    import datetime as dt

    from sqlalchemy import text

    from tests.conftest import add_missions, count_queries

    url = "/centre?start=2021-01-01&end=2021-12-31"
    add_missions(app, CLAIRE, 2, first_number=300_000, day=dt.date(2021, 12, 1))
    with count_queries(app) as few:
        chef.get(url)
    add_missions(app, "paul.durand@example.fr", 300, first_number=200_000, day=dt.date(2021, 1, 1))
    with count_queries(app) as many:
        response = chef.get(url)
    assert (
        len(re.findall(r'name="selected" value="[23]\d{5}"', response.get_data(as_text=True)))
        == 302
    )
    assert len(many) == len(few) <= 6
    if app.config["DATABASE_URL"].startswith("sqlite"):
        with database(app) as db:
            plan = " ".join(
                str(row)
                for row in db.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM mission "
                        "WHERE centre_id IN (1, 2) AND starts_on BETWEEN '2021-01-01' AND "
                        "'2021-12-31'"
                    )
                )
            )
            assert "ix_mission_centre_starts_on" in plan


def test_a_head_of_establishment_in_the_chief_group_is_chef_de_centre_through_the_portal(
    database_url, tmp_path
):
    from imagin import create_app
    from tests.integration.test_portal_headers import portal_config, through_portal

    app = create_app(
        portal_config(database_url, tmp_path, SSO_CHIEF_GROUPS=["IMAGIN-CHEFS-CENTRE"])
    )
    try:
        client = app.test_client()
        heads_lycee_alain = {
            "ctgrps": "PERDIR,imagin-chefs-centre",
            "FrEduRneResp": "0610001A$UAJ$PU$N$T3$LYC$340",
        }
        response = through_portal(client, "/", **heads_lycee_alain)
        assert response.status_code in (302, 303) and response.location.endswith("/centre")
        html = client.get("/centre?start=2026-12-01&end=2026-12-31").get_data(as_text=True)
        assert "LYCEE ALAIN" in html and "1120" in html
        # The prison centre is not one he heads: 404.
        assert client.get("/centre/missions/621/signaler").status_code == 404
        with database(app) as db:
            user = db.scalar(select(User).where(User.email == "jeanne.dupont@ac-orleans-tours.fr"))
            assert user.role == "chef_centre"
        # He no longer heads it: the portal takes the right away at the next sign-in.
        other = app.test_client()
        through_portal(other, "/", ctgrps="PERDIR,imagin-chefs-centre", FrEduRneResp=None)
        assert other.get("/centre").status_code == 404
        with database(app) as db:
            user = db.scalar(select(User).where(User.email == "jeanne.dupont@ac-orleans-tours.fr"))
            assert user.role == "intervenant"
    finally:
        app.extensions["imagin.engine"].dispose()
