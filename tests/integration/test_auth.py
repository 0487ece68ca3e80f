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
    config["LOGIN_ACCOUNT_ADDRESS_LIMIT"] = "5 per 2 seconds"
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
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
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
    client.get("/intervenant")
    response = client.post(
        "/intervenant",
        data={"email": CLAIRE, "password": "imagin-demo"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "jeton de sécurité" in html
    # Nothing to post again from the error page: a link back to the form…
    assert "<form" not in html.split("<main", 1)[1]
    assert 'href="/intervenant"' in html and "Revenir au formulaire" in html
    # …where the e-mail typed is back in its field; the password is not.
    form = client.get("/intervenant").get_data(as_text=True)
    assert f'value="{CLAIRE}"' in form
    assert "imagin-demo" not in form
    # Shown once.
    assert f'value="{CLAIRE}"' not in client.get("/intervenant").get_data(as_text=True)


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


def sign_in_from(app, address: str, email: str, password: str):
    """One sign-in attempt from a client at ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = csrf_from(client.get("/intervenant").get_data(as_text=True))
    return client.post(
        "/intervenant", data={"csrf_token": token, "email": email, "password": password}
    )


def test_a_stranger_cannot_lock_the_owner_out(app):
    # Attack: wrong passwords for Claire's account from another address.
    attacker = [sign_in_from(app, "203.0.113.9", CLAIRE, f"guess-{n}") for n in range(8)]
    assert [r.status_code for r in attacker] == [422] * 5 + [429] * 3
    # Strictly 5 per 15 minutes: the attacker is told to wait about that long.
    assert 890 <= int(attacker[-1].headers["Retry-After"]) <= 900
    # Even the right password is refused to the attacker's address now…
    assert sign_in_from(app, "203.0.113.9", CLAIRE, "imagin-demo").status_code == 429
    # …while the owner, from their own address, signs in at once.
    owner = sign_in_from(app, "198.51.100.7", CLAIRE, "imagin-demo")
    assert owner.status_code == 303 and owner.location == "/missions"


def test_one_address_is_throttled_loosely_across_accounts(app):
    statuses = [
        sign_in_from(app, "203.0.113.10", f"user{n}@example.fr", "x").status_code for n in range(51)
    ]
    assert statuses == [422] * 50 + [429]
    # Another address is not concerned.
    assert sign_in_from(app, "203.0.113.11", PAUL, "imagin-demo").status_code == 303


def test_an_account_is_throttled_across_addresses_at_a_rate_no_person_types(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["LOGIN_ACCOUNT_LIMIT"] = "10 per 1 hour"  # 100 by default: fewer to keep it short
    app = create_app(config)
    # One guess from each of many addresses: no (account, address) count ever reaches 5.
    statuses = [
        sign_in_from(app, f"203.0.113.{n}", CLAIRE, "guess").status_code for n in range(1, 12)
    ]
    assert statuses == [422] * 10 + [429]
    refused = sign_in_from(app, "198.51.100.7", CLAIRE, "imagin-demo")
    assert refused.status_code == 429
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3600
    app.extensions["imagin.engine"].dispose()


def test_default_limits_are_the_documented_ones(app):
    assert app.config["LOGIN_ACCOUNT_ADDRESS_LIMIT"] == "5 per 15 minutes"
    assert app.config["LOGIN_IP_LIMIT"] == "50 per 15 minutes"
    assert app.config["LOGIN_ACCOUNT_LIMIT"] == "100 per 1 hour"


def test_no_rate_limit_hook_runs_on_every_request(app):
    # Counting happens in the sign-in view only (issue 14: the per-request floor).
    hooks = [f.__module__ for fs in app.before_request_funcs.values() for f in fs]
    hooks += [f.__module__ for fs in app.after_request_funcs.values() for f in fs]
    assert not [module for module in hooks if "limit" in module]
