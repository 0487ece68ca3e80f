"""French error pages, and an alert in the page when the request came from HTMX."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    SecurityError,
)

from imagin.forms import KEPT_KEY
from imagin.rendering import wants_fragment
from imagin.too_large import form_message, passed_limit

log = logging.getLogger(__name__)

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Requête invalide", "La requête n'a pas pu être comprise."),
    403: ("Accès refusé", "Vous n'avez pas accès à cette page."),
    404: ("Page introuvable", "Cette page n'existe pas ou ne vous est pas accessible."),
    405: ("Action impossible", "Cette action n'est pas possible à cette adresse."),
    409: ("Conflit", "Cette action n'est plus possible dans l'état actuel du dossier."),
    413: (
        "Envoi trop volumineux",
        "Ce que vous avez envoyé dépasse la taille autorisée (5 Mo par fichier).",
    ),
    422: ("Saisie invalide", "Certaines informations saisies ne sont pas valides."),
    429: (
        "Trop de tentatives",
        "Trop de tentatives en peu de temps. Patientez quelques minutes puis réessayez.",
    ),
    500: (
        "Erreur du service",
        "Une erreur inattendue s'est produite. Vos données enregistrées ne sont pas perdues ; "
        "réessayez dans un instant.",
    ),
}

CSRF_MESSAGE = (
    "Votre page a expiré ou le jeton de sécurité est absent : rien n'a été enregistré ni envoyé."
)
CSRF_KEPT = "Ce que vous aviez saisi est remis dans le formulaire : vérifiez-le, puis enregistrez."
CSRF_AGAIN = "Revenez à la page pour recommencer si vous le souhaitez."
# Headers of an HTTP error that the French page keeps (429's wait, 405's methods).
KEPT_HEADERS = {"retry-after", "allow"}


def _render(code: int, message: str | None = None, **extra):
    title, default_message = MESSAGES.get(code, MESSAGES[500])
    context = {"code": code, "title": title, "message": message or default_message, **extra}
    if wants_fragment():
        return render_template("errors/_alert.html", **context), code
    return render_template("errors/error.html", **context), code


def _same_origin() -> bool:
    """Whether this request came from one of our own pages (a forged one never does)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin") or request.referrer
    if not origin:
        return False
    parts = urlsplit(origin)
    return parts.scheme == request.scheme and parts.netloc == request.host


def _page_to_return_to() -> str:
    """The page the form was on: this address when it shows the form, else the referring
    page of this site, else the start page."""
    adapter = request.url_rule
    if adapter is not None and "GET" in (adapter.methods or ()):
        return request.full_path if request.query_string else request.path
    if request.referrer and _same_origin():
        parts = urlsplit(request.referrer)
        if parts.netloc == request.host:
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return url_for("auth.root")


def handle_csrf_error(error: CSRFError):
    """A missing or expired CSRF token: nothing done, nothing offered to post again.

    What was typed in visible fields goes back into the form, to be read and saved by
    the user themself; an action without fields (validate, approve, export, delete) is
    never offered again, since whoever posted it may not be the user.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    # Under HTMX the form stays on screen as typed, beside the alert: nothing to keep.
    keeps = (
        getattr(view, "keeps_typed_values", False)
        and request.method == "POST"
        and not wants_fragment()
    )
    kept = False
    if keeps and _same_origin():
        values = [
            (name, value)
            for name, value in request.form.items(multi=True)
            if name != "csrf_token" and "password" not in name
        ]
        if values:
            session[KEPT_KEY] = values
            kept = True
    return _render(
        400,
        CSRF_MESSAGE,
        back=_page_to_return_to(),
        back_label="Revenir au formulaire" if kept else "Revenir à la page",
        after=CSRF_KEPT if kept else CSRF_AGAIN,
    )


UNTRUSTED_HOST_PAGE = (
    '<!doctype html>\n<html lang="fr"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Requête invalide</title>"
    "<h1>Requête invalide</h1>"
    "<p>Cette adresse n'est pas celle du site IMAG'IN : rien n'a été fait.</p></html>\n"
)


def handle_untrusted_host(error: SecurityError):
    """A Host header outside TRUSTED_HOSTS: a bare page, since no link of ours can be built."""
    return UNTRUSTED_HOST_PAGE, 400, {"Content-Type": "text/html; charset=utf-8"}


def handle_http_error(error: HTTPException):
    """Any HTTP error as a French page (or an in-page alert under HTMX)."""
    code = error.code or 500
    description = getattr(error, "french_message", None)
    if isinstance(error, RequestEntityTooLarge):
        description = form_message(passed_limit(error, request), current_app.config)
    body, status = _render(code, description)
    headers = [(k, v) for k, v in error.get_headers() if k.lower() in KEPT_HEADERS]
    return body, status, headers


def handle_unexpected_error(error: Exception):
    """An unexpected failure: log it, show the French 500 page."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return _render(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(SecurityError, handle_untrusted_host)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected_error)
    app.register_error_handler(Exception, handle_unexpected_error)
