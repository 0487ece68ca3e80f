"""Closing dates of entries (issue 16, item 2): "À valider avant le …", a claim past its date
read-only for the intervenant with every write refused in French (never a 500), the DEC's
reopening, and the reminders 14 and 3 days before, each queued exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from imagin import clock
from imagin.models import AuditEvent, Claim, ExamSession, Mission, OutgoingMail
from imagin.worker import send_deadline_reminders
from tests.builders import LEG_621, PAY_621, claim_of, documents, jpeg, post_leg, send, token
from tests.conftest import CLAIRE, GESTIONNAIRE, PAUL, AuthActions, csrf_from, database, plain

CLOSED = (
    "La saisie des états de frais de cette session est close depuis le {date} : vous ne "
    "pouvez plus modifier ni valider cet état de frais. Pour le faire rouvrir, contactez"
)


def close_session_of(app, number: int, on: dt.date) -> None:
    with database(app) as db:
        session_id = db.scalar(select(Mission.session_id).where(Mission.number == number))
        db.execute(
            update(ExamSession).where(ExamSession.id == session_id).values(entries_close_on=on)
        )
        db.commit()


def days_from_today(days: int) -> dt.date:
    return clock.today() + dt.timedelta(days=days)


def mails_to(app, address: str) -> list[OutgoingMail]:
    with database(app) as db:
        return list(
            db.scalars(
                select(OutgoingMail).where(OutgoingMail.to == address).order_by(OutgoingMail.id)
            )
        )


@pytest.fixture
def closed_621(app):
    yesterday = days_from_today(-1)
    close_session_of(app, 621, yesterday)
    return yesterday


# --- Before the date ------------------------------------------------------------------------


def test_before_the_date_the_mission_page_says_until_when(app, signed_in):
    close_session_of(app, 621, days_from_today(20))
    html = plain(signed_in.get("/missions/621/remuneration").get_data(as_text=True))
    assert f"À valider avant le {days_from_today(20):%d/%m/%Y}" in html
    assert 'id="deadline-closed"' not in html
    saved = signed_in.post(
        "/missions/621/remuneration",
        data={"csrf_token": token(signed_in, 621, "remuneration"), "version": "1", **PAY_621},
    )
    assert saved.status_code == 303


def test_the_closing_day_itself_is_still_open(app, signed_in):
    close_session_of(app, 621, clock.today())
    html = plain(signed_in.get("/missions/621/remuneration").get_data(as_text=True))
    assert f"À valider avant le {clock.today():%d/%m/%Y}" in html
    assert 'name="candidates"' in html


# --- After the date: read-only, and every write refused --------------------------------------


def test_past_the_date_the_claim_is_read_only_with_why_and_whom_to_ask(app, signed_in, closed_621):
    for tab in ("suivi", "remuneration", "deplacement", "recapitulatif"):
        response = signed_in.get(f"/missions/621/{tab}")
        assert response.status_code == 200
        html = plain(response.get_data(as_text=True))
        assert CLOSED.format(date=f"{closed_621:%d/%m/%Y}") in html
        assert "(dec2@" in html or "@" in html.split("contactez", 1)[1][:200]
    pay = plain(signed_in.get("/missions/621/remuneration").get_data(as_text=True))
    assert 'name="candidates"' not in pay
    assert "Valider mon état de frais" not in pay
    travel = plain(signed_in.get("/missions/621/deplacement").get_data(as_text=True))
    assert "Ajouter un trajet" not in travel


def test_saving_the_pay_part_after_the_date_is_refused_and_nothing_changes(
    app, signed_in, closed_621
):
    before = claim_of(app, 621)
    csrf = csrf_from(signed_in.get("/missions/621/remuneration").get_data(as_text=True))
    response = signed_in.post(
        "/missions/621/remuneration", data={"csrf_token": csrf, "version": "1", **PAY_621}
    )
    assert response.status_code == 409
    assert CLOSED.format(date=f"{closed_621:%d/%m/%Y}") in plain(response.get_data(as_text=True))
    assert claim_of(app, 621) == before


def test_adding_a_leg_after_the_date_is_refused(app, signed_in, closed_621):
    before = claim_of(app, 621)
    response = post_leg(app, signed_in, **LEG_621)
    assert response.status_code == 409
    assert "est close depuis le" in plain(response.get_data(as_text=True))
    assert claim_of(app, 621) == before


def test_validating_after_the_date_is_refused(app, signed_in):
    # Entered while it was open, then the date passed.
    saved = signed_in.post(
        "/missions/621/remuneration",
        data={"csrf_token": token(signed_in, 621, "remuneration"), "version": "1", **PAY_621},
    )
    assert saved.status_code == 303
    close_session_of(app, 621, days_from_today(-1))
    before = claim_of(app, 621)
    response = signed_in.post(
        "/missions/621/valider",
        data={
            "csrf_token": token(signed_in),
            "version": str(before["version"]),
            "certify": "y",
        },
    )
    assert response.status_code == 409
    assert "est close depuis le" in plain(response.get_data(as_text=True))
    after = claim_of(app, 621)
    assert (after["pay"], after["travel"], after["events"]) == (
        before["pay"],
        before["travel"],
        before["events"],
    )


def test_uploading_a_document_after_the_date_is_refused(app, signed_in, closed_621):
    response = send(signed_in, ("billet.jpg", jpeg()))
    assert response.status_code == 409
    assert "est close depuis le" in plain(response.get_data(as_text=True))
    without_js = send(signed_in, ("billet.jpg", jpeg()), hx=False)
    assert without_js.status_code == 303
    page = plain(signed_in.get(without_js.headers["Location"]).get_data(as_text=True))
    assert "est close depuis le" in page
    assert documents(app, 621) == []


def test_an_htmx_save_after_the_date_is_refused_in_the_fragment(app, signed_in, closed_621):
    csrf = token(signed_in, 621, "remuneration")
    response = signed_in.post(
        "/missions/621/remuneration",
        data={"version": "1", **PAY_621},
        headers={"HX-Request": "true", "X-CSRFToken": csrf},
    )
    assert response.status_code == 409
    assert "est close depuis le" in plain(response.get_data(as_text=True))


# --- The DEC reopens ------------------------------------------------------------------------


@pytest.fixture
def manager(client):
    assert AuthActions(client).login(GESTIONNAIRE).status_code == 303
    return client


def reopen(client, number=621, **fields):
    html = client.get(f"/gestion/missions/{number}").get_data(as_text=True)
    version = claim_of(client.application, number)["version"]
    return client.post(
        f"/gestion/missions/{number}/rouvrir",
        data={"csrf_token": csrf_from(html), "version": str(version), **fields},
    )


def test_the_dec_sees_the_date_and_reopens_with_a_reason_and_a_new_date(app, manager, closed_621):
    html = plain(manager.get("/gestion/missions/621").get_data(as_text=True))
    assert (
        f"jusqu'au <strong>{closed_621:%d/%m/%Y}</strong> inclus : <strong>close</strong>" in html
    )
    assert "Rouvrir à l'intervenant" in html

    refused = reopen(manager, reason="", until="")
    assert refused.status_code == 422
    page = plain(refused.get_data(as_text=True))
    assert "Indiquez le motif de la réouverture." in page
    assert "Indiquez la nouvelle date de clôture (jj/mm/aaaa)." in page

    past = reopen(manager, reason="Arrêt maladie", until=f"{days_from_today(-2):%Y-%m-%d}")
    assert past.status_code == 422
    assert "La nouvelle date de clôture ne peut pas être passée." in plain(
        past.get_data(as_text=True)
    )
    garbage = reopen(manager, reason="Arrêt maladie", until="31/02/2026")
    assert garbage.status_code == 422
    assert "Date invalide" in plain(garbage.get_data(as_text=True))
    assert claim_of(app, 621)["version"] == 1

    new_date = days_from_today(10)
    done = reopen(manager, reason="Arrêt maladie en août", until=f"{new_date:%Y-%m-%d}")
    assert done.status_code == 303
    with database(app) as db:
        claim = db.scalar(select(Claim).join(Mission).where(Mission.number == 621))
        assert claim.reopened_until == new_date
        event = db.scalar(
            select(AuditEvent).where(
                AuditEvent.mission_id == claim.mission_id, AuditEvent.action == "reopen"
            )
        )
        assert event.reason == "Arrêt maladie en août"
        assert event.detail["until"] == new_date.isoformat()
    [mail] = [m for m in mails_to(app, CLAIRE) if "rouvert" in m.subject]
    assert f"jusqu'au {new_date:%d/%m/%Y} inclus" in mail.body
    assert "Motif : Arrêt maladie en août" in mail.body
    assert "/missions/621/suivi" in mail.body
    history = plain(manager.get("/gestion/missions/621").get_data(as_text=True))
    assert "Saisie rouverte par la DEC après la date de clôture" in history
    assert "Motif : Arrêt maladie en août" in history


def test_once_reopened_the_intervenant_enters_and_validates_again(app, client, closed_621):
    AuthActions(client).login(GESTIONNAIRE)
    assert reopen(client, reason="Oubli", until=f"{days_from_today(5):%Y-%m-%d}").status_code == 303
    client = app.test_client()
    AuthActions(client).login(CLAIRE)
    html = plain(client.get("/missions/621/remuneration").get_data(as_text=True))
    assert f"À valider avant le {days_from_today(5):%d/%m/%Y}" in html
    version = str(claim_of(app, 621)["version"])
    saved = client.post(
        "/missions/621/remuneration",
        data={"csrf_token": csrf_from(html), "version": version, **PAY_621},
    )
    assert saved.status_code == 303
    assert claim_of(app, 621)["candidates"] == 8


def test_only_the_dec_of_the_mission_may_reopen(app, client, closed_621):
    auth = AuthActions(client)
    auth.login(CLAIRE)
    csrf = csrf_from(client.get("/missions").get_data(as_text=True))
    response = client.post(
        "/gestion/missions/621/rouvrir",
        data={"csrf_token": csrf, "version": "1", "reason": "moi", "until": "2099-01-01"},
    )
    assert response.status_code == 404
    assert claim_of(app, 621)["version"] == 1


def test_a_reopening_needs_the_csrf_token(app, manager, closed_621):
    response = manager.post(
        "/gestion/missions/621/rouvrir",
        data={"version": "1", "reason": "x", "until": f"{days_from_today(3):%Y-%m-%d}"},
    )
    assert response.status_code in (400, 403)
    assert claim_of(app, 621)["version"] == 1


def test_a_stale_reopening_is_refused(app, manager, closed_621):
    html = manager.get("/gestion/missions/621").get_data(as_text=True)
    response = manager.post(
        "/gestion/missions/621/rouvrir",
        data={
            "csrf_token": csrf_from(html),
            "version": "0",
            "reason": "x",
            "until": f"{days_from_today(3):%Y-%m-%d}",
        },
    )
    assert response.status_code == 409
    assert claim_of(app, 621)["version"] == 1


# --- Reminders ------------------------------------------------------------------------------


def reminders(app) -> list[OutgoingMail]:
    return [m for m in mails_to(app, CLAIRE) if m.subject.startswith("Rappel")]


def test_two_worker_runs_send_each_reminder_exactly_once(app):
    from imagin.worker import Worker

    assert "deadline-reminders" in [job.name for job in Worker(app).jobs]
    close_session_of(app, 621, days_from_today(14))
    send_deadline_reminders(app)
    send_deadline_reminders(app)
    [first] = reminders(app)
    assert "N° 621" in first.body
    assert f"au plus tard le {days_from_today(14):%d/%m/%Y} — " in first.body
    # The link comes from the configured public address, never from a request.
    assert "/missions/621/suivi" in first.body
    # Paul has claims waiting in that session too: one e-mail for all of them, once.
    assert len([m for m in mails_to(app, PAUL) if m.subject.startswith("Rappel")]) == 1

    # Three days before (the same claim, a nearer date): the second reminder, once.
    close_session_of(app, 621, days_from_today(3))
    send_deadline_reminders(app)
    send_deadline_reminders(app)
    assert len(reminders(app)) == 2


def test_no_reminder_for_a_validated_claim_or_far_from_the_date(app):
    close_session_of(app, 621, days_from_today(15))
    send_deadline_reminders(app)
    assert reminders(app) == []
    close_session_of(app, 621, days_from_today(14))
    with database(app) as db:
        db.execute(
            update(Claim)
            .where(
                Claim.mission_id
                == select(Mission.id).where(Mission.number == 621).scalar_subquery()
            )
            .values(pay_status="valide", travel_status="valide")
        )
        db.commit()
    send_deadline_reminders(app)
    assert reminders(app) == []


def test_reminders_dry_run_lists_who_and_sends_nothing(app, runner):
    close_session_of(app, 621, days_from_today(3))
    result = runner.invoke(args=["reminders", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"{CLAIRE}\tmission 621\tJ-3\tclôture le {days_from_today(3):%d/%m/%Y}" in result.output
    assert "2 intervenant(s) recevraient un rappel (2 état(s) de frais)." in result.output
    assert reminders(app) == []
    sent = runner.invoke(args=["reminders"])
    assert "2 intervenant(s) ont reçu un rappel" in sent.output
    assert len(reminders(app)) == 1
    again = runner.invoke(args=["reminders", "--dry-run"])
    assert "0 intervenant(s) recevraient un rappel" in again.output


def test_the_reminder_query_count_does_not_grow_with_the_claims(app):
    from imagin.claims.deadlines import due_reminders
    from tests.conftest import add_missions, count_queries

    close_session_of(app, 621, days_from_today(14))
    with database(app) as db, count_queries(app) as few:
        assert len(due_reminders(db, clock.today())) >= 1
    add_missions(app, CLAIRE, 30, first_number=90000)
    with database(app) as db, count_queries(app) as many:
        assert len(due_reminders(db, clock.today())) >= 31
    assert len(many) == len(few) == 2


def test_the_embedded_sender_runs_the_reminders_job_too(app):
    """Without a worker (``make run``), the sender thread of ``imagin serve`` sends them."""
    from imagin import mail

    sender = mail.start_sender(app)
    try:
        assert [job.name for job in sender.jobs] == ["deadline-reminders"]
    finally:
        mail.stop_sender(app)
    close_session_of(app, 621, days_from_today(3))
    embedded = mail.Sender(app, jobs=sender.jobs)
    for job in embedded.jobs:
        job.next_run = 0.0  # due now
    embedded.run_due_jobs()
    embedded.run_due_jobs()
    assert len(reminders(app)) == 1
