"""Who is signed in: what every signed-in request needs, read in one column query."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from imagin.db import get_db
from imagin.models import User

# Built once: every signed-in request runs it, and a full ORM load of the account
# (identity map, every column) cost more than the rest of a short page.
_BY_SESSION_TOKEN = select(
    User.id, User.role, User.first_name, User.last_name, User.email, User.session_token
).where(User.session_token == bindparam("session_token"), User.active.is_(True))


@dataclass(frozen=True)
class SignedInUser:
    """The signed-in account as Flask-Login's ``current_user``; load ``User`` to change it."""

    id: int
    role: str
    first_name: str
    last_name: str
    email: str
    session_token: str

    is_authenticated = True
    is_active = True  # only active accounts are loaded
    is_anonymous = False

    @property
    def display_name(self) -> str:
        return User.name_for(self.first_name, self.last_name, self.email)

    def get_id(self) -> str:
        return self.session_token


def load_signed_in_user(session_token: str) -> SignedInUser | None:
    """The active account whose current session token the cookie carries, if any."""
    # Core rows on the session's connection: the ORM layer would only add work here.
    row = get_db().connection().execute(_BY_SESSION_TOKEN, {"session_token": session_token}).first()
    return SignedInUser(*row) if row else None
