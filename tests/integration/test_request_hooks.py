"""The per-request hooks made cheaper keep Flask's, werkzeug's and Flask-Login's answers (issue 14).

Each shortcut is compared here with the library code it stands for, on the cases
where they could differ.
"""

from __future__ import annotations

import pytest
from flask import Response as FlaskResponse
from flask_login.utils import _create_identifier
from werkzeug.datastructures import Headers as WerkzeugHeaders

from imagin.extensions import login_manager
from imagin.responses import Headers, Response
from imagin.session_cookie import vary_on

VARY_VALUES = [
    None,
    "",
    "Accept-Encoding",
    "accept-encoding, cookie",
    "Accept-Encoding, Cookie",
    "Origin,Accept-Encoding",
    '"quoted", Accept-Encoding',
    "Accept-Encoding,  Origin",
    "*",
]


@pytest.mark.parametrize("vary", VARY_VALUES)
def test_vary_on_writes_what_werkzeug_writes(vary):
    ours, theirs = FlaskResponse("x"), FlaskResponse("x")
    if vary is not None:
        ours.headers["Vary"] = theirs.headers["Vary"] = vary
    vary_on(ours, "Cookie")
    theirs.vary.add("Cookie")
    assert ours.headers.to_wsgi_list() == theirs.headers.to_wsgi_list()


def test_headers_answer_as_werkzeugs():
    items = [("Content-Type", "text/html"), ("Content-Length", "13"), ("X-Dup", "a"), ("x-dup", "")]
    ours, theirs = Headers(items), WerkzeugHeaders(items)
    for key in ("content-type", "CONTENT-LENGTH", "Vary", "X-Dup", ""):
        assert ours.get(key) == theirs.get(key)
        assert ours.get(key, "default") == theirs.get(key, "default")
        assert ours.get(key, type=int) == theirs.get(key, type=int)
        assert (key in ours) == (key in theirs)
    copied = ours.copy()
    copied.add("X-New", "1")
    assert "X-New" not in ours
    assert isinstance(copied, Headers)
    with pytest.raises(ValueError, match="newline"):
        copied.add("X-Bad", "a\nb")


@pytest.mark.parametrize(
    "make",
    [
        lambda cls: cls("Hello", 200),
        lambda cls: cls("", 204),
        lambda cls: cls("", 304, {"ETag": '"x"', "Content-Length": "0"}),
        lambda cls: cls("moved", 302, {"Location": "/ailleurs é"}),
        lambda cls: cls("here", 201, {"Content-Location": "/là"}),
        lambda cls: cls(iter([b"a", b"b"]), 200),
        lambda cls: cls(b"body", 404, {"X-Extra": "1"}),
    ],
)
def test_responses_send_the_headers_werkzeug_sends(app, make):
    environ = {"wsgi.url_scheme": "http", "SERVER_NAME": "localhost", "SERVER_PORT": "80"}
    with app.test_request_context("/page"):
        ours, theirs = make(Response), make(FlaskResponse)
        assert ours.get_wsgi_headers(environ).to_wsgi_list() == (
            theirs.get_wsgi_headers(environ).to_wsgi_list()
        )


def test_the_app_answers_with_its_response_class(client):
    response = client.get("/intervenant")
    assert isinstance(response.headers, WerkzeugHeaders)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    "headers, remote",
    [
        ({"User-Agent": "navigateur"}, "10.0.0.1"),
        ({"User-Agent": "navigateur"}, "10.0.0.2"),
        ({"User-Agent": "navigateur", "X-Forwarded-For": "1.2.3.4, 10.0.0.1"}, "10.0.0.1"),
        ({}, "10.0.0.1"),
        ({"User-Agent": "é"}, None),
    ],
)
def test_session_identifier_is_flask_logins(app, headers, remote):
    environ = {"REMOTE_ADDR": remote} if remote else {}
    for _ in range(2):  # computed, then kept
        with app.test_request_context("/", headers=headers, environ_base=environ):
            if remote is None:
                from flask import request

                request.environ.pop("REMOTE_ADDR", None)
            assert login_manager._session_identifier_generator() == _create_identifier()


def test_strong_session_protection_still_signs_out_another_browser(app, client, auth):
    app.config["SESSION_PROTECTION"] = "strong"
    auth.login()
    assert client.get("/missions").status_code == 200
    response = client.get("/missions", headers={"User-Agent": "un autre navigateur"})
    assert response.status_code == 302


def test_basic_session_protection_keeps_the_user(app, client, auth):
    auth.login()
    response = client.get("/missions", headers={"User-Agent": "un autre navigateur"})
    assert response.status_code == 200


def test_a_small_page_is_not_compressed_and_says_it_varies(signed_in):
    response = signed_in.get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in response.headers
    assert response.headers["Vary"].startswith("Accept-Encoding")
    page = signed_in.get("/missions", headers={"Accept-Encoding": "br, gzip"})
    assert page.headers["Content-Encoding"] == "br"


def test_a_post_without_csrf_token_is_still_refused(signed_in):
    assert signed_in.post("/deconnexion").status_code == 400
    assert signed_in.get("/missions").status_code == 200
