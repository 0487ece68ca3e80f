"""The DEC queue never reads a whole table: every query /gestion issues, for every shape
of filters, is planned without a full scan of ``mission`` or ``claim``.

SQLite: ``EXPLAIN QUERY PLAN``; PostgreSQL (IMAGIN_TEST_DATABASE_URL): ``EXPLAIN`` with
sequential scans discouraged, so a ``Seq Scan`` left means no index can serve (on the
small test database the planner would otherwise rightly prefer one). Speed itself is
measured in bench/dec_queue.py, not here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from sqlalchemy import event, select

from imagin.domain.status import PartStatus
from imagin.models import Claim, Exam, ExamSession, Mission
from tests.conftest import GESTIONNAIRE, add_missions, database

ADMIN = "admin@example.fr"
# Indexes that give the queue its order: walked from their start under a LIMIT, they
# stop after the page (ix_claim_waiting only holds the claims waiting for the DEC).
ORDER_INDEXES = ("ix_claim_waiting", "ix_claim_validated_at", "ix_mission_queue")
STATUSES = [""] + [status.value for status in PartStatus]


@pytest.fixture
def queue_app(app):
    """The demo, with enough claims of every kind for several pages of each segment."""
    kinds = [
        ("valide", "valide", dt.datetime(2024, 6, 3, 9)),
        ("valide_gestionnaire", "pas_de_frais", dt.datetime(2024, 6, 2, 9)),
        ("non_valide", "non_valide", None),
        ("mis_en_paiement", "a_corriger", dt.datetime(2024, 5, 2, 9)),
    ]

    def claim(n):
        pay, travel, at = kinds[n % len(kinds)]
        return Claim(pay_status=pay, travel_status=travel, validated_at=at)

    add_missions(
        app,
        "paul.durand@example.fr",
        240,
        first_number=300_000,
        day=dt.date(2024, 1, 2),
        claim=claim,
    )
    return app


def plans(app, statements) -> list[tuple[str, list[str]]]:
    engine = app.extensions["imagin.engine"]
    result = []
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute("SET enable_seqscan = off")
        for statement, parameters in statements:
            if engine.dialect.name == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                lines = [row[3] for row in cursor.fetchall()]
            else:
                cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
                lines = list(_pg_scans(cursor.fetchone()[0][0]["Plan"]))
            result.append((statement, lines))
        cursor.close()
    return result


def _pg_scans(node: dict):
    """PostgreSQL's scans of mission and claim, written like SQLite's plan lines: a scan
    with no index condition reads the whole table (or index) from its start."""
    if node.get("Relation Name") in ("mission", "claim"):
        kind, table = node["Node Type"], node["Relation Name"]
        if kind == "Seq Scan" or (
            kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node
        ):
            yield f"SCAN {table} ({kind}) USING INDEX {node.get('Index Name', '')}"
    for child in node.get("Plans", []):
        yield from _pg_scans(child)


def full_scans(statement: str, lines: list[str]) -> list[str]:
    """The plan lines that read all of mission or claim."""
    bad = []
    for line in lines:
        scan = re.search(r"\bSCAN (mission|claim)\b(.*)", line)
        if scan:
            used = scan.group(2)
            ordered = any(index in used for index in ORDER_INDEXES) and "LIMIT" in statement
            if not ordered:
                bad.append(line.strip())
    return bad


def queue_statements(app, client, url: str) -> list[tuple[str, object]]:
    engine = app.extensions["imagin.engine"]
    seen: list[tuple[str, object]] = []

    def before(_conn, _cursor, statement, parameters, *_args):
        if re.search(r"\b(mission|claim|claim_count)\b", statement):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert response.status_code == 200, url
    return seen


def urls(app) -> list[str]:
    with database(app) as db:
        session = db.scalar(select(ExamSession.id).join(Mission).limit(1))
        exam = db.scalar(select(Exam.id).join(Mission, Mission.exam_id == Exam.id).limit(1))
    found = []
    for status, session_id, exam_id in itertools.product(STATUSES, ("", session), ("", exam)):
        query = {"status": status, "session": session_id, "exam": exam_id}
        found.append("&".join(f"{k}={v}" for k, v in query.items() if v))
    for extra in ("name=durand", "number=300010", "name=paul&status=valide", "number=621&exam=1"):
        found.append(extra)
    found += ["service_fait=a_certifier", "service_fait=certifie&status=valide"]
    # The closing-date filter alone and with each other filter (service fait too).
    for window in ("close", "ouverte"):
        found += [
            f"entries={window}",
            f"entries={window}&status=valide",
            f"entries={window}&status=non_valide",
            f"entries={window}&status=en_cours",
            f"entries={window}&session={session}",
            f"entries={window}&exam={exam}",
            f"entries={window}&name=durand",
            f"entries={window}&number=300010",
            f"entries={window}&service_fait=a_certifier",
            f"entries={window}&page=2",
        ]
    for page in (2, 3, 5, 6):
        found += [f"page={page}", f"status=valide&page={page}", f"session={session}&page={page}"]
    return ["/gestion?" + query for query in found]


@pytest.mark.parametrize("user", [GESTIONNAIRE, ADMIN])
def test_no_query_of_the_queue_reads_a_whole_table(queue_app, client, auth, user):
    assert auth.login(user).status_code == 303
    checked = 0
    failures = []
    for url in urls(queue_app):
        statements = queue_statements(queue_app, client, url)
        assert any("claim_count" in statement for statement, _ in statements), url
        for statement, lines in plans(queue_app, statements):
            checked += 1
            bad = full_scans(statement, lines)
            if bad:
                failures.append(f"{url}: {bad}\n  {statement[:300]}")
    assert checked > 100
    assert not failures, "\n".join(failures)


def test_the_check_sees_a_full_scan(queue_app):
    """The old queue's count (every claim of the bureau, grouped) is caught."""
    statement = (
        "SELECT exam_session.label, claim.pay_status, count(*) FROM mission "
        "JOIN claim ON mission.id = claim.mission_id "
        "JOIN exam_session ON exam_session.id = mission.session_id "
        "GROUP BY exam_session.label, claim.pay_status"
    )
    params = () if queue_app.extensions["imagin.engine"].dialect.name == "sqlite" else None
    ((_, lines),) = plans(queue_app, [(statement, params)])
    assert full_scans(statement, lines)
