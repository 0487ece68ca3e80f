"""``imagin worker``: the background process of production — the outbox and the scheduled jobs.

Several workers may run (on several machines): each takes its own batches of
messages (see ``imagin.mail``), so none is sent twice. Between batches a
worker runs the scheduled jobs that are due. SIGTERM (systemd's stop) or
SIGINT lets the batch being sent finish, then the worker exits 0.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from imagin.mail import Sender

log = logging.getLogger(__name__)


@dataclass
class Job:
    """A job run every ``every``, by each worker (so it must be safe to run twice)."""

    name: str
    every: dt.timedelta
    run: Callable[[Flask], None]
    next_run: float = 0.0


def check_documents(app: Flask) -> None:
    """Report (never repair) files without a row and rows without a file."""
    from imagin.documents.consistency import check_storage
    from imagin.storage import get_storage

    with app.app_context(), app.extensions["imagin.sessionmaker"]() as db:
        report = check_storage(db, get_storage())
    if not report.consistent:
        log.warning(
            "Documents: %d file(s) without a row, %d row(s) without a file: "
            "run `imagin documents check`",
            len(report.orphan_files) + len(report.temporary_files),
            len(report.lost_documents),
        )


def send_deadline_reminders(app: Flask) -> int:
    """Queue the reminders of the closing dates due today (14 and 3 days before, once each)."""
    from imagin import clock
    from imagin.claims.deadlines import queue_reminders

    with app.app_context(), app.extensions["imagin.sessionmaker"]() as db:
        queued = queue_reminders(db, clock.now())
        db.commit()
    if queued:
        log.info("Deadline reminders: %d claim(s) reminded", len(queued))
    return len(queued)


# Safe to run often: a reminder already queued is never queued again.
REMINDERS = Job("deadline-reminders", dt.timedelta(hours=1), send_deadline_reminders)
JOBS = (Job("documents-check", dt.timedelta(hours=24), check_documents), REMINDERS)


class Worker:
    def __init__(self, app: Flask, jobs: tuple[Job, ...] = JOBS, poll: float | None = None):
        self.app = app
        self.sender = Sender(app, poll=poll)
        self.jobs = [Job(job.name, job.every, job.run) for job in jobs]
        self.stopping = self.sender.stopping

    def stop(self) -> None:
        self.sender.stop()

    def run(self) -> None:
        # The first check of each job waits one poll: a fleet restarted at once does
        # not check the bucket all together.
        start = time.monotonic()
        for job in self.jobs:
            job.next_run = start + min(job.every.total_seconds(), 60)
        # The sender loops in its own thread; this one runs the jobs and waits for the signal.
        thread = self.sender.start_thread()
        while not self.stopping.wait(1.0):
            self._run_due_jobs()
        thread.join()

    def _run_due_jobs(self) -> None:
        now = time.monotonic()
        for job in self.jobs:
            if now < job.next_run:
                continue
            job.next_run = now + job.every.total_seconds()
            try:
                job.run(self.app)
            except Exception:
                log.exception("Scheduled job %s failed", job.name)


@click.command("worker")
@with_appcontext
@click.option(
    "--poll",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Secondes entre deux regards sur la file des messages (défaut : MAIL_POLL_SECONDS).",
)
def worker_command(poll: float | None) -> None:
    """Send the outbox and run the scheduled jobs until SIGTERM (several may run at once)."""
    from imagin import ops

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["REQUEST_LOG"]:
        ops.configure_logging()
    worker = Worker(app, poll=poll)

    def stop(signum, _frame):
        log.info("Worker stopping (signal %s): finishing the batch being sent", signum)
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("Worker started (pid %s)", os.getpid())
    click.echo("IMAG'IN worker : envoi des messages et tâches planifiées (SIGTERM pour arrêter)")
    worker.run()
    click.echo("IMAG'IN worker arrêté.")
