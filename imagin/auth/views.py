"""Sign-in at /intervenant, sign-out, and the loading of the signed-in user."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from imagin.auth.forms import LoginForm
from imagin.auth.passwords import hash_password, needs_rehash, verify_password
from imagin.auth.throttle import is_throttled, record_failure
from imagin.db import get_db
from imagin.extensions import login_manager
from imagin.models import User
from imagin.rendering import render_page

bp = Blueprint("auth", __name__)

BAD_CREDENTIALS = "Adresse électronique ou mot de passe incorrect."


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    """Find the user whose current session token the cookie carries."""
    return get_db().scalar(
        select(User).where(User.session_token == session_token, User.active.is_(True))
    )


def home_url(user: User) -> str:
    """Where a user starts: the DEC's queue for gestionnaires, their missions for others."""
    if user.role in ("gestionnaire", "admin"):
        return url_for("manage.index")
    return url_for("missions.index")


def safe_next(target: str | None, user: User) -> str:
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
def login():
    """Show the sign-in form and sign the user in."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_url(current_user))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        if is_throttled():
            abort(429)
        db = get_db()
        email = form.email.data.strip()
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
        record_failure()
        error = BAD_CREDENTIALS
    status = 422 if request.method == "POST" else 200
    return render_page(
        "auth/login.html", form=form, error=error, next=request.args.get("next"), status=status
    )


@bp.post("/deconnexion")
def logout():
    """Sign out, and make every earlier session cookie of the account useless."""
    if current_user.is_authenticated:
        db = get_db()
        user = db.get(User, current_user.id)
        user.rotate_session_token()
        db.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), 303)
