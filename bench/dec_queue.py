"""Benchmark: the DEC queue (/gestion) at 10 k and 1 M missions, on SQLite and PostgreSQL.

Run with ``make bench`` (or ``python bench/dec_queue.py --sizes 10000``). Each database
is generated once with bulk inserts and reused by later runs: a SQLite file under
``$IMAGIN_BENCH_DIR`` (default: the system's temporary directory) and, when
``IMAGIN_BENCH_DATABASE_URL`` or ``IMAGIN_TEST_DATABASE_URL`` names a PostgreSQL
server, a database ``<name>_dec_<size>`` on it. Half the missions belong to the bureau
of the demo's gestionnaire. /gestion is then requested in-process, signed in as that
gestionnaire, for the unfiltered first page and a few filters; the median of several
requests is printed, with the goal (≤ 50 ms, 1 M ÷ 10 k ≤ 1.5). Always exits 0.

Besides the wall time it prints the app process's CPU time and, when the PostgreSQL
server runs on this machine, its backends' CPU time for the request (from
``/proc/<pid>/schedstat``, in nanoseconds), the number of round trips to the server,
and how long both processes waited for a core (run queue): on a loaded machine the
wall time is mostly that wait, the CPU times and round trips are what the code costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import imagin_config

from imagin import clock, create_app
from imagin.auth.passwords import hash_password
from imagin.db import get_db, make_engine
from imagin.demo import DEMO_PASSWORD, load_demo
from imagin.migrations import upgrade
from imagin.models.counts import DROP, TRIGGERS, rebuild_counts
from imagin.storage import get_storage

GESTIONNAIRE = "dec.orleans@example.fr"
GOAL_MS = 50.0
GOAL_RATIO = 1.5
REPEAT = 7
INTERVENANTS = 5_000
SESSIONS = 12
EXAMS = 120
FIRST_NUMBER = 10_000_000
# Stored statuses of the generated claims, with their weights: mostly history already
# paid, a backlog waiting for the DEC, claims not yet validated, some sent back.
STATUSES = [
    (("mis_en_paiement", "mis_en_paiement"), 55),
    (("mis_en_paiement", "pas_de_frais"), 10),
    (("valide_gestionnaire", "valide_gestionnaire"), 8),
    (("valide", "valide"), 4),
    (("valide", "pas_de_frais"), 2),
    (("non_valide", "non_valide"), 12),
    (("non_valide", "pas_de_frais"), 4),
    (("a_corriger", "valide_gestionnaire"), 2),
    (("annule", "annule"), 2),
    (("non_effectuee", "non_effectuee"), 1),
]
SCENARIOS = [
    ("unfiltered, page 1", ""),
    ("page 2", "page=2"),
    ("status valide", "status=valide"),
    ("session", "session={session}"),
    ("exam", "exam={exam}"),
    ("number", "number={number}"),
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sqlite_url(size: int) -> str:
    folder = Path(os.environ.get("IMAGIN_BENCH_DIR") or tempfile.gettempdir()) / "imagin-bench"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / f'dec_queue_{size}.db'}"


def postgres_url(size: int) -> str | None:
    server = os.environ.get("IMAGIN_BENCH_DATABASE_URL") or os.environ.get(
        "IMAGIN_TEST_DATABASE_URL"
    )
    if not server:
        return None
    url = make_url(server)
    return url.set(database=f"{url.database}_dec_{size}").render_as_string(False)


def ensure_postgres_database(url: str) -> None:
    target = make_url(url)
    admin = make_engine(target.set(database="postgres").render_as_string(False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def generated(engine, size: int) -> bool:
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM mission")) >= size
    except Exception:
        return False


def generate(url: str, size: int) -> None:
    """Migrate, load the demo, then add missions and claims up to ``size`` in bulk."""
    instance = Path(tempfile.mkdtemp(prefix="imagin-bench-"))
    app = create_app({**imagin_config(instance), "DATABASE_URL": url})
    engine = app.extensions["imagin.engine"]
    if generated(engine, size):
        engine.dispose()
        return
    started = time.perf_counter()
    log(f"generating {size} missions in {make_url(url).render_as_string()} …")
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    with app.app_context():
        load_demo(get_db(), hash_password(DEMO_PASSWORD), clock.today(), storage=get_storage())
    with engine.begin() as connection:
        dialect = connection.dialect.name
        # Counting each inserted row would only slow the load: counted once at the end.
        for statement in DROP[dialect]:
            connection.exec_driver_sql(statement)
        _bulk_rows(connection, size)
        for statement in TRIGGERS[dialect]:
            connection.exec_driver_sql(statement)
        rebuild_counts(connection)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    log(f"  generated in {time.perf_counter() - started:.0f} s")


def _bulk_rows(connection, size: int) -> None:
    rng = random.Random(size)
    one = lambda sql: connection.scalar(text(sql))  # noqa: E731
    mine = one(
        "SELECT bm.bureau_id FROM bureau_member bm JOIN user_account u ON u.id = bm.user_id "
        f"WHERE u.email = '{GESTIONNAIRE}'"
    )
    other = one(f"SELECT min(id) FROM bureau WHERE id <> {mine}")
    if other is None:
        connection.execute(
            text(
                "INSERT INTO bureau (code, name, email, phone, address) "
                "VALUES ('BENCH', 'Autre bureau', 'autre@example.fr', '0000', '')"
            )
        )
        other = one("SELECT max(id) FROM bureau")
    type_id, centre_id = (
        one("SELECT min(id) FROM mission_type"),
        one("SELECT min(id) FROM exam_centre"),
    )
    existing = one("SELECT count(*) FROM mission")
    wanted = size - existing
    user_base = one("SELECT max(id) FROM user_account") + 1
    session_base = one("SELECT max(id) FROM exam_session") + 1
    exam_base = one("SELECT max(id) FROM exam") + 1
    mission_base = one("SELECT max(id) FROM mission") + 1
    claim_base = one("SELECT max(id) FROM claim") + 1
    users = [
        (
            user_base + i,
            f"bench{i}@example.fr",
            f"Prénom{i}",
            f"Nom{i % 997}",
            "intervenant",
            f"bench-token-{size}-{i}",
            "",
            "",
            True,
        )
        for i in range(INTERVENANTS)
    ]
    sessions = [
        (session_base + i, f"B{2015 + i}", f"Session bench {2015 + i}") for i in range(SESSIONS)
    ]
    exams = [(exam_base + i, f"Examen bench {i:03d}", "copy:1") for i in range(EXAMS)]
    today = clock.today()
    weights = [w for _, w in STATUSES]

    def missions():
        for i in range(wanted):
            session = i * SESSIONS // wanted
            starts = dt.date(2015 + session, 1, 1) + dt.timedelta(days=rng.randrange(330))
            starts = min(starts, today + dt.timedelta(days=30))
            yield (
                mission_base + i,
                FIRST_NUMBER + i,
                user_base + rng.randrange(INTERVENANTS),
                exam_base + rng.randrange(EXAMS),
                session_base + session,
                type_id,
                centre_id,
                mine if i % 2 == 0 else other,
                "",
                "",
                True,
                True,
                False,
                starts,
                starts,
            )

    def claims():
        for i in range(wanted):
            pay, travel = rng.choices(STATUSES, weights)[0][0]
            validated = None
            if pay not in ("non_valide", "pas_de_frais"):
                validated = dt.datetime(2015, 1, 1) + dt.timedelta(seconds=rng.randrange(10**9))
            yield (claim_base + i, mission_base + i, pay, travel, 1, validated)

    tables = [
        (
            "user_account",
            "id, email, first_name, last_name, role, session_token, "
            "family_commune, admin_commune, active",
            users,
        ),
        ("exam_session", "id, code, label", sessions),
        ("exam", "id, name, rate_class", exams),
        (
            "mission",
            "id, number, intervenant_id, exam_id, session_id, mission_type_id, "
            "centre_id, bureau_id, specialite, epreuve_option, pay_applies, travel_applies, "
            "cancelled, starts_on, ends_on",
            missions(),
        ),
        ("claim", "id, mission_id, pay_status, travel_status, version, validated_at", claims()),
    ]
    raw = connection.connection.driver_connection
    for table, columns, rows in tables:
        if connection.dialect.name == "postgresql":
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns.split(",")))
            raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    if connection.dialect.name == "postgresql":
        for table in ("user_account", "exam_session", "exam", "mission", "claim"):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )


def _schedstat(pid: int | str) -> tuple[int, int]:
    """(ns on a core, ns waiting for one) of a process of this machine, (0, 0) if unknown."""
    try:
        on_cpu, waiting, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return 0, 0
    return int(on_cpu), int(waiting)


class Probe:
    """What a request cost the database server's backends (CPU time) and how long the
    app and the server waited for a core, read from /proc when the server runs on this
    machine (nothing otherwise, nor on SQLite, whose queries are in the app's CPU time)."""

    def __init__(self, engine) -> None:
        self.backends: set[int] = set()
        local = engine.url.host in (None, "", "localhost", "127.0.0.1", "::1")
        if engine.dialect.name == "postgresql" and local:

            @event.listens_for(engine, "connect")
            def _connected(dbapi_connection, _record):
                self.backends.add(dbapi_connection.info.backend_pid)

    def sample(self) -> tuple[int, int]:
        """(server CPU ns, ns the app and the server waited for a core) so far."""
        cpu, waited = 0, _schedstat("self")[1]
        for pid in self.backends:
            on_cpu, waiting = _schedstat(pid)
            cpu += on_cpu
            waited += waiting
        return cpu, waited


def measure(url: str, scenarios=SCENARIOS, repeat: int = REPEAT) -> dict[str, float]:
    """Median time of /gestion, in-process, for each scenario, in milliseconds."""
    instance = Path(tempfile.mkdtemp(prefix="imagin-bench-"))
    app = create_app({**imagin_config(instance), "DATABASE_URL": url})
    engine = app.extensions["imagin.engine"]
    probe = Probe(engine)
    with engine.connect() as connection:
        values = {
            "session": connection.scalar(text("SELECT max(session_id) FROM mission")),
            "exam": connection.scalar(text("SELECT max(exam_id) FROM mission")),
            "number": connection.scalar(text("SELECT max(number) FROM mission")),
        }
    client = app.test_client()
    page = client.get("/intervenant").get_data(as_text=True)
    token = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/intervenant",
        data={"csrf_token": token, "email": GESTIONNAIRE, "password": DEMO_PASSWORD},
    )
    assert response.status_code == 303, response.status_code
    results = {}
    client.get("/gestion")  # warm-up: templates compiled, statements cached
    for name, query in scenarios:
        path = "/gestion" + ("?" + query.format(**values) if query else "")
        times, cpu, server, waited = [], [], [], []
        for _ in range(repeat):
            server_before, waited_before = probe.sample()
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            server_after, waited_after = probe.sample()
            server.append((server_after - server_before) / 1e6)
            waited.append((waited_after - waited_before) / 1e6)
            assert response.status_code == 200, (path, response.status_code)
        results[name] = statistics.median(times)
        results[name + " cpu"] = statistics.median(cpu)
        if probe.backends:
            results[name + " server cpu"] = statistics.median(server)
            results[name + " run queue"] = statistics.median(waited)
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--first-page-only", action="store_true")
    args = parser.parse_args()
    scenarios = SCENARIOS[:1] if args.first_page_only else SCENARIOS
    sizes = [int(size) for size in args.sizes.split(",")]
    figures: dict[tuple[str, int], dict[str, float]] = {}
    for size in sizes:
        targets = []
        if args.only != "postgresql":
            targets.append(("sqlite", sqlite_url(size)))
        if args.only != "sqlite" and postgres_url(size):
            ensure_postgres_database(postgres_url(size))
            targets.append(("postgresql", postgres_url(size)))
        for engine_name, url in targets:
            generate(url, size)
            figures[engine_name, size] = measure(url, scenarios, args.repeat)
    print("DEC queue (/gestion), median of", args.repeat, "in-process requests, ms")
    print("load average of the machine (1, 5, 15 min):", *os.getloadavg())
    names = [name for name, _ in scenarios]
    print("(wall time; then the app process's CPU time, which other load on the machine")
    print("disturbs less: on SQLite it includes the queries, on PostgreSQL not the server's;")
    print("on a local PostgreSQL, its backends' CPU time and the time the app and the")
    print("server waited for a core, the share of the wall time due to the machine's load)")
    print(f"{'database':<22}" + "".join(f"{name:>20}" for name in names))
    for (engine_name, size), results in figures.items():
        print(
            f"{engine_name + ' ' + format(size, ','):<22}"
            + "".join(f"{results[name]:>20.1f}" for name in names)
        )
        for label, key in (
            ("  cpu", " cpu"),
            ("  server cpu", " server cpu"),
            ("  run queue", " run queue"),
        ):
            if names[0] + key in results:
                print(f"{label:<22}" + "".join(f"{results[name + key]:>20.1f}" for name in names))
    for engine_name in ("sqlite", "postgresql"):
        small, large = (
            figures.get((engine_name, min(sizes))),
            figures.get((engine_name, max(sizes))),
        )
        if not large:
            continue
        first = large["unfiltered, page 1"]
        verdict = "met" if first <= GOAL_MS else "NOT met"
        line = (
            f"{engine_name}: {first:.1f} ms at {max(sizes):,} (goal ≤ {GOAL_MS:.0f} ms: {verdict})"
        )
        if small and small is not large:
            ratio = first / small["unfiltered, page 1"]
            line += f"; {max(sizes):,} ÷ {min(sizes):,} = {ratio:.2f} (goal ≤ {GOAL_RATIO}: "
            line += "met)" if ratio <= GOAL_RATIO else "NOT met)"
        print(line)


if __name__ == "__main__":
    main()
