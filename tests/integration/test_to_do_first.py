"""The mission list opens on what needs the intervenant (issue 16, item 3): parts to fill,
to correct or to validate, soonest closing date first, counted in the page title; then the
rest, newest first; in the same number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from imagin import clock
from imagin.domain.status import PartStatus as S
from imagin.models import Claim, ExamSession, Mission
from tests.conftest import CLAIRE, add_missions, count_queries, database, plain


def row_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'aria-label="Mission N° (\d+)"', html)]


def statuses(app) -> dict[int, tuple[str, str, dt.date]]:
    with database(app) as db:
        return {
            number: (pay, travel, ends_on)
            for number, pay, travel, ends_on in db.execute(
                select(Mission.number, Claim.pay_status, Claim.travel_status, Mission.ends_on)
                .join(Mission.claim)
                .join(Mission.intervenant)
            )
        }


def waits(pay: str, travel: str, ends_on: dt.date, today: dt.date) -> bool:
    parts = (S(pay), S(travel))
    return S.TO_CORRECT in parts or (S.NOT_VALIDATED in parts and ends_on < today)


def test_to_do_first_then_the_rest_newest_first_with_a_count_in_the_title(app, signed_in):
    html = plain(signed_in.get("/missions").get_data(as_text=True))
    numbers = row_numbers(html)
    today = clock.today()
    known = statuses(app)
    flags = [waits(*known[n], today) for n in numbers]
    to_do = flags.count(True)
    assert to_do >= 2  # the demo: 621 to validate, 1004 to correct
    assert flags == [True] * to_do + [False] * (len(numbers) - to_do)
    assert f"<title>({to_do} à faire) Mes missions" in html
    assert f" — <strong>{to_do} à faire</strong>, en premier" in html
    rest = numbers[to_do:]
    with database(app) as db:
        starts = {n: day for n, day in db.execute(select(Mission.number, Mission.starts_on))}
    assert [starts[n] for n in rest] == sorted((starts[n] for n in rest), reverse=True)


def test_the_soonest_closing_date_comes_first_and_is_shown(app, signed_in):
    today = clock.today()
    # Mission 1004 (À corriger) in a session closing in 5 days; 621's in 40 days.
    with database(app) as db:
        for number, days in ((621, 40), (1004, 5)):
            session_id = db.scalar(select(Mission.session_id).where(Mission.number == number))
            db.execute(
                update(ExamSession)
                .where(ExamSession.id == session_id)
                .values(entries_close_on=today + dt.timedelta(days=days))
            )
        db.commit()
    html = plain(signed_in.get("/missions").get_data(as_text=True))
    numbers = row_numbers(html)
    assert numbers.index(1004) < numbers.index(621)
    soon = today + dt.timedelta(days=5)
    assert f"À valider avant le {soon:%d/%m/%Y}" in html


def test_a_claim_past_its_closing_date_is_no_longer_to_do(app, signed_in):
    with database(app) as db:
        session_id = db.scalar(select(Mission.session_id).where(Mission.number == 621))
        db.execute(
            update(ExamSession)
            .where(ExamSession.id == session_id)
            .values(entries_close_on=clock.today() - dt.timedelta(days=1))
        )
        db.commit()
    html = plain(signed_in.get("/missions").get_data(as_text=True))
    numbers = row_numbers(html)
    to_do = int(re.search(r"<title>\((\d+) à faire\)", html).group(1))
    assert "Saisie close le" in html
    # Its intervenant can do nothing more with it: not among the rows to do any more.
    assert 621 in numbers[to_do:]


def test_the_list_queries_do_not_grow_with_the_rows(app, signed_in):
    with count_queries(app) as few:
        signed_in.get("/missions")
    add_missions(app, CLAIRE, 40, first_number=95000, day=dt.date(2021, 3, 1))
    with count_queries(app) as many:
        html = signed_in.get("/missions").get_data(as_text=True)
    assert len(many) == len(few)
    assert "(4" in html.split("</title>")[0]  # 40 more ended missions to validate, counted
