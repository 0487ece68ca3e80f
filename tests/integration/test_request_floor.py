"""What every request does, done once where it may be: still the same checks (issue 14).

The session cookie verified once per process, the CSRF token signed once per session
for a minute, the account read outside the ORM: each keeps the refusals it had.
"""

from __future__ import annotations

import time

from imagin import csrf_tokens
from tests.conftest import CLAIRE, csrf_from, database


def test_a_session_past_its_lifetime_is_refused_even_once_verified(app, client, auth, monkeypatch):
    auth.login()
    assert client.get("/missions").status_code == 200  # verified, and kept
    later = time.time() + app.permanent_session_lifetime.total_seconds() + 5
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get("/missions")
    assert response.status_code == 302
    assert response.location.startswith("/intervenant")


def test_a_cookie_signed_with_another_key_is_refused_after_one_was_kept(
    app, client, auth, tmp_path
):
    from imagin import create_app
    from tests.conftest import base_config

    auth.login()
    cookie = client.get_cookie("session").value
    assert client.get("/missions").status_code == 200
    other = create_app({**base_config(app.config["DATABASE_URL"], tmp_path), "SECRET_KEY": "x"})
    try:
        stranger = other.test_client()
        stranger.set_cookie("session", cookie)
        assert stranger.get("/missions").status_code == 302
    finally:
        other.extensions["imagin.engine"].dispose()


def test_the_signed_csrf_token_is_reused_for_a_minute_then_renewed(app, client, auth, monkeypatch):
    auth.login()
    first = csrf_from(client.get("/missions").get_data(as_text=True))
    assert csrf_from(client.get("/missions/621").get_data(as_text=True)) == first
    now = time.monotonic()
    monkeypatch.setattr(csrf_tokens.time, "monotonic", lambda: now + csrf_tokens.REUSE_SECONDS + 1)
    # The signature's own time (in seconds) must move on for the new token to differ.
    time.sleep(1.1)
    renewed = csrf_from(client.get("/missions").get_data(as_text=True))
    assert renewed != first
    # Both are signatures of this session's secret, within WTF_CSRF_TIME_LIMIT: valid.
    response = client.post("/deconnexion", data={"csrf_token": first})
    assert response.status_code == 303


def test_another_sessions_reused_token_is_refused(app, client, auth):
    auth.login()
    token = csrf_from(client.get("/missions").get_data(as_text=True))
    other = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(other).login(email="paul.durand@example.fr")
    response = other.post("/deconnexion", data={"csrf_token": token})
    assert response.status_code == 400
    assert other.get("/missions").status_code == 200  # still signed in


def test_the_account_is_read_again_on_every_request(app, client, auth):
    from sqlalchemy import select

    from imagin.models import User

    auth.login()
    assert "Claire MARTIN" in client.get("/missions").text
    with database(app) as db:
        db.scalar(select(User).where(User.email == CLAIRE)).first_name = "Clara"
        db.commit()
    assert "Clara MARTIN" in client.get("/missions").text
