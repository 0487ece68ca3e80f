"""Fixtures: a real database per test (SQLite file, or PostgreSQL when
IMAGIN_TEST_DATABASE_URL is set), loaded with the demo data."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, text

from imagin import clock, create_app
from imagin.auth.passwords import hash_password
from imagin.db import Base, get_db, make_engine
from imagin.demo import DEMO_PASSWORD, load_demo
from imagin.migrations import upgrade
from imagin.storage import Storage

POSTGRES_URL = os.environ.get("IMAGIN_TEST_DATABASE_URL")
# Reference data loaded by the migration, kept between tests.
REFERENCE_TABLES = {"rate", "alembic_version"}

CLAIRE = "claire.martin@example.fr"
PAUL = "paul.durand@example.fr"
GESTIONNAIRE = "dec.orleans@example.fr"
# The data key of the tests (IBAN, BIC, NIR): fixed, so the template database's
# demo dossier decrypts in every test's app.
TEST_DATA_KEY = "dGVzdC1kYXRhLWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="


def base_config(database_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": database_url,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "IMPORT_DIR": str(tmp_path / "imports"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "DATA_KEY": TEST_DATA_KEY,
    }


@pytest.fixture(scope="session")
def demo_password_hash() -> str:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    with app.app_context():
        return hash_password(DEMO_PASSWORD)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory, demo_password_hash) -> str | None:
    """A migrated SQLite file with the demo data, copied for each test."""
    if POSTGRES_URL:
        engine = make_engine(POSTGRES_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        engine.dispose()
        return None
    path = tmp_path_factory.mktemp("template") / "imagin.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        # The demo's documents, beside the file: copied with it for each test.
        load_demo(
            session,
            demo_password_hash,
            clock.today(),
            storage=Storage(uploads_of(path)),
            keyring=demo_keyring(),
        )
    # Closing the last connection checkpoints the WAL into the file we copy.
    engine.dispose()
    assert not path.with_name("imagin.db-wal").exists()
    return str(path)


@pytest.fixture
def database_url(template_database, tmp_path, demo_password_hash) -> str:
    if POSTGRES_URL:
        engine = make_engine(POSTGRES_URL)
        tables = [t.name for t in Base.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            load_demo(
                session,
                demo_password_hash,
                clock.today(),
                storage=Storage(tmp_path / "uploads"),
                keyring=demo_keyring(),
            )
        engine.dispose()
        return POSTGRES_URL
    path = tmp_path / "imagin.db"
    shutil.copyfile(template_database, path)
    shutil.copytree(uploads_of(template_database), tmp_path / "uploads")
    return f"sqlite:///{path}"


def demo_keyring():
    from imagin.crypto import keyring_from_config

    return keyring_from_config(TEST_DATA_KEY, Path("/nonexistent"))


def uploads_of(database_path) -> Path:
    """Where the demo's documents of a template database are kept: beside it."""
    return Path(database_path).with_name("uploads")


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(base_config(database_url, tmp_path))
    yield app
    app.extensions["imagin.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self._client = client
        self.token: str | None = None

    def login(self, email: str = CLAIRE, password: str = DEMO_PASSWORD, next: str | None = None):
        url = "/intervenant" + (f"?next={next}" if next else "")
        token = csrf_from(self._client.get("/intervenant").get_data(as_text=True))
        response = self._client.post(
            url, data={"csrf_token": token, "email": email, "password": password}
        )
        if response.status_code == 303:
            page = self._client.get("/missions").get_data(as_text=True)
            self.token = csrf_from(page)
        return response

    def logout(self):
        return self._client.post("/deconnexion", data={"csrf_token": self.token})


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def signed_in(client, auth):
    """A client signed in as Claire, the owner of mission 621."""
    auth.login()
    return client


def plain(html: str) -> str:
    """Babel's no-break spaces and Jinja's escaped apostrophe as typed, for readable asserts."""
    return html.replace("\xa0", " ").replace("\u202f", " ").replace("&#39;", "'")


@contextmanager
def count_queries(app) -> Iterator[list[str]]:
    """Collect the SQL statements run while the block executes."""
    statements: list[str] = []
    engine = app.extensions["imagin.engine"]

    def before(_conn, _cursor, statement, *_args):
        if not statement.startswith(("PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@contextmanager
def database(app):
    """A session outside any request, closed on exit (never shared with a request)."""
    with app.app_context():
        yield get_db()


def add_missions(app, owner: str, count: int, *, first_number: int, claim=None, day=None) -> None:
    """Add ``count`` missions to ``owner`` like mission 621, one a day from ``day``.

    ``claim(n)`` gives the n-th mission's Claim (an empty one by default).
    """
    import datetime as dt

    from sqlalchemy import select

    from imagin.models import Claim, Mission, MissionDay, User

    start = day or dt.date(2021, 1, 1)
    with database(app) as db:
        model = db.scalar(select(Mission).where(Mission.number == 621))
        user = db.scalar(select(User).where(User.email == owner))
        for n in range(count):
            on = start + dt.timedelta(days=n)
            db.add(
                Mission(
                    number=first_number + n,
                    intervenant=user,
                    exam_id=model.exam_id,
                    session_id=model.session_id,
                    mission_type_id=model.mission_type_id,
                    centre_id=model.centre_id,
                    bureau_id=model.bureau_id,
                    starts_on=on,
                    ends_on=on,
                    days=[MissionDay(day=on, start_time=dt.time(9))],
                    claim=claim(n) if claim else Claim(),
                )
            )
        db.commit()


def send_outbox(app) -> None:
    """Do what the background sender does: try every message waiting, now."""
    from imagin.mail import send_batch

    with app.app_context(), app.extensions["imagin.sessionmaker"]() as db:
        while send_batch(app, db, due_only=False).sent:
            pass
