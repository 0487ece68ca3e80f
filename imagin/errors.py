"""French error pages, and an alert in the page when the request came from HTMX."""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

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
    "Votre page a expiré ou le jeton de sécurité est absent. Vos saisies ont été conservées "
    "ci-dessous : renvoyez le formulaire pour les enregistrer."
)


def _render(code: int, message: str | None = None, resubmit: bool = False):
    title, default_message = MESSAGES.get(code, MESSAGES[500])
    context = {"code": code, "title": title, "message": message or default_message}
    if wants_fragment():
        return render_template("errors/_alert.html", **context), code
    if resubmit and request.method == "POST":
        # The values typed, minus secrets, so a fresh token can carry them again.
        context["kept_fields"] = [
            (name, value)
            for name, value in request.form.items(multi=True)
            if name != "csrf_token" and "password" not in name
        ]
    return render_template("errors/error.html", **context), code


def handle_csrf_error(error: CSRFError):
    """A missing or expired CSRF token: explain, and keep what the user typed."""
    return _render(400, CSRF_MESSAGE, resubmit=True)


def handle_http_error(error: HTTPException):
    """Any HTTP error as a French page (or an in-page alert under HTMX)."""
    code = error.code or 500
    description = getattr(error, "french_message", None)
    if isinstance(error, RequestEntityTooLarge):
        description = form_message(passed_limit(error, request), current_app.config)
    return _render(code, description)


def handle_unexpected_error(error: Exception):
    """An unexpected failure: log it, show the French 500 page."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return _render(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected_error)
    app.register_error_handler(Exception, handle_unexpected_error)
