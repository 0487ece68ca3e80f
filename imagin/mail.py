"""Outgoing e-mail through an outbox table: queued with the change, delivered after commit.

``queue_mail`` only adds an ``OutgoingMail`` row to the caller's transaction, so a
change of status and its message are committed together or not at all. Once
that transaction has committed, the rows it queued are delivered when the app
context ends (the end of the request, or of a CLI command): by SMTP when
``SMTP_HOST`` is set, else as ``.eml`` files in ``OUTBOX_DIR``. A delivery that
fails is recorded on the row (``attempts``, ``last_error``) and never reaches
the user's request; ``imagin mail retry`` sends what is still waiting.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, g, has_app_context
from flask.cli import with_appcontext
from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from imagin import clock
from imagin.models import OutgoingMail

log = logging.getLogger(__name__)

DEFAULT_FROM = "IMAG'IN <no-reply@imagin.invalid>"
# Mails queued in a session, waiting for its commit (kept in Session.info): the
# OutgoingMail objects of queue_mail, the ids of queue_mails.
_QUEUED = "imagin.mail_queued"
# Ids of committed mails to deliver when the app context ends (kept in flask.g).
_COMMITTED = "imagin_mail_committed"
ERROR_LENGTH = 1000
# At most this many messages per delivery run. A request delivers one run after its
# commit; what a very large import queues beyond it waits for `imagin mail retry`.
BATCH = 500


@dataclass
class DeliveryReport:
    """What one delivery run did: ids sent, and the error of each id that failed."""

    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def queue_mail(db: Session, to: str, subject: str, body: str) -> OutgoingMail:
    """Add a message to the caller's transaction; it is delivered only once that commits."""
    mail = OutgoingMail(to=to, subject=subject, body=body)
    db.add(mail)
    db.info.setdefault(_QUEUED, []).append(mail)
    return mail


def queue_mails(db: Session, messages: Iterable[tuple[str, str, str]]) -> list[int]:
    """Queue many (to, subject, body) messages with one INSERT (an import convokes hundreds)."""
    rows = [{"to": to, "subject": subject, "body": body} for to, subject, body in messages]
    if not rows:
        return []
    ids = list(db.scalars(insert(OutgoingMail).returning(OutgoingMail.id), rows))
    db.info.setdefault(_QUEUED, []).extend(ids)
    return ids


def deliver_pending(
    app_or_config: Flask | Mapping[str, Any],
    db: Session,
    ids: Iterable[int] | None = None,
    *,
    limit: int = BATCH,
) -> DeliveryReport:
    """Send the unsent messages (only ``ids`` when given); never raises for a delivery failure.

    Commits on ``db``: pass a session with nothing pending. Rows are claimed
    (``attempts`` + 1) and committed before anything is sent, so two processes
    delivering at once never send the same message twice, and the database is
    not locked while the SMTP server answers.
    """
    config = app_or_config.config if isinstance(app_or_config, Flask) else app_or_config
    report = DeliveryReport()
    mails = _claim(db, ids, limit)
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
    _record(db, report, [mail.id for mail in mails])
    return report


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


def _claim(db: Session, ids: Iterable[int] | None, limit: int) -> list[OutgoingMail]:
    query = select(OutgoingMail.id, OutgoingMail.attempts).where(OutgoingMail.sent_at.is_(None))
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        query = query.where(OutgoingMail.id.in_(wanted))
    waiting = db.execute(query.order_by(OutgoingMail.id).limit(limit)).all()
    by_attempts: dict[int, list[int]] = {}
    for mail_id, attempts in waiting:
        by_attempts.setdefault(attempts, []).append(mail_id)
    claimed: list[int] = []
    for attempts, group in by_attempts.items():
        # Only rows still at the count we read are ours; another sender got the rest.
        claimed += db.scalars(
            update(OutgoingMail)
            .where(
                OutgoingMail.id.in_(group),
                OutgoingMail.attempts == attempts,
                OutgoingMail.sent_at.is_(None),
            )
            .values(attempts=attempts + 1)
            .returning(OutgoingMail.id)
            .execution_options(synchronize_session=False)
        ).all()
    mails = (
        list(
            db.scalars(
                select(OutgoingMail)
                .where(OutgoingMail.id.in_(claimed))
                .order_by(OutgoingMail.id)
                .execution_options(populate_existing=True)
            )
        )
        if claimed
        else []
    )
    db.commit()
    return mails


def _record(db: Session, report: DeliveryReport, claimed: list[int]) -> None:
    if report.sent:
        db.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id.in_(report.sent))
            .values(sent_at=clock.now(), last_error=None)
        )
    by_error: dict[str, list[int]] = {}
    for mail_id, error in report.failed.items():
        by_error.setdefault(error, []).append(mail_id)
    # Claimed but not tried (the server went away first): give the attempt back.
    untried = [i for i in claimed if i not in report.failed and i not in report.sent]
    if untried:
        db.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id.in_(untried))
            .values(attempts=OutgoingMail.attempts - 1)
        )
    for error, group in by_error.items():
        db.execute(update(OutgoingMail).where(OutgoingMail.id.in_(group)).values(last_error=error))
        log.warning("Mail %s not delivered: %s", group, error)
    db.commit()


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


# Delivery after commit ------------------------------------------------------------------


def _after_commit(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued and has_app_context():
        # Ids come from queue_mails; a message object added inside a savepoint that
        # was rolled back is not persistent.
        ids = [
            mail if isinstance(mail, int) else mail.id
            for mail in queued
            if isinstance(mail, int) or inspect(mail).persistent
        ]
        g.setdefault(_COMMITTED, []).extend(ids)


def _after_rollback(session: Session, previous_transaction) -> None:
    # Rolled-back messages were never stored; only the outermost rollback discards
    # them all (a savepoint's leaves the others queued).
    if previous_transaction.parent is None:
        session.info.pop(_QUEUED, None)


def deliver_committed(_exc: BaseException | None = None) -> None:
    """At the end of the app context, deliver what its transactions queued and committed.

    The request's own session is closed first: on SQLite it may still hold the
    write lock, which the delivery session needs to record the result.
    """
    ids = g.pop(_COMMITTED, None)
    if not ids:
        return
    from imagin.db import close_db

    close_db()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with app.extensions["imagin.sessionmaker"]() as db:
            deliver_pending(app, db, ids)
    except Exception:
        # The messages are safely stored: `imagin mail retry` will send them.
        log.exception("Delivery of mails %s failed", ids)


def init_app(app: Flask) -> None:
    """Deliver queued mail after commit, and add the ``imagin mail`` commands."""
    # Idempotent: the listeners must not be added twice, or mail would be sent twice.
    if "imagin.mail" in app.extensions:
        return
    app.extensions["imagin.mail"] = True
    factory: sessionmaker = app.extensions["imagin.sessionmaker"]
    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_soft_rollback", _after_rollback)
    app.teardown_appcontext(deliver_committed)
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
        report = deliver_pending(app, db)
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
    """List the messages not sent yet, with their last error."""
    from imagin.db import get_db

    mails = get_db().scalars(
        select(OutgoingMail).where(OutgoingMail.sent_at.is_(None)).order_by(OutgoingMail.id)
    )
    count = 0
    for mail in mails:
        count += 1
        error = f" — {mail.last_error}" if mail.last_error else ""
        click.echo(f"{mail.id}\t{mail.to}\t{mail.subject}\t{mail.attempts} essai(s){error}")
    if not count:
        click.echo("Aucun message en attente.")


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count <= 1 else many}"
