"""Outgoing e-mail through an outbox table: queued with the change, sent in the background.

``queue_mail`` only adds an ``OutgoingMail`` row to the caller's transaction, so a
change of status and its message are committed together or not at all. No
request ever talks to the SMTP server: a background sender delivers the rows —
``imagin worker`` in production (several may run at once), or a thread inside
``imagin serve`` for the embedded setup (``SEND_MAIL_IN_SERVE``, on by default).
A commit that queued mail wakes the sender of its own process at once.

Delivery goes by SMTP when ``SMTP_HOST`` is set, else as ``.eml`` files in
``OUTBOX_DIR``. A sender first takes a lease on a batch of rows (``locked_until``;
on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so concurrent senders take disjoint
batches and never wait for each other) and commits it before talking to the
server; a failure is recorded on the row (``attempts``, ``last_error``) and the
next try waits longer each time (``next_attempt_at``). ``imagin mail list`` shows
what waits and why; ``imagin mail retry`` sends it now.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from sqlalchemy import event, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from imagin import clock
from imagin.models import OutgoingMail, PasswordLinkRequest

log = logging.getLogger(__name__)

DEFAULT_FROM = "IMAG'IN <no-reply@imagin.invalid>"
# Set in Session.info by queue_mail(s): this transaction queued mail, so its commit
# wakes the sender of this process.
_QUEUED = "imagin.mail_queued"
ERROR_LENGTH = 1000
# At most this many messages per lease: a sender commits the lease of a batch, sends
# it, then takes the next one.
BATCH = 100
# How long a sender holds the messages it took; one that died meanwhile (SIGKILL,
# power cut) lets them go then. Well above what a batch takes with SMTP_TIMEOUT.
LEASE = dt.timedelta(minutes=15)
# After the n-th failure the message waits FIRST_RETRY × 2^(n-1), at most LAST_RETRY.
FIRST_RETRY = dt.timedelta(minutes=1)
LAST_RETRY = dt.timedelta(hours=2)


@dataclass
class DeliveryReport:
    """What one delivery run did: ids sent, and the error of each id that failed."""

    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def wake_sender_after_commit(db: Session) -> None:
    """This transaction queued work for the sender: its commit wakes this process's sender."""
    db.info[_QUEUED] = True


def queue_mail(db: Session, to: str, subject: str, body: str) -> OutgoingMail:
    """Add a message to the caller's transaction; it is delivered only once that commits."""
    mail = OutgoingMail(to=to, subject=subject, body=body)
    db.add(mail)
    wake_sender_after_commit(db)
    return mail


def queue_mails(db: Session, messages: Iterable[tuple[str, str, str]]) -> list[int]:
    """Queue many (to, subject, body) messages with one INSERT (an import convokes hundreds)."""
    rows = [{"to": to, "subject": subject, "body": body} for to, subject, body in messages]
    if not rows:
        return []
    ids = list(db.scalars(insert(OutgoingMail).returning(OutgoingMail.id), rows))
    wake_sender_after_commit(db)
    return ids


def deliver_pending(
    app_or_config: Flask | Mapping[str, Any],
    db: Session,
    ids: Iterable[int] | None = None,
    *,
    limit: int = BATCH,
    due_only: bool = False,
) -> DeliveryReport:
    """Send one batch of unsent messages (only ``ids`` when given); never raises for a failure.

    With ``due_only`` (the background senders), messages waiting for their next
    try after a failure are left alone. Commits on ``db``: pass a session with
    nothing pending. The batch is leased and committed before anything is sent,
    so two senders never send the same message, and the database is not locked
    while the SMTP server answers.
    """
    config = app_or_config.config if isinstance(app_or_config, Flask) else app_or_config
    report = DeliveryReport()
    mails = _claim(db, ids, limit, due_only)
    if not mails:
        return report
    transport = (
        _SmtpTransport(config)
        if config.get("SMTP_HOST")
        else _FileTransport(outbox_dir(app_or_config))
    )
    try:
        for mail in mails:
            try:
                transport.send(mail.id, build_message(config, mail))
            except Exception as error:  # any failure is kept on the row
                report.failed[mail.id] = _describe(error)
                if not transport.usable:
                    # The server is unreachable: the others stay waiting for the next retry
                    # instead of each costing a full timeout.
                    break
            else:
                report.sent.append(mail.id)
    finally:
        transport.close()
    _record(db, report, mails)
    return report


def send_batch(app: Flask, db: Session, *, due_only: bool) -> DeliveryReport:
    """What a sender does each round: queue the requested links, then send one batch."""
    from imagin.notifications import queue_requested_password_links

    queue_requested_password_links(db)
    return deliver_pending(app, db, due_only=due_only)


def build_message(config: Mapping[str, Any], mail: OutgoingMail) -> EmailMessage:
    """The RFC 5322 message of a queued mail, in UTF-8."""
    sender = config.get("SMTP_FROM") or DEFAULT_FROM
    domain = parseaddr(sender)[1].rpartition("@")[2] or "imagin.invalid"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=True)
    # make_msgid() would otherwise look up the host name, which can be slow.
    message["Message-ID"] = make_msgid(f"imagin.{mail.id}", domain=domain)
    # RFC 3834: no out-of-office replies to a notification.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body, charset="utf-8")
    return message


def outbox_dir(app_or_config: Flask | Mapping[str, Any]) -> Path:
    """Where messages go without SMTP: OUTBOX_DIR, else the instance folder's outbox/."""
    app = app_or_config if isinstance(app_or_config, Flask) else None
    if app is None and has_app_context() and app_or_config is current_app.config:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config if app is not None else app_or_config
    if config.get("OUTBOX_DIR"):
        return Path(config["OUTBOX_DIR"])
    return Path(app.instance_path if app is not None else "instance") / "outbox"


def _claim(
    db: Session, ids: Iterable[int] | None, limit: int, due_only: bool
) -> list[OutgoingMail]:
    now = clock.now()
    query = select(OutgoingMail.id).where(
        OutgoingMail.sent_at.is_(None),
        or_(OutgoingMail.locked_until.is_(None), OutgoingMail.locked_until < now),
    )
    if due_only:
        query = query.where(
            or_(OutgoingMail.next_attempt_at.is_(None), OutgoingMail.next_attempt_at <= now)
        )
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        query = query.where(OutgoingMail.id.in_(wanted))
    # PostgreSQL: rows another sender is leasing right now are skipped, not waited for.
    # SQLite has no row locks: the sender's transaction holds the write lock instead.
    claimed = list(
        db.scalars(query.order_by(OutgoingMail.id).limit(limit).with_for_update(skip_locked=True))
    )
    if not claimed:
        db.rollback()
        return []
    db.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id.in_(claimed))
        .values(attempts=OutgoingMail.attempts + 1, locked_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    mails = list(
        db.scalars(
            select(OutgoingMail)
            .where(OutgoingMail.id.in_(claimed))
            .order_by(OutgoingMail.id)
            .execution_options(populate_existing=True)
        )
    )
    db.commit()
    return mails


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a message waits after its ``attempts``-th failed try."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LAST_RETRY)


def _record(db: Session, report: DeliveryReport, claimed: list[OutgoingMail]) -> None:
    now = clock.now()
    if report.sent:
        db.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id.in_(report.sent))
            .values(sent_at=now, last_error=None, locked_until=None, next_attempt_at=None)
        )
    # Claimed but not tried (the server went away first): give the attempt back.
    untried = [m.id for m in claimed if m.id not in report.failed and m.id not in report.sent]
    if untried:
        db.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id.in_(untried))
            .values(attempts=OutgoingMail.attempts - 1, locked_until=None)
        )
    attempts = {m.id: m.attempts for m in claimed}
    for mail_id, error in report.failed.items():
        db.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == mail_id)
            .values(
                last_error=error,
                locked_until=None,
                next_attempt_at=now + retry_delay(attempts[mail_id]),
            )
        )
    if report.failed:
        log.warning("Mails %s not delivered: %s", sorted(report.failed), _first(report.failed))
    if untried:
        # The others of the batch wait as long as the one that failed.
        first_failure = next(iter(report.failed), None)
        if first_failure is not None:
            db.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id.in_(untried))
                .values(next_attempt_at=now + retry_delay(attempts[first_failure]))
            )
    db.commit()


def _first(failed: Mapping[int, str]) -> str:
    return next(iter(failed.values()))


def _describe(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}"
    return text[:ERROR_LENGTH]


class _SmtpTransport:
    """One connection for the whole batch, opened at the first message."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.connection: smtplib.SMTP | None = None
        self.usable = True

    def send(self, _mail_id: int, message: EmailMessage) -> None:
        if self.connection is None:
            try:
                self.connection = self._connect()
            except Exception:
                self.usable = False
                raise
        try:
            self.connection.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
            # The server refused this message but still talks: go on with the next one.
            if not self._alive():
                self.usable = False
            raise
        except Exception:
            self.usable = False
            raise

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        host, port = config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25)
        timeout = float(config.get("SMTP_TIMEOUT") or 10)
        implicit_tls = bool(config.get("SMTP_SSL")) or port == 465
        connection: smtplib.SMTP = (
            smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
            if implicit_tls
            else smtplib.SMTP(host, port, timeout=timeout)
        )
        try:
            if not implicit_tls and (config.get("SMTP_STARTTLS") or port == 587):
                connection.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USER"):
                connection.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        except Exception:
            connection.close()
            raise
        return connection

    def _alive(self) -> bool:
        try:
            return self.connection is not None and self.connection.noop()[0] == 250
        except Exception:
            return False

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.quit()
        except Exception:  # the messages are already accounted for
            self.connection.close()


class _FileTransport:
    """Without SMTP: each message becomes ``<id>-<timestamp>.eml`` in the outbox folder."""

    usable = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, mail_id: int, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = clock.now().strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{mail_id}-{stamp}.eml"
        # Written aside then renamed, so a reader never sees half a message.
        partial = path.with_suffix(".eml.part")
        partial.write_bytes(bytes(message))
        partial.replace(path)

    def close(self) -> None:
        pass


# The background sender ------------------------------------------------------------------


class Sender:
    """Sends what the outbox holds, batch after batch, until told to stop.

    Used by ``imagin worker`` and by the thread inside ``imagin serve``. ``wake()``
    makes it look at once (a commit in this process queued mail); otherwise it
    looks every ``poll`` seconds, which also picks up what other processes
    queued and the retries that came due.
    """

    def __init__(self, app: Flask, *, poll: float | None = None, jobs=()) -> None:
        self.app = app
        self.poll = float(poll if poll is not None else app.config["MAIL_POLL_SECONDS"])
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self.thread: threading.Thread | None = None
        # Scheduled jobs this sender runs between batches (the embedded setup has no worker);
        # the first run waits a minute, as the worker's, so a start is not slowed by them.
        self.jobs = list(jobs)
        for job in self.jobs:
            job.next_run = time.monotonic() + min(job.every.total_seconds(), 60)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self.stopping.set()
        self._wake.set()

    def run(self) -> None:
        """Loop until stop(); a batch being sent is finished first (SIGTERM never cuts it)."""
        while not self.stopping.is_set():
            self._wake.clear()
            self.run_due_jobs()
            sent_some = self.send_due()
            if not sent_some:
                self._wake.wait(self.poll)

    def run_due_jobs(self) -> None:
        """Run the scheduled jobs whose time has come (each job is safe to run twice)."""
        now = time.monotonic()
        for job in self.jobs:
            if now < job.next_run:
                continue
            job.next_run = now + job.every.total_seconds()
            try:
                job.run(self.app)
            except Exception:
                log.exception("Scheduled job %s failed", job.name)

    def send_due(self) -> bool:
        """Send one batch of due messages; True when it sent or tried something."""
        try:
            with self.app.app_context():
                factory = self.app.extensions["imagin.sessionmaker"]
                with factory() as db:
                    report = send_batch(self.app, db, due_only=True)
        except Exception:
            # The database is restarting, say: the messages are safe, look again later.
            log.exception("Outbox: sending failed")
            return False
        return bool(report.sent or report.failed)

    def start_thread(self) -> threading.Thread:
        self.thread = threading.Thread(target=self.run, name="imagin-mail-sender", daemon=True)
        self.thread.start()
        return self.thread


def _after_commit(session: Session) -> None:
    if session.info.pop(_QUEUED, None):
        sender = _senders.get(session.info.get("imagin.app_id"))
        if sender is not None:
            sender.wake()


def _after_rollback(session: Session, previous_transaction) -> None:
    # Rolled-back messages were never stored.
    if previous_transaction.parent is None:
        session.info.pop(_QUEUED, None)


# The sender running in this process, per app (so a commit can wake it).
_senders: dict[int, Sender] = {}


def start_sender(app: Flask) -> Sender:
    """Start the sender thread of this process (``imagin serve``), with the reminders job."""
    from imagin.worker import REMINDERS, Job

    sender = Sender(app, jobs=[Job(REMINDERS.name, REMINDERS.every, REMINDERS.run)])
    _senders[id(app)] = sender
    sender.start_thread()
    return sender


def stop_sender(app: Flask) -> None:
    """Stop the sender thread of this process and wait for it: the batch under way is
    finished and its connection back in the pool when this returns.

    Returning at once left the thread using the engine after the caller disposed of it
    (the server's exit, a test's end): its connection, taken from the new pool that
    ``dispose()`` leaves, was never closed (ResourceWarning when collected).
    """
    sender = _senders.pop(id(app), None)
    if sender is not None:
        sender.stop()
        if sender.thread is not None:
            sender.thread.join()


def outbox_backlog(db: Session) -> tuple[int, dt.datetime | None]:
    """How many messages wait, and since when the oldest does (for /metrics and the list)."""
    count, oldest = db.execute(
        select(func.count(OutgoingMail.id), func.min(OutgoingMail.created_at)).where(
            OutgoingMail.sent_at.is_(None)
        )
    ).one()
    return int(count), oldest


def init_app(app: Flask) -> None:
    """Wake this process's sender after a commit that queued mail; add ``imagin mail``."""
    # Idempotent: the listeners must not be added twice.
    if "imagin.mail" in app.extensions:
        return
    app.extensions["imagin.mail"] = True
    factory: sessionmaker = app.extensions["imagin.sessionmaker"]
    factory.kw.setdefault("info", {})["imagin.app_id"] = id(app)
    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_soft_rollback", _after_rollback)
    app.cli.add_command(mail_cli)


# The ``imagin mail`` commands ------------------------------------------------------------


@click.group("mail")
def mail_cli() -> None:
    """Send and inspect the e-mails waiting in the outbox."""


@mail_cli.command("retry")
@with_appcontext
def retry_command() -> None:
    """Send every message not sent yet; exit status 1 when some still fail."""
    from imagin.db import get_db

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db = get_db()
    sent = 0
    failed: dict[int, str] = {}
    # Batch after batch while messages go out; a server that is down stops the first
    # batch at its first message, so this never waits more than one timeout.
    while True:
        report = send_batch(app, db, due_only=False)
        sent += len(report.sent)
        failed.update(report.failed)
        for mail_id in report.sent:
            failed.pop(mail_id, None)
        if not report.sent:
            break
    waiting = db.scalar(select(OutgoingMail.id).where(OutgoingMail.sent_at.is_(None)).limit(1))
    click.echo(f"{_plural(sent, 'message envoyé', 'messages envoyés')}.")
    if failed:
        last_error = next(reversed(failed.values()))
        click.echo(
            f"{_plural(len(failed), 'message en échec', 'messages en échec')} : {last_error}"
        )
    if waiting is not None:
        raise SystemExit(1)


@mail_cli.command("list")
@with_appcontext
def list_command() -> None:
    """List the messages not sent yet: tries, next try, and the last error."""
    from imagin.db import get_db

    db = get_db()
    now = clock.now()
    mails = db.scalars(
        select(OutgoingMail).where(OutgoingMail.sent_at.is_(None)).order_by(OutgoingMail.id)
    )
    count = 0
    for mail in mails:
        count += 1
        click.echo(
            f"{mail.id}\t{mail.to}\t{mail.subject}\t{mail.attempts} essai(s)"
            f"\t{_state(mail, now)}" + (f" — {mail.last_error}" if mail.last_error else "")
        )
    requests = db.scalar(select(func.count()).select_from(PasswordLinkRequest))
    if requests:
        click.echo(
            f"{_plural(requests, 'demande', 'demandes')} de lien de mot de passe, "
            "en attente du prochain passage de l'envoi."
        )
    if not count and not requests:
        click.echo("Aucun message en attente.")


def _state(mail: OutgoingMail, now: dt.datetime) -> str:
    if mail.locked_until is not None and mail.locked_until > now:
        return "en cours d'envoi"
    if mail.next_attempt_at is not None and mail.next_attempt_at > now:
        return f"prochain essai le {mail.next_attempt_at:%d/%m/%Y à %H:%M}"
    return "à envoyer"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count <= 1 else many}"
