"""Choosing a password from a signed link: first sign-in of an imported intervenant,
or a forgotten password."""

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from imagin import create_app
from imagin.models import User
from tests.conftest import PAUL, base_config, csrf_from, database, send_outbox

SENT = "Si un compte existe pour cette adresse"


def ask_link(client, email):
    token = csrf_from(client.get("/intervenant/mot-de-passe").get_data(as_text=True))
    return client.post("/intervenant/mot-de-passe", data={"csrf_token": token, "email": email})


def sent_links(app) -> list[tuple[str, str]]:
    send_outbox(app)  # what the background sender does
    links = []
    for path in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body().get_content()
        found = re.search(r"https?://\S+/intervenant/mot-de-passe/(\S+)", body)
        if found:
            links.append((message["To"], "/intervenant/mot-de-passe/" + found.group(1)))
    return links


def choose(client, path, password, confirm=None):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(
        path,
        data={
            "csrf_token": token,
            "password": password,
            "confirm": confirm if confirm is not None else password,
        },
    )


def test_sign_in_page_offers_the_link(client):
    assert "Première connexion ou mot de passe oublié ?" in client.get("/intervenant").get_data(
        as_text=True
    )


def test_forgotten_password_link_works_once(app, client, auth):
    response = ask_link(client, PAUL.upper())
    assert response.status_code == 303
    assert SENT in client.get("/intervenant").get_data(as_text=True)
    [(to, path)] = sent_links(app)
    assert to == PAUL
    done = choose(client, path, "une phrase facile à retenir")
    assert done.status_code == 303 and done.location == "/missions"
    assert client.get("/missions").status_code == 200
    # The link is spent, and the new password works, the old one no longer.
    assert client.get(path).status_code == 400
    other = app.test_client()
    token = csrf_from(other.get("/intervenant").get_data(as_text=True))
    assert (
        other.post(
            "/intervenant", data={"csrf_token": token, "email": PAUL, "password": "imagin-demo"}
        ).status_code
        == 422
    )
    token = csrf_from(other.get("/intervenant").get_data(as_text=True))
    assert (
        other.post(
            "/intervenant",
            data={"csrf_token": token, "email": PAUL, "password": "une phrase facile à retenir"},
        ).status_code
        == 303
    )


def test_unknown_address_gets_the_same_answer_and_no_mail(app, client):
    response = ask_link(client, "nobody@example.fr")
    assert response.status_code == 303
    assert SENT in client.get("/intervenant").get_data(as_text=True)
    assert sent_links(app) == []


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("court", "court", "Au moins 12 caractères."),
        (
            "une phrase facile à retenir",
            "autre chose encore",
            "Les deux mots de passe sont différents.",
        ),
        ("", "", "Choisissez un mot de passe."),
    ],
)
def test_bad_passwords_are_refused_in_french(app, client, password, confirm, message):
    ask_link(client, PAUL)
    [(_, path)] = sent_links(app)
    response = choose(client, path, password, confirm)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert client.get(path).status_code == 200  # the link still works


@pytest.mark.parametrize("token", ["nimporte-quoi", "WzIsImFiYyJd.abc.def", "x" * 300])
def test_tampered_links_are_refused(client, token):
    response = client.get(f"/intervenant/mot-de-passe/{token}")
    assert response.status_code == 400
    assert "Ce lien n&#39;est plus valable" in response.get_data(as_text=True)


def test_expired_link_is_refused(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["ACCOUNT_LINK_MAX_AGE"] = -1
    app = create_app(config)
    client = app.test_client()
    ask_link(client, PAUL)
    [(_, path)] = sent_links(app)
    assert client.get(path).status_code == 400
    app.extensions["imagin.engine"].dispose()


def test_requests_for_links_are_throttled(client):
    statuses = [ask_link(client, PAUL).status_code for _ in range(4)]
    assert statuses == [303, 303, 303, 429]


def test_imported_intervenant_gets_the_link_in_the_convocation(app):
    from imagin.db import get_db
    from imagin.models import Mission
    from imagin.notifications import convocation_message

    with app.test_request_context():
        db = get_db()
        paul = db.scalar(select(User).where(User.email == PAUL))
        paul.password_hash = None
        mission = db.scalar(select(Mission).where(Mission.number == 640))
        body = convocation_message(mission).body
        assert "Première connexion : choisissez votre mot de passe" in body
        assert "/intervenant/mot-de-passe/" in body
    with database(app) as db:
        assert db.scalar(select(User.password_hash).where(User.email == PAUL))
