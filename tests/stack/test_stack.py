"""The production topology, tested as it runs (issue 13): see conftest.py for what starts.

Each test is something an operator or a user would notice: a session that
holds across processes, limits that hold across processes, a document that
one process stores and the other serves, e-mails sent exactly once by two
workers, no failed page when a process dies, and no restart of the app after
the database restarts.
"""

from __future__ import annotations

import io
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections import Counter

from pypdf import PdfReader
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from imagin.demo import DEMO_PASSWORD
from imagin.mail import queue_mails
from imagin.models import OutgoingMail
from tests.builders import pypdf_pdf
from tests.conftest import CLAIRE, PAUL
from tests.services import AppServer, imagin_worker, wait_for

TOKEN = {"Authorization": "Bearer jeton-des-tests"}


def served(app: AppServer, endpoint: str) -> float:
    """How many requests of ``endpoint`` this process answered (its Prometheus counter)."""
    with urllib.request.urlopen(f"http://{app.host}:{app.metrics_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    pattern = rf'^imagin_http_requests_total{{endpoint="{re.escape(endpoint)}",[^}}]*}} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))


def signed_in(stack, email: str = CLAIRE, source: str = "127.0.0.2"):
    visitor = stack.visitor(source)
    answer = visitor.sign_in(email, DEMO_PASSWORD)
    assert answer.status == 303, answer.text[:300]
    return visitor


def test_health_and_readiness_of_every_process(stack):
    for app in stack.apps:
        straight = stack.direct(app)
        assert straight.get("/healthz").text == "ok\n"
        ready = straight.get("/readyz")
        assert (ready.status, ready.text) == (200, "database: ok\nstorage: ok\n")
    through = stack.visitor().get("/healthz")
    assert through.status == 200 and re.fullmatch(r"[0-9a-f]{32}", through.header("X-Request-Id"))


def test_a_session_holds_on_both_processes_and_sign_out_ends_it_on_both(stack):
    claire = signed_in(stack)
    before = [served(app, "missions.index") for app in stack.apps]
    for _ in range(6):
        page = claire.get("/missions")
        assert page.status == 200 and "621" in page.text
    after = [served(app, "missions.index") for app in stack.apps]
    # The balancer alternates: both processes served Claire's pages.
    assert all(b > a for a, b in zip(before, after, strict=True)), (before, after)

    first, second = stack.apps
    cookie = dict(claire.cookies)
    assert stack.direct(second, claire).get("/missions").status == 200
    on_first = stack.direct(first, claire)
    token = on_first.token("/missions")
    assert on_first.post("/deconnexion", {"csrf_token": token}).status == 303
    # The cookie as it was before signing out no longer opens anything, on either process.
    for app in stack.apps:
        old = stack.direct(app)
        old.cookies = dict(cookie)
        answer = old.get("/missions")
        assert answer.status == 302 and "/intervenant" in answer.header("Location")


def test_sign_in_throttling_counts_failures_on_both_processes(stack):
    first, second = stack.apps
    visitor = {"X-Forwarded-For": "127.0.0.9"}
    for attempt in range(5):
        app = (first, second)[attempt % 2]
        straight = stack.direct(app)
        token = straight.token()
        answer = straight.post(
            "/intervenant",
            {"csrf_token": token, "email": PAUL, "password": "mauvais mot de passe"},
            **visitor,
        )
        assert answer.status == 422, (attempt, answer.status)
    # Three failures on one process, two on the other: the account is throttled on both.
    for app in stack.apps:
        straight = stack.direct(app)
        token = straight.token()
        answer = straight.post(
            "/intervenant",
            {"csrf_token": token, "email": PAUL, "password": DEMO_PASSWORD},
            **visitor,
        )
        assert answer.status == 429


def test_a_document_stored_by_one_process_is_served_by_the_other(stack):
    claire = signed_in(stack, source="127.0.0.3")
    first, second = stack.apps
    uploader = stack.direct(first, claire)
    token = uploader.token("/missions/621/deplacement")
    content = pypdf_pdf(2)
    answer = uploader.post_files(
        "/missions/621/pieces",
        {"csrf_token": token, "receipt": "autre"},
        [("files", "billet-de-train.pdf", content)],
    )
    assert answer.status == 303, answer.text[:300]

    reader = stack.direct(second, claire)
    tab = reader.get("/missions/621/deplacement").text
    assert "billet-de-train.pdf" in tab
    document_id = re.search(r'href="/missions/621/pieces/(\d+)"', tab).group(1)
    download = reader.get(f"/missions/621/pieces/{document_id}")
    assert download.status == 200 and download.body == content
    assert download.header("Content-Security-Policy") == "sandbox"
    bundle = reader.get("/missions/621/pieces.pdf")
    assert bundle.status == 200
    assert len(PdfReader(io.BytesIO(bundle.body)).pages) >= 3
    # In the bucket, not on a disk of either process.
    listing = stack.s3.client().list_objects_v2(Bucket=stack.s3.bucket, Prefix="stack/")
    assert len(listing.get("Contents", [])) >= 1
    assert not (stack.folder / "uploads").exists()


def test_two_workers_deliver_200_messages_exactly_once(stack):
    engine = create_engine(stack.database_url)
    # The stack's worker and a second one, both looking at the outbox.
    with imagin_worker(stack.env, stack.folder / "worker-2.log"):
        with Session(engine) as db:
            queue_mails(db, [(CLAIRE, f"Lot {n:03d}", "Corps") for n in range(200)])
            db.commit()
        wait_for(lambda: len(stack.mailbox.subjects("Lot ")) >= 200, "200 messages", timeout=120)

        def outbox_empty() -> bool:
            with Session(engine) as db:
                waiting = select(func.count()).where(
                    OutgoingMail.sent_at.is_(None), OutgoingMail.subject.like("Lot %")
                )
                return db.scalar(waiting) == 0

        wait_for(outbox_empty, "the outbox to be empty")
    engine.dispose()
    subjects = Counter(stack.mailbox.subjects("Lot "))
    assert len(subjects) == 200
    assert max(subjects.values()) == 1, subjects.most_common(3)


class Load:
    """Visitors loading GET pages through nginx in threads, counting every failure."""

    PAGES = ("/missions", "/missions/621/suivi", "/missions/621/deplacement", "/healthz")

    def __init__(self, stack, threads: int = 4) -> None:
        self.visitors = [signed_in(stack, source=f"127.0.1.{n + 1}") for n in range(threads)]
        self.stop = threading.Event()
        self.done = 0
        # (when the request started, page, status or error)
        self.failures: list[tuple[float, str, object]] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(v,)) for v in self.visitors]

    def _run(self, visitor) -> None:
        n = 0
        while not self.stop.is_set():
            page = self.PAGES[n % len(self.PAGES)]
            n += 1
            started = time.monotonic()
            try:
                status = visitor.get(page).status
                failure = None if status == 200 else status
            except Exception as error:
                failure = repr(error)
            with self.lock:
                self.done += 1
                if failure is not None:
                    self.failures.append((started, page, failure))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def wait_for_more(self, count: int) -> None:
        target = self.done + count
        wait_for(lambda: self.done >= target, f"{count} more requests", timeout=120)

    def __exit__(self, *_exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def test_a_process_killed_during_a_load_costs_no_failed_get_and_comes_back(stack):
    first = stack.apps[0]
    with Load(stack) as load:
        load.wait_for_more(40)
        first.kill()
        load.wait_for_more(150)
        failures_while_down = list(load.failures)
        first.start()
        # nginx tries the process again after fail_timeout: it takes pages again.
        before = served(first, "missions.index")
        wait_for(lambda: served(first, "missions.index") > before, "the restarted process")
        load.wait_for_more(40)
    assert failures_while_down == []
    assert load.failures == []
    assert load.done >= 230


def test_postgresql_restart_fails_requests_only_during_the_restart(stack):
    pids = [app.process.pid for app in stack.apps]
    with Load(stack, threads=2) as load:
        load.wait_for_more(20)
        stack.database.restart()  # returns once PostgreSQL accepts connections again
        restarted = time.monotonic()
        load.wait_for_more(150)
    after = [failure for failure in load.failures if failure[0] >= restarted]
    assert after == [], f"failures after the restart: {after[:5]}"
    # No process was restarted, and the worker still sends.
    assert [app.process.pid for app in stack.apps] == pids
    assert all(app.process.poll() is None for app in stack.apps)
    engine = create_engine(stack.database_url)
    with Session(engine) as db:
        queue_mails(db, [(PAUL, "Après le redémarrage", "Corps")])
        db.commit()
    engine.dispose()
    wait_for(lambda: stack.mailbox.subjects("Après le redémarrage"), "the worker after the restart")


def test_slow_clients_hold_nginx_not_the_app(stack):
    """150 visitors sending their form slowly (a phone in a train): pages still load.

    Without nginx, waitress's 100 connections are taken and new visitors wait.
    nginx buffers each request whole before it reaches a process.
    """
    context = ssl.create_default_context(cafile=str(stack.proxy.folder / "cert.pem"))
    slow = []
    try:
        for _ in range(150):
            raw = socket.create_connection(("127.0.0.1", stack.proxy.https_port), timeout=30)
            connection = context.wrap_socket(raw, server_hostname="localhost")
            connection.sendall(
                b"POST /intervenant HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 100000\r\n\r\nemail=claire"
            )
            slow.append(connection)
        claire = signed_in(stack, source="127.0.0.6")
        for _ in range(10):
            assert claire.get("/missions").status == 200
    finally:
        for connection in slow:
            connection.close()
