"""Who is signed in: what every signed-in request needs, read in one column query.

The account is read again on every request (signing out or deactivating an account
takes effect at once: no cache), so that read is the floor of every signed-in page.
It runs the statement compiled once for the engine on a pooled connection, outside any
transaction and without an ORM Session: an ORM Session, its transaction (BEGIN,
ROLLBACK) and the statement's compilation cost 30 times the indexed SELECT itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from imagin.db import get_db
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


class AccountReader:
    """Reads the signed-in account with the SQL compiled once for ``engine``'s dialect."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        compiled = _BY_SESSION_TOKEN.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self.positional = compiled.positional
        # A pool that hands every checkout the same connection (in-memory SQLite) would
        # roll back the request's own transaction when the raw connection is returned.
        self.shared = isinstance(engine.pool, (SingletonThreadPool, StaticPool))
        # psycopg starts a transaction with the first statement unless in autocommit.
        self.autocommit = engine.dialect.name == "postgresql"

    def __call__(self, session_token: str) -> SignedInUser | None:
        if self.shared:
            row = get_db().connection().execute(_BY_SESSION_TOKEN, {"session_token": session_token})
            found = row.first()
            return SignedInUser(*found) if found else None
        params = (session_token,) if self.positional else {"session_token": session_token}
        connection = self.engine.raw_connection()
        try:
            driver = connection.driver_connection
            if self.autocommit:
                driver.autocommit = True  # type: ignore[union-attr]
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(self.sql, params)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            finally:
                if self.autocommit and not driver.closed:  # type: ignore[union-attr]
                    driver.autocommit = False  # type: ignore[union-attr]
        finally:
            connection.close()  # back to the pool
        return SignedInUser(*row) if row else None


def load_signed_in_user(session_token: str) -> SignedInUser | None:
    """The active account whose current session token the cookie carries, if any."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions["imagin.account_reader"](session_token)


def init_app(app) -> None:
    app.extensions["imagin.account_reader"] = AccountReader(app.extensions["imagin.engine"])
