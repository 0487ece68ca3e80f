"""Who is signed in: what every signed-in request needs, read in one column query.

The account is read again on every request (signing out or deactivating an account
takes effect at once: no cache), so that read is the floor of every signed-in page.
It runs the statement compiled once for the engine on the request's pooled connection for
reads, outside any transaction and without an ORM Session (``imagin.db.Reads``): an ORM
Session, its transaction (BEGIN, ROLLBACK) and the statement's compilation cost 30 times
the indexed SELECT itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from imagin.db import read_all
from imagin.models import User

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
    found = read_all(_BY_SESSION_TOKEN, {"session_token": session_token})
    return SignedInUser(*found[0]) if found else None
