"""Sign-in at /intervenant and through the académie portal, sign-out, the signed-in user."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from imagin.auth import oidc
from imagin.auth.forms import LoginForm, NewPasswordForm, PasswordLinkForm
from imagin.auth.identities import PortalRefused
from imagin.auth.passwords import hash_password, needs_rehash, verify_password
from imagin.auth.portal import (
    PAUSED_KEY,
    SESSION_KEY,
    journal_refusal,
    refusal_response,
    sign_in,
    signs_in_with_portal,
    sso_settings,
)
from imagin.auth.signed_in import SignedInUser, load_signed_in_user
from imagin.auth.throttle import password_link_allowed, record_failure, refuse_sign_in
from imagin.auth.tokens import user_for_token
from imagin.db import get_db
from imagin.domain.roles import MANAGERS, Role
from imagin.extensions import login_manager
from imagin.forms import keeps_typed_values
from imagin.mail import wake_sender_after_commit
from imagin.models import PasswordLinkRequest, User
from imagin.models.identities import HEADERS, OIDC
from imagin.rendering import render_page

bp = Blueprint("auth", __name__)

BAD_CREDENTIALS = "Adresse électronique ou mot de passe incorrect."
# The page to come back to after signing in at the OpenID provider.
NEXT_KEY = "portal_next"
# Where a portal user goes on to after signing out (see signed_out).
SIGNED_OUT_KEY = "signed_out_to"
SIGNED_OUT = "Vous êtes déconnecté(e). À bientôt sur IMAG'IN."


login_manager.user_loader(load_signed_in_user)


def home_url(user: User | SignedInUser) -> str:
    """Where a user starts: the DEC's queue for gestionnaires, the service fait to certify
    for chefs de centre, their missions for others."""
    if user.role in MANAGERS:
        return url_for("manage.index")
    if user.role == Role.CHEF_CENTRE:
        return url_for("centre.index")
    return url_for("missions.index")


def safe_next(target: str | None, user: User | SignedInUser) -> str:
    """Where to go after sign-in: only ever a path inside this site."""
    default = home_url(user)
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.get("/")
def root():
    """Send visitors to their missions, or to sign in."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/intervenant", methods=["GET", "POST"])
@keeps_typed_values
def login():
    """Show the sign-in form and sign the user in."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_url(current_user))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        email = form.email.data.strip()
        refuse_sign_in(email)
        db = get_db()
        user = db.scalar(select(User).where(func.lower(User.email) == email.lower()))
        password_hash = user.password_hash if user and user.active else None
        if verify_password(password_hash, form.password.data):
            if needs_rehash(password_hash):
                user.password_hash = hash_password(form.password.data)
                db.commit()
            # A fresh session: nothing from before sign-in is carried over.
            session.clear()
            login_user(user)
            return redirect(safe_next(request.args.get("next"), user), 303)
        record_failure(email)
        error = BAD_CREDENTIALS
    status = 422 if request.method == "POST" else 200
    return render_page(
        "auth/login.html",
        form=form,
        error=error,
        next=request.args.get("next"),
        portal=sso_settings().enabled,
        status=status,
    )


@bp.get("/portail")
def portal():
    """Sign in through the académie portal: done already through its proxy, or at the provider."""
    settings = sso_settings()
    if not settings.enabled:
        abort(404)
    target = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(safe_next(target, current_user), 303)
    if settings.mode == HEADERS:
        # The portal's proxy did not name anyone: this visitor did not come through it.
        if settings.portal_url:
            return redirect(settings.portal_url, 303)
        return render_page("auth/portal.html")
    session[NEXT_KEY] = target
    try:
        return oidc.start()
    except PortalRefused as refused:
        journal_refusal(refused.reason, OIDC, None, deduplicate=True)
        return refusal_response(refused)


@bp.get("/portail/retour")
def oidc_callback():
    """The OpenID provider's answer: check everything in it, then sign in."""
    settings = sso_settings()
    if settings.mode != OIDC:
        abort(404)
    target = session.get(NEXT_KEY)
    try:
        user = sign_in(oidc.finish(settings))
    except PortalRefused as refused:
        if not refused.journaled:
            # A forged answer costs nothing to send: journaled once a minute per address.
            journal_refusal(refused.reason, OIDC, None, deduplicate=refused.reason == "state")
        return refusal_response(refused)
    return redirect(safe_next(target, user), 303)


@bp.post("/deconnexion")
def logout():
    """Sign out, make every earlier session cookie of the account useless, back to the portal."""
    portal_session = session.get(SESSION_KEY)
    if current_user.is_authenticated:
        db = get_db()
        user = db.get(User, current_user.id)
        user.rotate_session_token()
        db.commit()
    logout_user()
    session.clear()
    if portal_session and portal_session.get("method") == HEADERS:
        session[PAUSED_KEY] = portal_session.get("subject")
    target = _after_sign_out(portal_session)
    if target is None:
        flash(SIGNED_OUT, "success")
        return redirect(url_for("auth.login"), 303)
    # The sign-out form may only lead to this site (CSP form-action 'self'): the portal's
    # address is reached from a page of ours.
    session[SIGNED_OUT_KEY] = target
    return redirect(url_for("auth.signed_out"), 303)


@bp.get("/au-revoir")
def signed_out():
    """Signed out of a portal session: on to the portal (at once, or by the link shown)."""
    target = session.pop(SIGNED_OUT_KEY, None)
    if not target:
        return redirect(url_for("auth.login"))
    return render_page("auth/signed_out.html", target=target)


def _after_sign_out(portal_session: dict | None) -> str | None:
    """The portal for its users: its FrEduUrlRetour, the provider's end of session, or the
    configured address; None for the others (the sign-in page)."""
    settings = sso_settings()
    if not portal_session or not settings.enabled:
        return None
    if portal_session.get("method") == HEADERS:
        return portal_session.get("return_url") or settings.logout_url
    if settings.mode == OIDC:
        back = settings.logout_url or url_for("auth.login", _external=True)
        return oidc.end_session_url(back) or settings.logout_url
    return settings.logout_url


LINK_SENT = (
    "Si un compte existe pour cette adresse, un message contenant un lien pour choisir votre "
    "mot de passe vient de lui être envoyé. Le lien est valable 7 jours."
)
LINK_EXPIRED = (
    "Ce lien n'est plus valable (déjà utilisé, expiré ou incomplet). Demandez-en un nouveau "
    "ci-dessous."
)


@bp.route("/intervenant/mot-de-passe", methods=["GET", "POST"])
@keeps_typed_values
def password_link():
    """Send a link to choose a password (first sign-in or forgotten password)."""
    form = PasswordLinkForm()
    if form.validate_on_submit():
        email = form.email.data.strip()
        if not password_link_allowed(email):
            abort(429)
        # Only the request is stored, the same for every address: the background
        # sender looks the account up. The answer, and its time, say nothing.
        db = get_db()
        db.add(PasswordLinkRequest(email=email))
        wake_sender_after_commit(db)
        db.commit()
        flash(LINK_SENT, "success")
        return redirect(url_for("auth.login"), 303)
    status = 422 if request.method == "POST" else 200
    return render_page("auth/password_link.html", form=form, status=status)


@bp.route("/intervenant/mot-de-passe/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Choose a password from a signed link, then sign in."""
    db = get_db()
    user = user_for_token(db, token)
    if user is None or signs_in_with_portal(db, user.id):
        return render_page(
            "auth/password_link.html", form=PasswordLinkForm(), expired=LINK_EXPIRED, status=400
        )
    form = NewPasswordForm()
    if form.validate_on_submit():
        user.password_hash = hash_password(form.password.data)
        # Ends every other session of the account, and this link with them.
        user.rotate_session_token()
        db.commit()
        session.clear()
        login_user(user)
        flash("Votre mot de passe est enregistré.", "success")
        return redirect(home_url(user), 303)
    status = 422 if request.method == "POST" else 200
    return render_page("auth/set_password.html", form=form, user=user, status=status)
