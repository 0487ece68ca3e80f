"""Closing dates applied to stored claims: the DEC's reopening and the reminders.

The rule itself ("may this part still change?", which reminder is due) is
``imagin.domain.deadlines``; this module reads and writes the claims. Reminders
are queued in the outbox, each (claim, 14 or 3 days, closing date) once: a row
of ``deadline_reminder`` under a unique constraint, written in the same
transaction as the e-mail, so two workers running the job together send it once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imagin.claims.editing import ClaimConflict, claim_deadline, touch
from imagin.claims.workflow import Actor
from imagin.domain.deadlines import REMINDER_DAYS, Deadline, due_reminder, reopen_errors
from imagin.domain.money import format_date
from imagin.domain.status import EDITABLE_BY_INTERVENANT, PartStatus
from imagin.mail import queue_mail
from imagin.models import AuditEvent, Claim, DeadlineReminder, ExamSession, Mission, User
from imagin.notifications import external_url, mission_url

# Parts that still wait for the intervenant to validate ("Mission en cours" is stored so too).
WAITING = tuple(
    status.value for status in EDITABLE_BY_INTERVENANT if status is not PartStatus.IN_PROGRESS
)


class ReopenRefused(Exception):
    """The reopening is not valid: ``errors`` by field (reason, until), in French."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


def reopen(
    db: Session,
    mission: Mission,
    actor: Actor,
    reason: str,
    until: dt.date | None,
    *,
    version: str | None,
    now: dt.datetime,
) -> None:
    """Reopen the claim to the intervenant until ``until``, with the reason; the caller commits.

    :raise ReopenRefused: no reason, or a date in the past.
    :raise ClaimConflict: the page is stale, or nothing waits for the intervenant.
    """
    claim = mission.claim
    if str(claim.version) != str(version or "").strip():
        raise ClaimConflict(
            "Cet état de frais a changé depuis l'affichage de la page (autre onglet ou autre "
            "gestionnaire) : vérifiez-le de nouveau avant d'agir."
        )
    if not any(PartStatus(s) in EDITABLE_BY_INTERVENANT for s in (claim.pay, claim.travel)):
        raise ClaimConflict(
            "Rien n'attend l'intervenant dans cet état de frais : il n'y a rien à rouvrir."
        )
    errors = reopen_errors(reason, until, now.date())
    if errors:
        raise ReopenRefused(errors)
    before = claim_deadline(claim).closes_on
    claim.reopened_until = until
    touch(claim, now)
    change = f"Nouvelle date de clôture : {format_date(until)}"
    if before is not None:
        change += f" (au lieu du {format_date(before)})"
    db.add(
        AuditEvent(
            mission_id=mission.id,
            actor_id=actor.id,
            at=now,
            action="reopen",
            reason=reason.strip(),
            detail={"until": until.isoformat(), "changes": [change]},
        )
    )
    bureau = mission.bureau
    queue_mail(
        db,
        mission.intervenant.email,
        f"État de frais rouvert — mission N° {mission.number}",
        "\n".join(
            [
                "Bonjour,",
                "",
                f"La DEC a rouvert votre état de frais de la mission N° {mission.number} : vous "
                f"pouvez le compléter et le valider jusqu'au {format_date(until)} inclus.",
                "",
                f"Motif : {reason.strip()}",
                "",
                f"Votre mission : {mission_url(mission)}",
                "",
                f"Pour toute question : {bureau.name}, {bureau.email}, {bureau.phone}.",
            ]
        ),
    )


# --- Reminders ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """A reminder due today: to whom, for which mission, how many days before which date."""

    claim_id: int
    email: str
    name: str
    number: int
    days_before: int
    closes_on: dt.date


def due_reminders(db: Session, today: dt.date) -> list[Reminder]:
    """The reminders due today and not queued yet, in two queries whatever their number."""
    closes_on = func.coalesce(Claim.reopened_until, ExamSession.entries_close_on)
    horizon = today + dt.timedelta(days=max(REMINDER_DAYS))
    rows = db.execute(
        select(
            Claim.id,
            Claim.reopened_until,
            ExamSession.entries_close_on,
            Mission.number,
            User.email,
            User.first_name,
            User.last_name,
        )
        .join(Mission, Claim.mission_id == Mission.id)
        .join(ExamSession, Mission.session_id == ExamSession.id)
        .join(User, Mission.intervenant_id == User.id)
        .where(
            Mission.cancelled.is_(False),
            User.active.is_(True),
            or_(Claim.pay_status.in_(WAITING), Claim.travel_status.in_(WAITING)),
            closes_on >= today,
            closes_on <= horizon,
        )
        .order_by(User.email, Mission.number)
    ).all()
    if not rows:
        return []
    sent: dict[int, set[tuple[int, dt.date]]] = defaultdict(set)
    # Only reminders of closing dates still to come can match (no IN list of ids: a
    # session of tens of thousands of claims would pass the drivers' parameter limits).
    for claim_id, days, date in db.execute(
        select(
            DeadlineReminder.claim_id, DeadlineReminder.days_before, DeadlineReminder.closes_on
        ).where(DeadlineReminder.closes_on >= today, DeadlineReminder.closes_on <= horizon)
    ):
        sent[claim_id].add((days, date))
    due = []
    for claim_id, reopened, session_date, number, email, first, last in rows:
        deadline = Deadline(session_date, reopened)
        days = due_reminder(deadline, today, sent[claim_id])
        if days is not None:
            due.append(
                Reminder(
                    claim_id,
                    email,
                    User.name_for(first, last, email),
                    number,
                    days,
                    deadline.closes_on,
                )
            )
    return due


def _message(reminders: list[Reminder]) -> tuple[str, str]:
    first = reminders[0]
    numbers = ", ".join(f"N° {r.number}" for r in reminders)
    subject = (
        f"Rappel : état de frais à valider avant le {format_date(first.closes_on)}"
        if len(reminders) == 1
        else f"Rappel : {len(reminders)} états de frais à valider"
    )
    lines = [
        f"Bonjour {first.name},",
        "",
        "Il vous reste à compléter et valider votre état de frais pour "
        + ("la mission " if len(reminders) == 1 else "les missions ")
        + f"{numbers}.",
        "",
        *(
            f"Mission N° {r.number} : à valider au plus tard le {format_date(r.closes_on)} — "
            + external_url("missions.suivi", number=r.number)
            for r in reminders
        ),
        "",
        "Après cette date, la saisie est close : seule la DEC peut la rouvrir.",
    ]
    return subject, "\n".join(lines)


def queue_reminders(db: Session, now: dt.datetime) -> list[Reminder]:
    """Queue today's reminders, one e-mail per intervenant and kind; the caller commits.

    Each reminder's row and its e-mail are written in one savepoint: a reminder another
    worker queued meanwhile (the unique constraint) is skipped, with its e-mail.
    """
    grouped: dict[tuple[str, int], list[Reminder]] = defaultdict(list)
    for reminder in due_reminders(db, now.date()):
        grouped[(reminder.email, reminder.days_before)].append(reminder)
    queued: list[Reminder] = []
    for (email, _days), reminders in grouped.items():
        try:
            with db.begin_nested():
                db.add_all(
                    DeadlineReminder(
                        claim_id=r.claim_id,
                        days_before=r.days_before,
                        closes_on=r.closes_on,
                        queued_at=now,
                    )
                    for r in reminders
                )
                db.flush()
                queue_mail(db, email, *_message(reminders))
        except IntegrityError:
            continue
        queued.extend(reminders)
    return queued
