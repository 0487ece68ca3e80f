"""The signed CSRF token of a session: signed once, then reused for a short while.

Flask-WTF signs the session's CSRF secret anew on every request that shows a form (a
new serializer, a key derivation and an HMAC each time): every signed-in page does, for
its sign-out button and HTMX's header. The same signed token is valid for
WTF_CSRF_TIME_LIMIT, so it is kept per session secret for ``REUSE_SECONDS``: a page then
carries a token at most that much older, which expires that much sooner. Checking a
token is unchanged (Flask-WTF's ``validate_csrf``).

Flask-WTF's request hook looks up the view's exemption before the method: on a GET,
which it never checks, that lookup was 8 % of a constant page. The method is asked
first here; a POST goes through Flask-WTF's hook as before.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, request, session
from flask_wtf.csrf import _FlaskFormCSRF, generate_csrf

REUSE_SECONDS = 60
# The cache is emptied when it grows past this many sessions (it refills at once).
MAX_SESSIONS = 10_000
EXTENSION = "imagin.csrf_tokens"


def csrf_token() -> str:
    """This session's signed CSRF token (the ``csrf_token()`` of templates and forms)."""
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    token = g.get(field)
    if token is not None:
        return token
    signed: dict[str, tuple[str, float]] = current_app.extensions[EXTENSION]
    secret = session.get(field)
    now = time.monotonic()
    if isinstance(secret, str):
        kept = signed.get(secret)
        if kept is not None and now - kept[1] < REUSE_SECONDS:
            setattr(g, field, kept[0])
            return kept[0]
    token = generate_csrf()
    if len(signed) >= MAX_SESSIONS:
        signed.clear()
    signed[session[field]] = (token, now)
    return token


class ReusedCSRF(_FlaskFormCSRF):
    """Flask-WTF's form CSRF, with the token from ``csrf_token``."""

    def generate_csrf_token(self, csrf_token_field):
        return csrf_token()


def _check_unsafe_methods_only(app: Flask) -> None:
    """Run Flask-WTF's ``csrf_protect`` hook only for the methods it checks."""
    hooks = app.before_request_funcs[None]
    (index,) = [i for i, hook in enumerate(hooks) if hook.__name__ == "csrf_protect"]
    protect = hooks[index]
    config = app.config

    def csrf_protect() -> None:
        # Flask-WTF returns without checking anything for the other methods.
        method = request._get_current_object().method  # type: ignore[attr-defined]
        if method in config["WTF_CSRF_METHODS"]:
            protect()

    hooks[index] = csrf_protect


def init_app(app: Flask) -> None:
    """Make templates use ``csrf_token`` (after CSRFProtect's init_app)."""
    app.extensions[EXTENSION] = {}
    _check_unsafe_methods_only(app)
    app.jinja_env.globals["csrf_token"] = csrf_token
    # Flask-WTF also puts its own in every template's context: ours comes after it.
    app.context_processor(lambda: {"csrf_token": csrf_token})
