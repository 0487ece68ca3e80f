"""Benchmark: the "to do first" mission list query and the reminders' due list, as the data grows.

Run with ``.venv/bin/python bench/deadlines.py``. On a scratch SQLite database (the demo,
then N more missions for Claire and 10 × N claims of other intervenants), prints the time
of one call of ``list_own_missions`` (page 1, 25 rows) and of ``due_reminders``, median of
20 runs. Figures only: always exits 0.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from serve import imagin_config
from sqlalchemy import func, insert, select, update

from imagin import clock, create_app
from imagin.claims.deadlines import due_reminders
from imagin.db import get_db
from imagin.demo import load_demo
from imagin.migrations import upgrade
from imagin.missions.queries import list_own_missions
from imagin.models import Claim, ExamSession, Mission, User
from imagin.storage import get_storage


def median_ms(call, runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def grow(db, owner_id: int, others: list[int], model: Mission, count: int, first: int) -> None:
    """``count`` missions for the owner and ten times as many for the others (bulk INSERTs)."""
    today = clock.today()
    rows = []
    for n in range(count * 11):
        day = today - dt.timedelta(days=n % 400)
        rows.append(
            {
                "number": first + n,
                "intervenant_id": owner_id if n < count else others[n % len(others)],
                "exam_id": model.exam_id,
                "session_id": model.session_id,
                "mission_type_id": model.mission_type_id,
                "centre_id": model.centre_id,
                "bureau_id": model.bureau_id,
                "starts_on": day,
                "ends_on": day,
            }
        )
    ids = list(db.scalars(insert(Mission).returning(Mission.id), rows))
    db.execute(insert(Claim), [{"mission_id": i} for i in ids])
    db.commit()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        app = create_app(imagin_config(instance))
        upgrade(app.extensions["imagin.engine"])
        with app.app_context():
            db = get_db()
            load_demo(db, "x", clock.today(), storage=get_storage())
            owner = db.scalar(select(User.id).where(User.email == "claire.martin@example.fr"))
            others = list(db.scalars(select(User.id).where(User.id != owner)))
            model = db.scalar(select(Mission).where(Mission.number == 621))
            db.execute(
                update(ExamSession)
                .where(ExamSession.id == model.session_id)
                .values(entries_close_on=clock.today() + dt.timedelta(days=3))
            )
            db.commit()
            first = 100_000
            print("missions of Claire | claims in all | list page 1 (ms) | due reminders (ms)")
            # Every claim of the grown data is due (its session closes in 3 days): the
            # reminders' time is that of building one reminder per claim due.
            for count in (100, 1_000, 5_000):
                grow(db, owner, others, model, count, first)
                first += count * 11
                total = db.scalar(select(func.count()).select_from(Claim))
                mine = db.scalar(select(func.count()).where(Mission.intervenant_id == owner))

                def page():
                    list_own_missions(
                        owner,
                        session_id=None,
                        status=None,
                        page=1,
                        per_page=25,
                        today=clock.today(),
                    )

                listed = median_ms(page)
                due = median_ms(lambda: due_reminders(db, clock.today()), runs=5)
                print(f"{mine:>18} | {total:>13} | {listed:>16.2f} | {due:>18.1f}")


if __name__ == "__main__":
    main()
