"""Headers on every response, French error pages, CSRF, compression and static caching."""

import base64
import hashlib
import re
from pathlib import Path

import pytest

from tests.conftest import csrf_from

# The one inline style allowed: the frame's stylesheet, inlined in the pages a first
# visit lands on (tests/integration/test_first_visit.py).
_BASE_CSS = Path(__file__).resolve().parents[2] / "imagin" / "static" / "base.css"
_BASE_CSS_HASH = base64.b64encode(hashlib.sha256(_BASE_CSS.read_bytes()).digest()).decode()
CSP = (
    f"default-src 'self'; style-src 'self' 'sha256-{_BASE_CSS_HASH}'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@pytest.mark.parametrize("url", ["/intervenant", "/missions", "/missions/621", "/nope"])
def test_security_headers_on_pages_and_errors(client, auth, url):
    auth.login()
    response = client.get(url)
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in response.headers["Cache-Control"]
    assert "Strict-Transport-Security" not in response.headers


def test_no_inline_script_or_style_in_pages(client, auth):
    auth.login()
    for url in ("/intervenant", "/missions", "/missions/621", "/missions/621/deplacement"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        # At most the one style allowed by its hash (the sign-in page's), no attribute.
        styles = re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S)
        assert styles in ([], [_BASE_CSS.read_text(encoding="utf-8")]), url
        assert " style=" not in html, url
        assert "hx-on" not in html, url


def test_htmx_is_configured_safely(client):
    html = client.get("/intervenant").get_data(as_text=True)
    for setting in (
        '"selfRequestsOnly":true',
        '"allowScriptTags":false',
        '"allowEval":false',
        '"historyRestoreAsHxRequest":false',
        '"includeIndicatorStyles":false',
        '{"code":"422","swap":true}',
    ):
        assert setting in html
    assert "htmx-2.0.11.min.js" in html


def test_csrf_token_in_hx_headers_and_every_form(client, auth):
    auth.login()
    html = client.get("/missions").get_data(as_text=True)
    assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'>', html)
    for form in re.findall(r'<form[^>]*method="post"[^>]*>.*?</form>', html, re.S):
        assert 'name="csrf_token"' in form


def test_post_with_csrf_header_as_htmx_does(client, auth):
    auth.login()
    token = csrf_from(client.get("/missions").get_data(as_text=True))
    response = client.post("/deconnexion", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 303


def test_htmx_post_without_token_is_an_in_page_alert(client, auth):
    auth.login()
    response = client.post("/deconnexion", headers={"HX-Request": "true"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "jeton de sécurité" in body


@pytest.mark.parametrize(
    ("url", "code", "title"),
    [("/n-existe-pas", 404, "Page introuvable"), ("/missions/621/suivi", 405, "Action impossible")],
)
def test_french_error_pages_with_a_way_back(client, auth, url, code, title):
    auth.login()
    response = client.get(url) if code == 404 else client.put(url)
    assert response.status_code == code
    html = response.get_data(as_text=True)
    assert title in html
    assert "Revenir à l&#39;accueil" in html or "Revenir à l'accueil" in html


def test_unexpected_error_is_a_french_500(app, client, auth, monkeypatch):
    from imagin.missions import views

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "list_own_missions", broken)
    auth.login()
    response = client.get("/missions")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Erreur du service" in html and "boom" not in html
    hx = client.get("/missions", headers={"HX-Request": "true"})
    assert hx.status_code == 500 and "<html" not in hx.get_data(as_text=True)


def test_too_large_request_is_a_french_413(client):
    body = b"email=" + b"x" * (7 * 1024 * 1024)
    response = client.post(
        "/intervenant", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert "Envoi trop volumineux" in response.get_data(as_text=True)


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_and_static_files_are_compressed(client, auth, encoding):
    auth.login()
    page = client.get("/missions", headers={"Accept-Encoding": encoding})
    assert page.headers["Content-Encoding"] == encoding
    html = client.get("/missions").get_data(as_text=True)
    css_url = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', html).group(1)
    css = client.get(css_url, headers={"Accept-Encoding": encoding})
    assert css.status_code == 200
    assert css.headers["Content-Encoding"] == encoding
    assert "immutable" in css.headers["Cache-Control"]
    assert "max-age=31536000" in css.headers["Cache-Control"]


def test_static_urls_change_with_content(client):
    html = client.get("/intervenant").get_data(as_text=True)
    assert re.search(r"/static/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]{12}", html)
    assert re.search(r"/static/app\.js\?v=[0-9a-f]{12}", html)
