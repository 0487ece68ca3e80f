"""Sign-in, sign-out, throttling, redirects and session cookies."""

import time

import pytest

from imagin import create_app
from tests.conftest import CLAIRE, PAUL, base_config, csrf_from, database

BAD = "Adresse électronique ou mot de passe incorrect."


def test_root_sends_signed_out_visitor_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.location == "/intervenant"


def test_sign_in_page_has_the_labels_users_know(client):
    html = client.get("/intervenant").get_data(as_text=True)
    assert "Adresse électronique" in html
    assert "Mot de passe" in html
    assert "Se connecter" in html
    assert 'lang="fr"' in html


def test_sign_in_goes_to_the_mission_list(client, auth):
    response = auth.login()
    assert response.status_code == 303
    assert response.location == "/missions"
    assert "Mes missions" in client.get("/missions").get_data(as_text=True)


def test_email_is_case_insensitive(client, auth):
    assert auth.login(email="Claire.Martin@EXAMPLE.fr").status_code == 303


@pytest.mark.parametrize(
    ("email", "password"),
    [(CLAIRE, "wrong-password"), ("nobody@example.fr", "imagin-demo")],
)
def test_wrong_password_and_unknown_account_look_the_same(client, auth, email, password):
    response = auth.login(email=email, password=password)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert BAD in html
    # What was typed is kept, the password is not echoed back.
    assert f'value="{email}"' in html
    assert password not in html


def test_empty_fields_are_explained_next_to_them(client):
    token = csrf_from(client.get("/intervenant").get_data(as_text=True))
    response = client.post("/intervenant", data={"csrf_token": token, "email": "", "password": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Saisissez votre adresse électronique." in html
    assert "Saisissez votre mot de passe." in html
    assert 'aria-invalid="true"' in html


def test_failed_attempts_are_throttled_then_allowed_again(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["LOGIN_ACCOUNT_LIMIT"] = "5 per 2 seconds"
    app = create_app(config)
    client = app.test_client()

    def attempt(password):
        token = csrf_from(client.get("/intervenant").get_data(as_text=True))
        return client.post(
            "/intervenant", data={"csrf_token": token, "email": CLAIRE, "password": password}
        )

    statuses = [attempt("wrong").status_code for _ in range(10)]
    assert statuses[:5] == [422] * 5
    assert statuses[5:] == [429] * 5
    refused = attempt("imagin-demo")
    assert refused.status_code == 429
    assert "Trop de tentatives" in refused.get_data(as_text=True)
    # Another account from the same address is not locked by Claire's failures.
    token = csrf_from(client.get("/intervenant").get_data(as_text=True))
    other = client.post(
        "/intervenant", data={"csrf_token": token, "email": PAUL, "password": "imagin-demo"}
    )
    assert other.status_code == 303
    signed_in_token = csrf_from(client.get("/missions").get_data(as_text=True))
    assert client.post("/deconnexion", data={"csrf_token": signed_in_token}).status_code == 303
    time.sleep(2.1)
    assert attempt("imagin-demo").status_code == 303
    app.extensions["imagin.engine"].dispose()


def test_failures_per_address_are_throttled_more_loosely(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["LOGIN_IP_LIMIT"] = "8 per 1 hour"
    app = create_app(config)
    client = app.test_client()
    statuses = []
    for n in range(10):
        token = csrf_from(client.get("/intervenant").get_data(as_text=True))
        statuses.append(
            client.post(
                "/intervenant",
                data={"csrf_token": token, "email": f"user{n}@example.fr", "password": "x"},
            ).status_code
        )
    assert statuses == [422] * 8 + [429] * 2
    app.extensions["imagin.engine"].dispose()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/missions/621", "/missions/621"),
        ("//evil.example", "/missions"),
        ("https://evil.example", "/missions"),
        ("https:/evil.example", "/missions"),
        ("/\\evil.example", "/missions"),
        ("javascript:alert(1)", "/missions"),
    ],
)
def test_next_only_redirects_inside_the_site(auth, target, expected):
    from urllib.parse import quote

    response = auth.login(next=quote(target, safe=""))
    assert response.status_code == 303
    assert response.location == expected


def test_sign_out_is_a_post_and_kills_the_old_cookie(client, auth):
    auth.login()
    stolen = client.get_cookie("session").value
    assert client.get("/deconnexion").status_code == 405
    response = auth.logout()
    assert response.status_code == 303
    assert response.location == "/intervenant"
    # Replaying the cookie from before sign-out no longer opens the list.
    client.set_cookie("session", stolen)
    response = client.get("/missions")
    assert response.status_code == 302
    assert response.location.startswith("/intervenant")


def test_password_change_invalidates_other_sessions(app, client, auth):
    from sqlalchemy import select

    from imagin.auth.passwords import hash_password
    from imagin.models import User

    auth.login()
    with database(app) as db:
        user = db.scalar(select(User).where(User.email == CLAIRE))
        user.password_hash = hash_password("a new long password")
        user.rotate_session_token()
        db.commit()
    assert client.get("/missions").status_code == 302


def test_a_deactivated_account_is_signed_out_on_its_next_request(app, client, auth):
    from sqlalchemy import select

    from imagin.models import User

    auth.login()
    assert "Claire MARTIN" in client.get("/missions").text
    with database(app) as db:
        db.scalar(select(User).where(User.email == CLAIRE)).active = False
        db.commit()
    response = client.get("/missions")
    assert response.status_code == 302
    assert response.location.startswith("/intervenant")


def test_tampered_session_cookie_goes_back_to_sign_in(client, auth):
    auth.login()
    value = client.get_cookie("session").value
    client.set_cookie("session", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
    response = client.get("/missions")
    assert response.status_code == 302
    assert response.location.startswith("/intervenant")


def test_sign_in_starts_a_new_session(client, auth):
    client.get("/intervenant")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login()
    with client.session_transaction() as session:
        assert "planted" not in session


def test_session_cookie_flags(client):
    token = csrf_from(client.get("/intervenant").get_data(as_text=True))
    response = client.post(
        "/intervenant", data={"csrf_token": token, "email": CLAIRE, "password": "imagin-demo"}
    )
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header


def test_secure_cookies_and_hsts_when_https(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["HTTPS"] = True
    app = create_app(config)
    client = app.test_client()
    response = client.get("/intervenant", base_url="https://localhost")
    assert "max-age" in response.headers["Strict-Transport-Security"]
    assert app.config["SESSION_COOKIE_SECURE"] is True
    app.extensions["imagin.engine"].dispose()


def test_post_without_csrf_token_is_refused_in_french_and_keeps_input(client):
    response = client.post("/intervenant", data={"email": CLAIRE, "password": "imagin-demo"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "jeton de sécurité" in html
    # The e-mail typed is carried by the resubmit form; the password is not.
    assert f'value="{CLAIRE}"' in html
    assert "imagin-demo" not in html


def test_passwords_are_hashed_with_argon2id(app):
    from sqlalchemy import select

    from imagin.models import User

    with database(app) as db:
        user = db.scalar(select(User).where(User.email == CLAIRE))
        assert user.password_hash.startswith("$argon2id$")
        assert "m=19456,t=2,p=1" in user.password_hash


def test_throttling_can_be_shared_through_redis(database_url, tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    config = base_config(database_url, tmp_path)
    config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379"
    config["LOGIN_ACCOUNT_LIMIT"] = "3 per 1 minute"
    apps = [create_app(config), create_app(config)]
    email = f"shared-{time.time_ns()}@example.fr"  # a key no earlier run has used
    statuses = []
    for n in range(4):
        client = apps[n % 2].test_client()
        token = csrf_from(client.get("/intervenant").get_data(as_text=True))
        statuses.append(
            client.post(
                "/intervenant", data={"csrf_token": token, "email": email, "password": "x"}
            ).status_code
        )
    assert statuses == [422, 422, 422, 429]
    # The failures are counted in Redis, where every process of a deployment sees them.
    server = redis.Redis(host="127.0.0.1", port=6379)
    assert list(server.scan_iter(match=f"*login-account*{email}*"))
    for app in apps:
        app.extensions["imagin.engine"].dispose()
