"""The background sender (issue 11, item 6): no request ever talks to the SMTP server.

The attack: ask for a password link for an address that has an account and for
one that has none, and compare what comes back — status, page, and time. The
SMTP server is a real one in this process (aiosmtpd), which the test can make
hang: it greets, then never answers EHLO, like a server that stopped
responding. Before the fix the request itself sent the message, so an existing
address took the SMTP timeout (10 s) and an unknown one 15 ms.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import statistics
import subprocess
import threading
import time

import pytest
from sqlalchemy import func, select, update

from imagin import clock, mail
from imagin.mail import Sender, deliver_pending, queue_mail, retry_delay
from imagin.models import OutgoingMail, PasswordLinkRequest
from tests.conftest import CLAIRE, PAUL, POSTGRES_URL, base_config, csrf_from, database
from tests.integration.test_mail import Collector, free_port, smtp_server
from tests.services import imagin_command, imagin_environment, stop, wait_for

SENT = "Si un compte existe pour cette adresse"
UNKNOWN = "personne.inconnue@example.fr"


class HangingHandler(Collector):
    """Greets, then never answers EHLO until released: an SMTP server that hangs."""

    def __init__(self) -> None:
        super().__init__()
        self.hanging = threading.Event()
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        self._loop = asyncio.get_running_loop()
        self._release = self._release or asyncio.Event()
        self.hanging.set()
        await self._release.wait()
        session.host_name = hostname
        return responses

    def release(self) -> None:
        if self._loop is not None and self._release is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._release.set)


def make_app(database_url, tmp_path, **config):
    from imagin import create_app

    settings = base_config(database_url, tmp_path)
    # The throttle is another item's test: here every request must reach the view.
    settings |= {"ACCOUNT_LINK_EMAIL_LIMIT": "1000 per hour", "ACCOUNT_LINK_IP_LIMIT": "1000/hour"}
    return create_app(settings | config)


def ask(client, address: str):
    token = csrf_from(client.get("/intervenant/mot-de-passe").get_data(as_text=True))
    started = time.perf_counter()
    response = client.post(
        "/intervenant/mot-de-passe", data={"csrf_token": token, "email": address}
    )
    return response, time.perf_counter() - started


def page_after(client, response) -> str:
    """The page the answer leads to, without what changes on every load (the CSRF token)."""
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    return re.sub(r'(name="csrf_token"[^>]*value=|"X-CSRFToken": )"[^"]+"', r"\1-", html)


def compare_answers(app, rounds: int = 15) -> tuple[list[float], list[float]]:
    """Ask in turns for an existing and an unknown address; the same status, page and place."""
    known, unknown = app.test_client(), app.test_client()
    times: dict[str, list[float]] = {PAUL: [], UNKNOWN: []}
    for _ in range(rounds):
        for client, address in ((known, PAUL), (unknown, UNKNOWN)):
            response, seconds = ask(client, address)
            assert response.status_code == 303
            assert response.headers["Location"] == "/intervenant"
            times[address].append(seconds)
    known_page, unknown_page = (
        page_after(client, ask(client, address)[0])
        for client, address in ((known, PAUL), (unknown, UNKNOWN))
    )
    assert SENT in known_page
    assert known_page == unknown_page
    return times[PAUL], times[UNKNOWN]


def assert_similar(known: list[float], unknown: list[float]) -> None:
    """The medians are within 5 ms or 50 % of each other, and nothing waits for a server."""
    a, b = statistics.median(known), statistics.median(unknown)
    assert abs(a - b) <= max(0.005, 0.5 * min(a, b)), (
        f"known {a * 1000:.1f} ms, unknown {b * 1000:.1f} ms"
    )
    # A request that talked to the hanging server would wait for SMTP_TIMEOUT (20 s).
    assert max(known + unknown) < 2.0


def test_forgotten_password_tells_nothing_even_when_the_smtp_server_hangs(database_url, tmp_path):
    port = free_port()
    handler = HangingHandler()
    app = make_app(database_url, tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TIMEOUT=20)
    sender = None
    try:
        with smtp_server(port, handler):
            # As in `imagin serve`: the sender thread of the process.
            sender = mail.start_sender(app)
            # A first request for an existing account: the sender takes its message
            # and gets stuck on the server; then the attack is timed.
            assert ask(app.test_client(), PAUL)[0].status_code == 303
            wait_for(handler.hanging.is_set, "the sender to reach the hanging server")
            known, unknown = compare_answers(app)
            assert_similar(known, unknown)
            assert handler.messages == [] and handler.connections == 1
            # Released, the server takes the messages: one link per request for Paul,
            # none for the unknown address.
            handler.release()
            wait_for(lambda: len(handler.messages) == 17, "the links to Paul", timeout=60)
            assert {tuple(to) for _f, to, _m in handler.messages} == {(PAUL,)}
            with database(app) as db:
                assert db.scalar(select(func.count()).select_from(PasswordLinkRequest)) == 0
    finally:
        handler.release()
        if sender is not None:
            mail.stop_sender(app)
        app.extensions["imagin.engine"].dispose()


def test_forgotten_password_takes_the_same_time_with_a_working_server(database_url, tmp_path):
    port = free_port()
    app = make_app(database_url, tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    try:
        with smtp_server(port, Collector()) as server:
            known, unknown = compare_answers(app)
            assert_similar(known, unknown)
            # Nothing was sent by the requests themselves.
            assert server.messages == []
            with database(app) as db:
                assert db.scalar(select(func.count()).select_from(OutgoingMail)) == 0
    finally:
        app.extensions["imagin.engine"].dispose()


# --- Retries back off; the list says what waits and why ---------------------------------


def test_a_failed_message_waits_longer_each_time_and_the_list_says_so(app):
    port = free_port()  # nothing listens there
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TIMEOUT=2)
    with database(app) as db:
        queue_mail(db, CLAIRE, "Essai", "Corps")
        db.commit()
    delays = []
    for attempt in range(1, 4):
        with database(app) as db:
            report = deliver_pending(app, db, due_only=True)
            assert list(report.failed) == [1]
            row = db.get(OutgoingMail, 1)
            assert row.attempts == attempt and row.locked_until is None
            delays.append(row.next_attempt_at - clock.now())
            # Not due yet: a background sender leaves it alone.
            assert deliver_pending(app, db, due_only=True).failed == {}
            # Time passes.
            db.execute(update(OutgoingMail).values(next_attempt_at=clock.now()))
            db.commit()
    assert [retry_delay(n) for n in (1, 2, 3)] == [
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=2),
        dt.timedelta(minutes=4),
    ]
    assert all(abs(d - retry_delay(n)).total_seconds() <= 2 for n, d in enumerate(delays, 1))
    assert retry_delay(30) == retry_delay(31)  # capped
    with database(app) as db:
        db.execute(update(OutgoingMail).values(next_attempt_at=clock.now() + retry_delay(3)))
        db.commit()
    listing = app.test_cli_runner().invoke(args=["mail", "list"])
    assert "3 essai(s)" in listing.output
    assert "prochain essai le" in listing.output
    assert "Connection refused" in listing.output or "Errno" in listing.output


# --- Several senders never send a message twice -----------------------------------------


def test_two_senders_at_once_deliver_each_message_exactly_once(app):
    port = free_port()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    with database(app) as db:
        mail.queue_mails(db, [(CLAIRE, f"Message {n}", "Corps") for n in range(200)])
        db.commit()
    senders = [Sender(app, poll=0.05), Sender(app, poll=0.05)]
    with smtp_server(port, Collector()) as server:
        threads = [s.start_thread() for s in senders]
        try:
            wait_for(lambda: len(server.messages) >= 200, "200 messages", timeout=120)
            # Let both look once more: nothing is left to send. A new session each
            # time: one transaction would keep reading the snapshot of its first look.
            wait_for(lambda: unsent(app) == 0, "the outbox to be empty")
        finally:
            for s in senders:
                s.stop()
            for t in threads:
                t.join(30)
    subjects = [m["Subject"] for _f, _t, m in server.messages]
    assert sorted(subjects) == sorted(f"Message {n}" for n in range(200))
    with database(app) as db:
        assert db.scalar(select(func.max(OutgoingMail.attempts))) == 1


def unsent(app) -> int:
    with database(app) as db:
        return db.scalar(select(func.count()).where(OutgoingMail.sent_at.is_(None)))


# --- imagin worker -----------------------------------------------------------------------


def test_worker_sends_the_outbox_and_stops_cleanly_on_sigterm(app, database_url, tmp_path):
    port = free_port()
    with database(app) as db:
        mail.queue_mails(db, [(CLAIRE, f"Message {n}", "Corps") for n in range(5)])
        db.commit()
    env = imagin_environment(
        database_url, tmp_path, REQUEST_LOG=False, SMTP_HOST="127.0.0.1", SMTP_PORT=port
    )
    with smtp_server(port, Collector()) as server:
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            imagin_command("worker", "--poll", "0.2"),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(lambda: len(server.messages) == 5, "the worker to send 5 messages")
            # Queued by another process after the worker started: found at its next look.
            with database(app) as db:
                queue_mail(db, PAUL, "Plus tard", "Corps")
                db.commit()
            wait_for(lambda: len(server.messages) == 6, "the late message")
            os.killpg(worker.pid, signal.SIGTERM)
            assert worker.wait(30) == 0
        finally:
            stop(worker)
            log.close()
    output = (tmp_path / "worker.log").read_text()
    assert "IMAG'IN worker arrêté." in output


@pytest.mark.skipif(not POSTGRES_URL, reason="FOR UPDATE SKIP LOCKED: PostgreSQL only")
def test_on_postgresql_a_sender_skips_the_rows_another_one_holds(app):
    """While one sender holds its batch's rows, another takes the next ones, without waiting."""
    with database(app) as db:
        mail.queue_mails(db, [(CLAIRE, f"Message {n}", "Corps") for n in range(4)])
        db.commit()
    factory = app.extensions["imagin.sessionmaker"]
    with app.app_context(), factory() as holder, factory() as other:
        held = holder.scalars(
            select(OutgoingMail.id).order_by(OutgoingMail.id).limit(2).with_for_update()
        ).all()
        started = time.perf_counter()
        claimed = mail._claim(other, None, 10, True)
        assert time.perf_counter() - started < 5
        assert {m.id for m in claimed}.isdisjoint(held) and len(claimed) == 2
        holder.rollback()


# --- The sender inside imagin serve --------------------------------------------------------


def test_imagin_serve_sends_in_the_background_unless_a_worker_does(app, database_url, tmp_path):
    from tests.browserless import Visitor
    from tests.services import AppServer
    from tests.services import free_port as any_port

    port = free_port()
    with smtp_server(port, Collector()) as server:
        env = imagin_environment(
            database_url, tmp_path, REQUEST_LOG=False, SMTP_HOST="127.0.0.1", SMTP_PORT=port
        )
        embedded = AppServer(any_port(), env, tmp_path / "serve.log")
        embedded.start()
        try:
            visitor = Visitor(embedded.url)
            token = visitor.token("/intervenant/mot-de-passe")
            answer = visitor.post("/intervenant/mot-de-passe", {"csrf_token": token, "email": PAUL})
            assert answer.status == 303
            wait_for(lambda: len(server.messages) == 1, "the link sent by imagin serve")
        finally:
            embedded.stop()
        assert "Envoi des e-mails : par ce processus" in (tmp_path / "serve.log").read_text()

        env["IMAGIN_SEND_MAIL_IN_SERVE"] = "false"
        quiet = AppServer(any_port(), env, tmp_path / "quiet.log")
        quiet.start()
        try:
            visitor = Visitor(quiet.url)
            token = visitor.token("/intervenant/mot-de-passe")
            visitor.post("/intervenant/mot-de-passe", {"csrf_token": token, "email": PAUL})
        finally:
            quiet.stop()
        assert "par `imagin worker`" in (tmp_path / "quiet.log").read_text()
        # Nobody sent it: it waits for a worker, and the list says so.
        assert len(server.messages) == 1
        listing = app.test_cli_runner().invoke(args=["mail", "list"])
        assert "1 demande de lien de mot de passe, en attente" in listing.output


def test_the_worker_runs_its_scheduled_jobs_when_due_and_survives_a_failing_one(app):
    from imagin.worker import Job, Worker

    runs = []

    def fails(_app):
        runs.append("fails")
        raise RuntimeError("une tâche en échec")

    def counts(_app):
        runs.append("counts")

    worker = Worker(
        app,
        jobs=(Job("fails", dt.timedelta(0), fails), Job("counts", dt.timedelta(hours=1), counts)),
    )
    for job in worker.jobs:
        job.next_run = 0.0  # due now
    worker._run_due_jobs()
    worker._run_due_jobs()  # "fails" is due again at once, "counts" only in an hour
    assert runs == ["fails", "counts", "fails"]


def test_the_daily_documents_check_only_reports(app, caplog):
    from imagin.storage import get_storage
    from imagin.worker import check_documents

    with app.app_context():
        orphan = get_storage().save_bytes(b"%PDF-1.4", extension=".pdf").name
        # Old enough to be an orphan, not an upload committing right now.
        old = time.time() - 3600
        os.utime(get_storage().path(orphan), (old, old))
    with caplog.at_level("WARNING", logger="imagin.worker"):
        check_documents(app)
    assert "1 file(s) without a row" in caplog.text
    with app.app_context():
        assert get_storage().exists(orphan), "the scheduled check never deletes"
