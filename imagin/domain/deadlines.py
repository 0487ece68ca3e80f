"""The closing date of entries: until when may the intervenant still change a part?

Each exam session closes its entries on a date (Rouen: 31 August of the session's
year). After it the claim is read-only for the intervenant; only the DEC can reopen
one claim, with a reason and a new date. This module is the one home of "may this
part still change?": ``may_change`` joins the state machine's ``may_edit`` and the
closing date, and every guard and every page asks it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from imagin.domain.money import format_date
from imagin.domain.roles import Role
from imagin.domain.status import EDITABLE_BY_INTERVENANT, PartStatus
from imagin.domain.transitions import may_edit

__all__ = [
    "REMINDER_DAYS",
    "Deadline",
    "EntryWindow",
    "closed_message",
    "default_closing_date",
    "due_reminder",
    "may_change",
    "parse_closing_date",
    "reopen_errors",
    "to_validate_text",
]

# Reminders are e-mailed this many days before the closing date, once each.
REMINDER_DAYS = (14, 3)
MAX_REOPEN_DAYS = 366
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def default_closing_date(session_code: str, session_label: str, first_day: dt.date) -> dt.date:
    """31 August of the session's year (read in its code or label, else its first day's).

    A session whose missions start after that 31 August (a December session) closes
    on the next 31 August: a closing date before the work would close it unopened.
    """
    found = _YEAR.search(session_code) or _YEAR.search(session_label)
    year = int(found.group(1)) if found else first_day.year
    closing = dt.date(year, 8, 31)
    if closing < first_day:
        closing = dt.date(first_day.year + (first_day > dt.date(first_day.year, 8, 31)), 8, 31)
    return closing


def parse_closing_date(value: str) -> dt.date:
    """ "31/08/2026" or "2026-08-31"; ValueError with a French message."""
    value = value.strip()
    try:
        if "/" in value:
            day, month, year = (int(part) for part in value.split("/"))
        else:
            year, month, day = (int(part) for part in value.split("-"))
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(
            f"date de clôture invalide « {value} » : jj/mm/aaaa attendu (ex. 31/08/2026)."
        ) from None


@dataclass(frozen=True)
class Deadline:
    """The closing date of a claim: its session's, or the one the DEC set when reopening."""

    session_closes_on: dt.date | None
    reopened_until: dt.date | None = None

    @property
    def closes_on(self) -> dt.date | None:
        """The last day entries are open (None: no closing date)."""
        if self.reopened_until is not None:
            return self.reopened_until
        return self.session_closes_on

    def passed(self, today: dt.date) -> bool:
        """Whether the entries are closed on that day (the closing day itself is open)."""
        return self.closes_on is not None and today > self.closes_on

    def days_left(self, today: dt.date) -> int | None:
        return None if self.closes_on is None else (self.closes_on - today).days


class EntryWindow(StrEnum):
    """Whether a claim's entries are still open on a day (the DEC queue's filter)."""

    OPEN = "ouverte"
    CLOSED = "close"

    @property
    def label(self) -> str:
        return "Saisie ouverte" if self is EntryWindow.OPEN else "Saisie close"

    @classmethod
    def of(cls, deadline: Deadline, today: dt.date) -> EntryWindow:
        return cls.CLOSED if deadline.passed(today) else cls.OPEN


def may_change(status: PartStatus, role: Role, deadline: Deadline, today: dt.date) -> bool:
    """Whether ``role`` may still change a part in ``status``, given its closing date.

    The intervenant may not once the date has passed. The DEC never edits entries
    (``may_edit``); its review actions are not bound by the date, and it reopens.
    """
    if not may_edit(PartStatus(status), Role(role)):
        return False
    return Role(role) is not Role.INTERVENANT or not deadline.passed(today)


def closed_message(deadline: Deadline, bureau_name: str, bureau_email: str, phone: str) -> str:
    """Why the intervenant can no longer change a claim past its closing date, in French."""
    closes_on = deadline.closes_on
    when = f"le {format_date(closes_on)}" if closes_on else ""
    return (
        f"La saisie des états de frais de cette session est close depuis {when} : "
        "vous ne pouvez plus modifier ni valider cet état de frais. Pour le faire "
        f"rouvrir, contactez {bureau_name} ({bureau_email}, {phone})."
    )


def to_validate_text(status: PartStatus, deadline: Deadline, today: dt.date) -> str:
    """ "À valider avant le 31/08/2026" while a part still waits for the intervenant."""
    if deadline.closes_on is None or PartStatus(status) not in EDITABLE_BY_INTERVENANT:
        return ""
    if deadline.passed(today):
        return f"Saisie close le {format_date(deadline.closes_on)}"
    return f"À valider avant le {format_date(deadline.closes_on)}"


def due_reminder(
    deadline: Deadline, today: dt.date, already_sent: set[tuple[int, dt.date]]
) -> int | None:
    """Which reminder (14 or 3 days before) is due today and not sent yet, or None.

    A reminder is due from its day until the closing date; ``already_sent`` holds the
    (days_before, closing date) pairs already queued for the claim. When both are due
    (a worker that did not run for days), only the nearer one is sent.
    """
    closes_on = deadline.closes_on
    if closes_on is None or today > closes_on:
        return None
    left = (closes_on - today).days
    due = [days for days in REMINDER_DAYS if left <= days]
    if not due:
        return None
    nearest = min(due)
    if any((days, closes_on) in already_sent for days in REMINDER_DAYS if days <= nearest):
        return None
    return nearest


def reopen_errors(reason: str, new_date: dt.date | None, today: dt.date) -> dict[str, str]:
    """What is wrong in a reopening by the DEC: a reason and a date after today are required."""
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "Indiquez le motif de la réouverture."
    elif len(reason) > 1000:
        errors["reason"] = "Le motif ne peut pas dépasser 1 000 caractères."
    if new_date is None:
        errors["until"] = "Indiquez la nouvelle date de clôture (jj/mm/aaaa)."
    elif new_date < today:
        errors["until"] = "La nouvelle date de clôture ne peut pas être passée."
    elif (new_date - today).days > MAX_REOPEN_DAYS:
        errors["until"] = "La nouvelle date de clôture doit être dans l'année qui vient."
    return errors
