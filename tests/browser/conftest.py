"""Real Chromium against the real app served by waitress on a fresh database.

One browser for the whole session; one server (and database copy) per test
module; one browser context per test, closed after it. Without Chromium at
/usr/bin/chromium the whole directory is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator

import pytest
import waitress
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import text
from sqlalchemy.orm import Session

from imagin import clock, create_app
from imagin.db import Base, make_engine
from imagin.demo import DEMO_PASSWORD, load_demo
from imagin.storage import Storage
from tests.conftest import (
    CLAIRE,
    POSTGRES_URL,
    REFERENCE_TABLES,
    base_config,
    demo_keyring,
    uploads_of,
)
from tests.threaded_server import running

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
# Mission 621's tabs: (name, address).
TABS = [
    ("Suivi", "/missions/621/suivi"),
    ("Frais rémunération", "/missions/621/remuneration"),
    ("Frais déplacement", "/missions/621/deplacement"),
    ("Récapitulatif", "/missions/621/recapitulatif"),
]
# Playwright waits this long at most for anything (ms): the app answers in a few ms.
TIMEOUT_MS = 5000


def _fresh_database(template_database: str | None, folder, password_hash: str) -> str:
    """Like tests/conftest.py's ``database_url``, for a whole module."""
    if POSTGRES_URL:
        engine = make_engine(POSTGRES_URL)
        tables = [t.name for t in Base.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        with Session(engine) as session:
            load_demo(
                session,
                password_hash,
                clock.today(),
                storage=Storage(folder / "uploads"),
                keyring=demo_keyring(),
            )
        engine.dispose()
        return POSTGRES_URL
    assert template_database is not None
    path = folder / "imagin.db"
    shutil.copyfile(template_database, path)
    shutil.copytree(uploads_of(template_database), folder / "uploads")
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def live_app(template_database, demo_password_hash, tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    app = create_app(
        base_config(_fresh_database(template_database, folder, demo_password_hash), folder)
    )
    yield app
    app.extensions["imagin.engine"].dispose()


@pytest.fixture(scope="module")
def base_url(live_app) -> Iterator[str]:
    """The app served by waitress in a background thread, on a free port."""
    server = waitress.create_server(live_app, host="127.0.0.1", port=0, threads=4)
    with running(server):
        yield f"http://127.0.0.1:{server.effective_port}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser, base_url) -> Iterator[Callable[..., BrowserContext]]:
    """Open browser contexts (fresh cookies and cache), all closed after the test."""
    contexts: list[BrowserContext] = []

    def factory(**options) -> BrowserContext:
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(base_url=base_url, locale="fr-FR", **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()


class PageErrors:
    """Console errors (CSP violations among them) and uncaught exceptions of a page."""

    def __init__(self, page: Page):
        self.messages: list[str] = []
        page.on(
            "console",
            lambda m: m.type == "error" and self.messages.append(f"{m.text} {m.location}"),
        )
        page.on("pageerror", lambda e: self.messages.append(str(e)))


def open_page(new_context, **options) -> tuple[Page, PageErrors]:
    page = new_context(**options).new_page()
    return page, PageErrors(page)


def sign_in(page: Page, email: str = CLAIRE, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form and land on one's home: the missions, or the DEC's queue."""
    page.goto("/intervenant")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    if email == CLAIRE or email.startswith("paul"):
        expect(page).to_have_url(re.compile(r"/missions$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    elif email.startswith("chef."):
        expect(page).to_have_url(re.compile(r"/centre$"))
    else:
        expect(page).to_have_url(re.compile(r"/gestion$"))


@pytest.fixture
def fresh_621(live_app):
    """Mission 621's claim as the demo has it: nothing entered, both parts "Non validé"."""
    from sqlalchemy import delete, select, update

    from imagin.db import get_db
    from imagin.models import AuditEvent, Claim, Expense, HoursLine, Mission, TravelLeg

    with live_app.app_context():
        db = get_db()
        mission_id = db.scalar(select(Mission.id).where(Mission.number == 621))
        claim_id = db.scalar(select(Claim.id).where(Claim.mission_id == mission_id))
        for lines in (HoursLine, TravelLeg, Expense):
            db.execute(delete(lines).where(lines.claim_id == claim_id))
        db.execute(
            delete(AuditEvent).where(
                AuditEvent.mission_id == mission_id, AuditEvent.action != "convocation"
            )
        )
        db.execute(
            update(Claim)
            .where(Claim.id == claim_id)
            .values(
                pay_status="non_valide",
                travel_status="non_valide",
                done=None,
                candidates=None,
                pay_amount_cents=None,
                travel_amount_cents=None,
                validated_at=None,
                validated_by_id=None,
                version=Claim.version + 1,
            )
        )
        db.execute(
            update(Mission)
            .where(Mission.id == mission_id)
            .values(
                service_fait="a_certifier",
                service_fait_at=None,
                service_fait_by_id=None,
                service_fait_reason=None,
            )
        )
        db.commit()
