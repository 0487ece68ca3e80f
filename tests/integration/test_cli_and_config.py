"""The imagin command, the configuration layers and serving under a URL prefix."""

import re

from sqlalchemy import func, select

from imagin import create_app
from imagin.domain.rates import OFFICIAL_RATES
from imagin.models import Mission, RateRow, User
from tests.conftest import CLAIRE, base_config, csrf_from, database


def test_demo_twice_changes_nothing(app, runner):
    with database(app) as db:
        before = db.scalar(select(func.count()).select_from(Mission))
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0
    assert "rien n'a changé" in result.output
    assert "claire.martin@example.fr" in result.output and "imagin-demo" in result.output
    with database(app) as db:
        assert db.scalar(select(func.count()).select_from(Mission)) == before


def test_demo_mission_621_is_the_one_of_the_brief(app):
    with database(app) as db:
        mission = db.scalar(select(Mission).where(Mission.number == 621))
        assert mission.intervenant.email == CLAIRE
        assert mission.exam.name == "CERTIFICAT DE FORMATION GENERALE"
        assert mission.exam.rate_class == "hour:3"
        assert mission.session.label == "Session décembre 2022"
        assert mission.mission_type.label == "Interrogation orale"
        assert mission.centre.code == "06112932"
        assert mission.epreuve_option == "1-001, ENTretien AVEC LE JURY"
        assert [(d.day.isoformat(), d.start_time.isoformat()) for d in mission.days] == [
            ("2022-12-02", "09:00:00")
        ]
        assert mission.travel_applies and mission.pay_applies
        assert (mission.claim.pay_status, mission.claim.travel_status) == (
            "non_valide",
            "non_valide",
        )
        assert mission.claim.legs == []


def test_migration_loads_the_official_rates(app):
    with database(app) as db:
        rows = db.scalars(select(RateRow)).all()
    stored = {(r.kind, r.code, r.amount_cents, r.valid_from, r.valid_to) for r in rows}
    official = {
        (r.kind, r.code, int(r.amount * 100), r.valid_from, r.valid_to) for r in OFFICIAL_RATES
    }
    assert stored == official


def test_create_user_asks_for_the_password(app, runner):
    result = runner.invoke(
        args=["create-user", "new.person@example.fr", "--role", "gestionnaire"],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long enough password" not in result.output
    with database(app) as db:
        user = db.scalar(select(User).where(User.email == "new.person@example.fr"))
        assert user.role == "gestionnaire"
        assert user.password_hash.startswith("$argon2id$")


def test_create_user_refuses_password_argument_and_duplicates(runner):
    result = runner.invoke(args=["create-user", "x@example.fr", "--password", "secret"])
    assert result.exit_code != 0
    result = runner.invoke(args=["create-user", CLAIRE], input="a long enough password\n" * 2)
    assert result.exit_code != 0
    assert "existe déjà" in result.output


def test_secret_key_is_generated_once_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path))
    config = {"TESTING": True, "DATABASE_URL": "sqlite://"}
    first = create_app(config)
    second = create_app(config)
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").read_text() == first.config["SECRET_KEY"]
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    for app in (first, second):
        app.extensions["imagin.engine"].dispose()


def test_environment_overrides_configuration(tmp_path, monkeypatch):
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path))
    (tmp_path / "config.py").write_text("MISSIONS_PER_PAGE = 10\nURL_PREFIX = '/x'\n")
    monkeypatch.setenv("IMAGIN_URL_PREFIX", "/imagin")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    app = create_app()
    assert app.config["MISSIONS_PER_PAGE"] == 10
    assert app.config["URL_PREFIX"] == "/imagin"
    assert app.config["DATABASE_URL"].endswith("env.db")
    app.extensions["imagin.engine"].dispose()


def test_everything_works_under_a_url_prefix(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["URL_PREFIX"] = "/imagin"
    app = create_app(config)
    client = app.test_client()
    assert client.get("/intervenant").status_code == 404
    root = client.get("/imagin/")
    assert root.location == "/imagin/intervenant"
    page = client.get("/imagin/intervenant").get_data(as_text=True)
    assert 'action="/imagin/intervenant"' in page
    assert "/imagin/static/app.css" in page
    response = client.post(
        "/imagin/intervenant?next=/imagin/missions/621",
        data={"csrf_token": csrf_from(page), "email": CLAIRE, "password": "imagin-demo"},
    )
    assert response.status_code == 303
    assert response.location == "/imagin/missions/621"
    assert "Path=/imagin" in response.headers["Set-Cookie"]
    html = client.get("/imagin/missions").get_data(as_text=True)
    assert 'href="/imagin/missions/621/suivi"' in html
    assert re.search(r'action="/imagin/deconnexion"', html)
    tabs = client.get("/imagin/missions/621").get_data(as_text=True)
    assert 'hx-get="/imagin/missions/621/remuneration"' in tabs
    assert client.get("/imagin/missions").status_code == 200
    client.post("/imagin/deconnexion", data={"csrf_token": csrf_from(html)})
    assert client.get("/imagin/missions").location.startswith("/imagin/intervenant?next=")
    app.extensions["imagin.engine"].dispose()
