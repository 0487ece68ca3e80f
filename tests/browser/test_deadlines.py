"""A claim past its closing date in real browsers (issue 16, item 2): read-only for Claire with
why and whom to ask, on a 360 px phone, JavaScript on and off; the DEC reopens it with a
reason and a new date; Claire can enter again."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from imagin import clock
from imagin.db import get_db
from imagin.models import Claim, ExamSession, Mission
from tests.browser.conftest import DESKTOP, PHONE, open_page, sign_in
from tests.conftest import GESTIONNAIRE

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def closed_621(live_app, fresh_621):
    """Mission 621 waiting for Claire, its session closed yesterday, never reopened."""
    yesterday = clock.today() - dt.timedelta(days=1)
    with live_app.app_context():
        db = get_db()
        session_id = db.scalar(select(Mission.session_id).where(Mission.number == 621))
        db.execute(
            update(ExamSession)
            .where(ExamSession.id == session_id)
            .values(entries_close_on=yesterday)
        )
        db.execute(
            update(Claim)
            .where(
                Claim.mission_id
                == select(Mission.id).where(Mission.number == 621).scalar_subquery()
            )
            .values(reopened_until=None)
        )
        db.commit()
    yield yesterday
    with live_app.app_context():
        db = get_db()
        db.execute(update(ExamSession).values(entries_close_on=None))
        db.execute(update(Claim).values(reopened_until=None))
        db.commit()


def shot(page, name: str) -> None:
    if os.environ.get("IMAGIN_SCREENSHOTS"):
        SHOTS.mkdir(exist_ok=True)
        width = page.viewport_size["width"]
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_closed_claim_is_read_only_then_reopened_by_the_dec(new_context, closed_621, javascript):
    claire, errors = open_page(new_context, viewport=PHONE, java_script_enabled=javascript)
    sign_in(claire)
    claire.goto("/missions/621/remuneration")
    notice = claire.locator("#deadline-closed")
    expect(notice).to_contain_text(
        f"La saisie des états de frais de cette session est close depuis le {closed_621:%d/%m/%Y}"
    )
    expect(notice).to_contain_text("Pour le faire rouvrir, contactez")
    expect(claire.get_by_label("Nombre de candidats examinés")).to_have_count(0)
    expect(claire.get_by_role("button", name="Enregistrer")).to_have_count(0)
    # The notice fits the phone: no sideways scrolling.
    assert claire.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(claire, f"deadline-closed-{'js' if javascript else 'nojs'}")
    claire.goto("/missions/621/recapitulatif")
    expect(claire.locator("#deadline-closed")).to_be_visible()
    expect(claire.get_by_role("button", name="Valider mon état de frais")).to_have_count(0)

    dec, dec_errors = open_page(
        new_context, viewport=PHONE if not javascript else DESKTOP, java_script_enabled=javascript
    )
    sign_in(dec, GESTIONNAIRE)
    dec.goto("/gestion/missions/621")
    section = dec.locator("#cloture")
    expect(section).to_contain_text(f"{closed_621:%d/%m/%Y} inclus : close")
    section.get_by_role("button", name="Rouvrir à l'intervenant").click()
    expect(dec.get_by_text("Indiquez le motif de la réouverture.")).to_be_visible()
    expect(dec.get_by_text("Indiquez la nouvelle date de clôture (jj/mm/aaaa).")).to_be_visible()
    new_date = clock.today() + dt.timedelta(days=7)
    section = dec.locator("#cloture")
    section.get_by_label("Motif de la réouverture").fill("Arrêt maladie en août")
    section.get_by_label("Nouvelle date de clôture").fill(new_date.isoformat())
    shot(dec, f"deadline-reopen-{'js' if javascript else 'nojs'}")
    section.get_by_role("button", name="Rouvrir à l'intervenant").click()
    expect(dec.get_by_text(f"rouvert à l'intervenant jusqu'au {new_date:%d/%m/%Y}")).to_be_visible()
    expect(dec.locator("#cloture")).to_contain_text("Rouvert par la DEC jusqu'au")
    expect(dec.get_by_text("Saisie rouverte par la DEC après la date de clôture")).to_be_visible()

    claire.goto("/missions/621/remuneration")
    expect(claire.locator("#deadline-closed")).to_have_count(0)
    expect(claire.get_by_text(f"À valider avant le {new_date:%d/%m/%Y}")).to_be_visible()
    claire.get_by_label("Oui").check()
    claire.get_by_label("Nombre de candidats examinés").fill("8")
    claire.get_by_label("Début").fill("09:00")
    claire.get_by_label("Fin").fill("12:00")
    claire.get_by_role("button", name="Enregistrer").click()
    if javascript:
        expect(claire.get_by_role("status")).to_contain_text("Enregistré à")
    else:
        expect(claire.get_by_label("Nombre de candidats examinés")).to_have_value("8")
    # The refused reopening answered 422 on purpose: the browser logs it; nothing else.
    assert errors.messages == []
    assert [m for m in dec_errors.messages if "status of 422" not in m] == []
