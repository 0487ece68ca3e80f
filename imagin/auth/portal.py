"""Signing staff in through the académie portal: the session, the journal, the refusal page."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, flash, redirect, render_template, request, session
from flask_login import current_user, login_user
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from imagin import clock
from imagin.auth.identities import PortalRefused, Where, portal_account, record
from imagin.auth.portal_headers import (
    direct_peer,
    has_identity,
    profile_from_headers,
    subject_from_headers,
    untrusted_reason,
)
from imagin.auth.profile import PortalProfile
from imagin.auth.sso import SsoSettings
from imagin.centre.portal import apply_chief_rights
from imagin.db import UNSAFE_METHODS, get_db, write_intent
from imagin.models import PortalIdentity, User
from imagin.models.identities import HEADERS
from imagin.rendering import wants_fragment

log = logging.getLogger(__name__)

# The session remembers how its user came: {"method", "subject", "return_url"}.
SESSION_KEY = "portal"
# After signing out, the portal's proxy still names him on every request: the browser stays
# signed out (for that subject) until he asks for the portal again (/portail).
PAUSED_KEY = "portal_signed_out"


def sso_settings() -> SsoSettings:
    return current_app.extensions["imagin.sso"]


def signs_in_with_portal(db: Session, user_id: int) -> bool:
    """Whether the account is a portal account (no password then), the portal being on.

    With the portal sign-in turned off, its accounts may choose a password again.
    """
    return sso_settings().enabled and bool(
        db.scalar(select(exists().where(PortalIdentity.user_id == user_id)))
    )


def where() -> Where:
    """The direct peer of this request and the client address the app works with."""
    peer = direct_peer(request.environ)
    return Where(str(peer) if peer else None, request.remote_addr)


@contextmanager
def _writing() -> Iterator[Session]:
    """This request's session, writing even on a GET, for the block's transaction only.

    Any read transaction is ended first (nothing was changed in it) so that SQLite
    takes the write lock at BEGIN instead of failing to upgrade it later.
    """
    db = get_db()
    if db.in_transaction():
        db.rollback()
    token = write_intent.set(True)
    try:
        yield db
    finally:
        write_intent.reset(token)


def sign_in(profile: PortalProfile) -> User:
    """Sign the portal's user into his account in a fresh session.

    :raise PortalRefused: after writing the refusal in the journal.
    """
    settings = sso_settings()
    for attempt in (1, 2):
        with _writing() as db:
            try:
                user = portal_account(
                    db, profile, settings.group_bureaus, where=where(), now=clock.now()
                )
                apply_chief_rights(db, user, profile, settings.chief_groups)
                db.commit()
                break
            except PortalRefused as refused:
                db.rollback()
                journal_refusal(
                    refused.reason,
                    profile.method,
                    profile.subject,
                    deduplicate=profile.method == HEADERS,
                )
                refused.journaled = True
                raise
            except IntegrityError:
                # Two first requests of the same person at once: the other created the account.
                db.rollback()
                if attempt == 2:
                    raise
    session.clear()
    login_user(user)
    session[SESSION_KEY] = {
        "method": profile.method,
        "subject": profile.subject,
        "return_url": profile.return_url,
    }
    log.info("Portal sign-in (%s) of %s as account %s", profile.method, profile.subject, user.id)
    return user


class RecentRefusals:
    """Refusals already journaled in the last minute: a client that repeats forged headers
    on every request is logged every time, journaled once a minute."""

    def __init__(self, seconds: float = 60, size: int = 1024):
        self._seen: OrderedDict[tuple, float] = OrderedDict()
        self._seconds = seconds
        self._size = size
        self._lock = threading.Lock()

    def first(self, key: tuple) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen < self._seconds:
                return False
            self._seen[key] = now
            self._seen.move_to_end(key)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


def journal_refusal(
    reason: str, method: str, subject: str | None, *, deduplicate: bool = False
) -> None:
    """Write a refused portal sign-in in the journal, in its own transaction."""
    origin = where()
    recent: RecentRefusals = current_app.extensions["imagin.sso_refusals"]
    if deduplicate and not recent.first((reason, origin.peer, subject)):
        return
    with _writing() as db:
        record(
            db,
            "refused",
            None,
            method=method,
            where=origin,
            at=clock.now(),
            subject=(subject or "")[:255] or None,
            reason=reason,
        )
        db.commit()


def refusal_response(refused: PortalRefused) -> Response:
    """The French page (or in-page alert under HTMX) that says why the portal sign-in failed."""
    message = refused.message
    if wants_fragment():
        body = render_template(
            "errors/_alert.html", title="Connexion refusée", message=message, code=refused.status
        )
    else:
        body = render_template(
            "auth/portal_refused.html",
            message=message,
            code=refused.status,
            settings=sso_settings(),
        )
    return current_app.make_response((body, refused.status))


def sign_in_from_headers() -> Response | None:
    """Before each request in headers mode: sign in the person the portal's proxy names.

    Identity headers from anywhere but a trusted proxy (or without the shared
    secret) are ignored: the request goes on as if they were absent, and the
    attempt is logged and journaled.
    """
    settings = sso_settings()
    if request.endpoint == "static" or not has_identity(request, settings):
        return None
    reason = untrusted_reason(request.environ, request.headers, settings)
    login = request.headers.get(settings.headers["login"], "")[:255]
    if reason is not None:
        log.warning("Portal identity headers ignored (%s) for %r from %s", reason, login, where())
        journal_refusal(reason, HEADERS, login, deduplicate=True)
        return None
    try:
        subject = subject_from_headers(request.headers, settings)
    except PortalRefused as refused:
        journal_refusal(refused.reason, HEADERS, login, deduplicate=True)
        return refusal_response(refused)
    if session.get(PAUSED_KEY) == subject and request.endpoint != "auth.portal":
        return None
    current = session.get(SESSION_KEY) or {}
    if (
        current.get("method") == HEADERS
        and current.get("subject") == subject
        and current_user.is_authenticated
    ):
        return None
    try:
        user = sign_in(profile_from_headers(request.headers, settings))
    except PortalRefused as refused:
        return refusal_response(refused)
    if request.method in UNSAFE_METHODS:
        from imagin.auth.views import home_url  # (views imports this module)

        # A form sent from the page of whoever was signed in before (a shared computer):
        # it must not be carried out for the person the portal names now.
        flash(
            f"Vous êtes maintenant connecté en tant que {user.display_name} : "
            "l'action demandée n'a pas été faite.",
            "info",
        )
        return redirect(home_url(user), 303)
    return None
