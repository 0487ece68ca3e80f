"""The sign-in in one round trip (issue 14, item 5): with JavaScript, htmx posts the form
(``HX-Boosted``) and a successful sign-in answers with the page signed in to, its address
in ``HX-Push-Url``; without JavaScript, POST then 303 then GET, as before."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from imagin import create_app
from imagin.demo import DEMO_PASSWORD
from tests.conftest import CLAIRE, GESTIONNAIRE, base_config, csrf_from

BAD = "Adresse électronique ou mot de passe incorrect."
# What htmx sends with a boosted form, and with any request of a page (body's hx-headers).
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true", "HX-Current-URL": "http://localhost/"}


def boosted_sign_in(client, email=CLAIRE, password=DEMO_PASSWORD, next=None, prefix=""):
    page = client.get(f"{prefix}/intervenant").get_data(as_text=True)
    token = csrf_from(page)
    url = f"{prefix}/intervenant" + (f"?next={quote(next, safe='')}" if next else "")
    return client.post(
        url,
        data={"csrf_token": token, "email": email, "password": password},
        headers={**BOOSTED, "X-CSRFToken": token},
    )


def body_token(html: str) -> str:
    """The CSRF token htmx sends with every request of the page (its <body>'s hx-headers)."""
    match = re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'>", html)
    assert match, "no hx-headers on the body"
    return match.group(1)


def without_tokens(html: str) -> str:
    return re.sub(r'("X-CSRFToken": "|name="csrf_token" value=")[^"]+', r"\1…", html)


def test_a_boosted_sign_in_answers_with_the_list_and_its_address(client):
    response = boosted_sign_in(client)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == "/missions"
    assert "HX-Redirect" not in response.headers
    html = response.get_data(as_text=True)
    # The whole page, as its GET shows it: the list's stylesheets linked, its title.
    assert html.startswith("<!doctype html>")
    assert re.search(r"<title>(\(\d+ à faire\) )?Mes missions — IMAG'IN</title>", html)
    assert 'rel="stylesheet"' in html and "/static/app.css" in html
    assert 'href="/missions/621/suivi"' in html
    assert 'aria-current="page">Mes missions' in html
    # A new session (rotated at sign-in): the cookie comes with the page, once.
    cookies = response.headers.getlist("Set-Cookie")
    assert [c.split("=", 1)[0] for c in cookies] == ["session"]
    # The same page, byte for byte but its tokens, as the GET of /missions gives.
    again = client.get("/missions")
    assert again.status_code == 200
    assert without_tokens(again.get_data(as_text=True)) == without_tokens(html)
    for name in ("Content-Security-Policy", "X-Frame-Options", "Cache-Control"):
        assert response.headers.get(name) == again.headers.get(name), name


def test_the_page_carries_the_new_sessions_csrf_token_for_htmx(client):
    html = boosted_sign_in(client).get_data(as_text=True)
    token = body_token(html)
    # An unsafe request of the page's htmx (its token in the header only) is accepted.
    response = client.post("/deconnexion", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 303
    assert client.get("/missions").status_code == 302


def test_without_javascript_the_post_still_redirects(client):
    page = client.get("/intervenant").get_data(as_text=True)
    response = client.post(
        "/intervenant",
        data={"csrf_token": csrf_from(page), "email": CLAIRE, "password": "imagin-demo"},
    )
    assert response.status_code == 303
    assert response.location == "/missions"
    assert "HX-Push-Url" not in response.headers
    assert response.get_data(as_text=True).count("Mes missions") == 0


def test_a_gestionnaire_lands_on_the_dec_queue(client):
    response = boosted_sign_in(client, email=GESTIONNAIRE)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == "/gestion"
    assert 'aria-current="page">Gestion' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/missions/621", "/missions/621"),
        ("/missions?page=1", "/missions?page=1"),
        ("//evil.example", "/missions"),
        ("https://evil.example", "/missions"),
        ("/\\evil.example", "/missions"),
        ("javascript:alert(1)", "/missions"),
    ],
)
def test_next_is_honoured_with_the_same_checks(client, target, expected):
    response = boosted_sign_in(client, next=target)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == expected


@pytest.mark.parametrize("target", ["/", "/missions/999999", "/static/app.css"])
def test_a_next_that_is_not_a_page_is_left_to_the_browser(client, target):
    """A redirect, an error or a file: htmx sends the browser there (as without JavaScript)."""
    response = boosted_sign_in(client, next=target)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == target
    assert response.get_data() == b""
    assert "Location" not in response.headers
    assert "default-src" in response.headers["Content-Security-Policy"]
    # Signed in all the same: the cookie came with the answer.
    assert client.get("/missions").status_code == 200


def test_a_wrong_password_shows_the_form_again_in_place(client):
    response = boosted_sign_in(client, password="wrong-password")
    assert response.status_code == 422
    assert "HX-Push-Url" not in response.headers
    html = response.get_data(as_text=True)
    assert BAD in html
    assert f'value="{CLAIRE}"' in html
    assert "wrong-password" not in html


def test_a_missing_csrf_token_is_refused_in_french(client):
    client.get("/intervenant")
    response = client.post(
        "/intervenant",
        data={"email": CLAIRE, "password": "imagin-demo"},
        headers={**BOOSTED, "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 400
    assert "HX-Push-Url" not in response.headers
    assert "jeton de sécurité" in response.get_data(as_text=True)
    assert client.get("/missions").status_code == 302


def test_throttled_attempts_are_refused_in_french(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["LOGIN_ACCOUNT_ADDRESS_LIMIT"] = "2 per 1 hour"
    app = create_app(config)
    client = app.test_client()
    statuses = [boosted_sign_in(client, password="wrong").status_code for _ in range(3)]
    assert statuses == [422, 422, 429]
    refused = boosted_sign_in(client)
    assert refused.status_code == 429
    assert "Trop de tentatives" in refused.get_data(as_text=True)
    assert "HX-Push-Url" not in refused.headers
    app.extensions["imagin.engine"].dispose()


def test_under_a_url_prefix(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["URL_PREFIX"] = "/imagin"
    app = create_app(config)
    client = app.test_client()
    response = boosted_sign_in(client, next="/imagin/missions/621", prefix="/imagin")
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == "/imagin/missions/621"
    assert 'hx-get="/imagin/missions/621/remuneration"' in response.get_data(as_text=True)
    assert "Path=/imagin" in response.headers["Set-Cookie"]
    app.extensions["imagin.engine"].dispose()
