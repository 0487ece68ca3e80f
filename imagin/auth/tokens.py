"""Signed links to choose a password: first sign-in of an imported intervenant, or a forgotten one.

A link carries the user's id and the start of their session token. Choosing a
password rotates that token, so a link works once; signing out anywhere also
ends it, which errs on the safe side.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from imagin.models import User

SALT = "imagin-password-link"
TOKEN_PREFIX = 16


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def password_token(user: User) -> str:
    return _serializer().dumps([user.id, user.session_token[:TOKEN_PREFIX]])


def user_for_token(db: Session, token: str) -> User | None:
    """The active user a still-valid link was made for, else None."""
    try:
        user_id, prefix = _serializer().loads(
            token, max_age=current_app.config["ACCOUNT_LINK_MAX_AGE"]
        )
    except (BadData, ValueError, TypeError):
        return None
    user = db.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or user.session_token[:TOKEN_PREFIX] != prefix:
        return None
    return user
