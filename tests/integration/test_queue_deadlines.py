"""The DEC queue opens on what waits for the DEC, the longest waiting first, and shows and
filters each claim's closing date for entries (issue 16, item 3, DEC side)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from imagin import clock
from imagin.demo import session_closing_dates
from imagin.domain.deadlines import Deadline
from imagin.models import Bureau, Claim, ExamSession, Mission
from tests.builders import certify_service_fait, validate
from tests.conftest import CLAIRE, GESTIONNAIRE, AuthActions, database, plain

ROW = re.compile(r'aria-label="Mission N° (\d+)"')


@pytest.fixture
def manager(client, auth):
    auth.login(GESTIONNAIRE)
    return client


def numbers(html: str) -> list[int]:
    return [int(n) for n in ROW.findall(html)]


def total(html: str) -> int:
    return int(re.search(r'class="results__count"[^>]*>(\d+) état\(s\) de frais', html).group(1))


def cell(html: str, number: int, label: str) -> str:
    """The text of one cell of the queue's row of ``number``."""
    row = re.search(rf'Mission N° {number}".*?</tr>', html, re.S).group(0)
    return re.search(rf'data-label="{label}">(.*?)</td>', row, re.S).group(1)


def dec2_windows(app, today: dt.date) -> dict[int, tuple[bool, tuple[str, str]]]:
    """Each DEC2 mission: whether its entries are closed today, and its stored statuses."""
    with database(app) as db:
        rows = db.execute(
            select(
                Mission.number,
                ExamSession.entries_close_on,
                Claim.reopened_until,
                Claim.pay_status,
                Claim.travel_status,
                Mission.ends_on,
            )
            .join(Mission.claim)
            .join(Mission.session)
            .join(Bureau, Bureau.id == Mission.bureau_id)
            .where(Bureau.code == "DEC2")
        ).all()
    return {
        number: (Deadline(closes, reopened).passed(today), (pay, travel), ends_on)
        for number, closes, reopened, pay, travel, ends_on in rows
    }


def shows(status: str, statuses: tuple[str, str], ends_on: dt.date, today: dt.date) -> bool:
    """Whether the status filter keeps a claim ("en cours": not validated, not yet ended)."""
    if status == "":
        return True
    if status == "en_cours":
        return "non_valide" in statuses and ends_on >= today
    if status == "non_valide":
        return status in statuses and ends_on < today
    return status in statuses


def test_the_demo_shows_closing_dates_in_the_queue(app, manager):
    today = clock.today()
    dates = session_closing_dates(today)
    html = plain(manager.get("/gestion").get_data(as_text=True))
    assert '<th scope="col">Clôture</th>' in html
    # March 2026 is closed; December 2026 still open; 2022 has no closing date.
    assert (
        cell(html, 1150, "Clôture")
        == f'{dates["2026-03"]:%d/%m/%Y} <span class="muted">(close)</span>'
    )
    assert cell(html, 1201, "Clôture") == f"{dates['2026-12']:%d/%m/%Y}"
    assert cell(html, 621, "Clôture") == "—"
    assert cell(html, 621, "Service fait") == "À certifier"
    assert dates["2026-03"] < today < dates["2026-12"]


def test_what_waits_for_the_dec_comes_first_the_longest_waiting_first(app, manager):
    claire = app.test_client()
    AuthActions(claire).login(CLAIRE)
    assert validate(app, claire).status_code == 303
    certify_service_fait(app, 621)
    with database(app) as db:
        waiting = db.execute(
            select(Mission.number, Claim.validated_at)
            .join(Mission.claim)
            .join(Bureau, Bureau.id == Mission.bureau_id)
            .where(Bureau.code == "DEC2")
            .where((Claim.pay_status == "valide") | (Claim.travel_status == "valide"))
        ).all()
    expected = [number for number, _ in sorted(waiting, key=lambda row: row[1])]
    assert 621 in expected and len(expected) >= 3
    html = plain(manager.get("/gestion").get_data(as_text=True))
    assert numbers(html)[: len(expected)] == expected
    assert expected[-1] == 621  # validated just now: it has waited the least
    assert f"dont <strong>{len(expected)} à valider par la DEC</strong>, les plus anciens" in html
    title = plain(manager.get("/gestion?status=non_valide").get_data(as_text=True))
    assert "à valider par la DEC" not in title


def test_the_closing_filter_lists_and_counts_exactly_the_closed_or_open_claims(app, manager):
    """Against each claim's own date: the session's, or the DEC's reopening, which
    claim_count does not know (its totals are corrected by the reopened claims)."""
    today = clock.today()
    with database(app) as db:
        ids = {m.number: m.id for m in db.scalars(select(Mission))}
        # 621's session closed yesterday, but the DEC reopened 621 and 640 until next week;
        # 1201's session is open, but its own reopening ended yesterday.
        session_2022 = db.scalar(select(Mission.session_id).where(Mission.id == ids[621]))
        db.execute(
            update(ExamSession)
            .where(ExamSession.id == session_2022)
            .values(entries_close_on=today - dt.timedelta(days=1))
        )
        db.execute(
            update(Claim)
            .where(Claim.mission_id.in_([ids[621], ids[640]]))
            .values(reopened_until=today + dt.timedelta(days=7))
        )
        db.execute(
            update(Claim)
            .where(Claim.mission_id == ids[1201])
            .values(reopened_until=today - dt.timedelta(days=1))
        )
        db.commit()
    windows = dec2_windows(app, today)
    assert not windows[621][0] and not windows[640][0] and windows[1201][0] and windows[1150][0]
    for status in ("", "valide", "non_valide", "en_cours"):
        for window, closed in (("close", True), ("ouverte", False)):
            html = manager.get(f"/gestion?entries={window}&status={status}").get_data(as_text=True)

            expected = {
                number
                for number, (is_closed, statuses, ends_on) in windows.items()
                if is_closed is closed and shows(status, statuses, ends_on, today)
            }
            assert set(numbers(html)) == expected, (window, status)
            assert total(html) == len(expected), (window, status)
    closed = manager.get("/gestion?entries=close").get_data(as_text=True)
    assert {1201, 1150} <= set(numbers(closed)) and not {621, 640} & set(numbers(closed))


def test_an_unknown_closing_filter_value_is_ignored(manager):
    everything = manager.get("/gestion").get_data(as_text=True)
    response = manager.get("/gestion?entries=bientot")
    assert response.status_code == 200
    assert total(response.get_data(as_text=True)) == total(everything)


def test_the_demo_has_a_claim_to_validate_soon_and_one_the_dec_can_reopen(app):
    dates = session_closing_dates(clock.today())

    def signed_in(email):
        client = app.test_client()
        assert AuthActions(client).login(email).status_code == 303
        return client

    listing = plain(signed_in(CLAIRE).get("/missions").get_data(as_text=True))
    assert f"À valider avant le {dates['2026-12']:%d/%m/%Y}" in listing
    lucie = signed_in("lucie.petit@example.fr")
    closed = plain(lucie.get("/missions/1150/remuneration").get_data(as_text=True))
    assert f"close depuis le {dates['2026-03']:%d/%m/%Y}" in closed
    review = plain(signed_in(GESTIONNAIRE).get("/gestion/missions/1150").get_data(as_text=True))
    assert "Rouvrir à l'intervenant" in review
