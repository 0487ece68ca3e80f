"""The closing date of entries: default date, who may still change a part, reminders."""

import datetime as dt

import pytest

from imagin.domain.deadlines import (
    Deadline,
    closed_message,
    default_closing_date,
    due_reminder,
    may_change,
    parse_closing_date,
    reopen_errors,
    to_validate_text,
)
from imagin.domain.roles import Role
from imagin.domain.status import PartStatus as S

AUG_31 = dt.date(2026, 8, 31)
SESSION = Deadline(AUG_31)


@pytest.mark.parametrize(
    ("code", "label", "first_day", "expected"),
    [
        ("2026-06", "Session juin 2026", dt.date(2026, 6, 22), dt.date(2026, 8, 31)),
        ("BAC", "Session 2025", dt.date(2025, 6, 2), dt.date(2025, 8, 31)),
        ("X", "Y", dt.date(2024, 5, 2), dt.date(2024, 8, 31)),
        # A December session closes on the next 31 August, not before its own work.
        ("2022-12", "Session décembre 2022", dt.date(2022, 12, 2), dt.date(2023, 8, 31)),
    ],
)
def test_default_closing_date_is_31_august_of_the_session_year(code, label, first_day, expected):
    assert default_closing_date(code, label, first_day) == expected


def test_closing_date_in_the_file():
    assert parse_closing_date("31/08/2026") == AUG_31
    assert parse_closing_date("2026-08-31") == AUG_31
    with pytest.raises(ValueError, match="date de clôture invalide « 31/02/2026 »"):
        parse_closing_date("31/02/2026")


@pytest.mark.parametrize("status", [S.NOT_VALIDATED, S.TO_CORRECT, S.IN_PROGRESS])
def test_the_intervenant_may_change_until_the_closing_day_included(status):
    assert may_change(status, Role.INTERVENANT, SESSION, AUG_31)
    assert not may_change(status, Role.INTERVENANT, SESSION, AUG_31 + dt.timedelta(days=1))


def test_no_closing_date_never_closes():
    assert may_change(S.NOT_VALIDATED, Role.INTERVENANT, Deadline(None), dt.date(2099, 1, 1))


def test_a_reopening_replaces_the_session_date():
    reopened = Deadline(AUG_31, reopened_until=dt.date(2026, 9, 15))
    assert reopened.closes_on == dt.date(2026, 9, 15)
    assert may_change(S.NOT_VALIDATED, Role.INTERVENANT, reopened, dt.date(2026, 9, 15))
    assert not may_change(S.NOT_VALIDATED, Role.INTERVENANT, reopened, dt.date(2026, 9, 16))


def test_a_validated_part_stays_locked_whatever_the_date():
    assert not may_change(S.VALIDATED, Role.INTERVENANT, SESSION, dt.date(2026, 7, 1))


def test_the_dec_never_edits_entries_before_or_after_the_date():
    # The DEC sends back or reopens; it never types the intervenant's entries.
    for today in (dt.date(2026, 7, 1), AUG_31 + dt.timedelta(days=30)):
        assert not may_change(S.NOT_VALIDATED, Role.GESTIONNAIRE, SESSION, today)


def test_what_the_list_and_the_page_say():
    assert to_validate_text(S.NOT_VALIDATED, SESSION, dt.date(2026, 7, 1)) == (
        "À valider avant le 31/08/2026"
    )
    assert to_validate_text(S.TO_CORRECT, SESSION, dt.date(2026, 9, 1)) == (
        "Saisie close le 31/08/2026"
    )
    assert to_validate_text(S.VALIDATED, SESSION, dt.date(2026, 7, 1)) == ""
    assert to_validate_text(S.NOT_VALIDATED, Deadline(None), dt.date(2026, 7, 1)) == ""


def test_the_closed_message_names_the_date_and_the_dec():
    message = closed_message(SESSION, "DEC 2 — Examens", "dec2@ac-normandie.fr", "02 31 00 00 00")
    assert message == (
        "La saisie des états de frais de cette session est close depuis le 31/08/2026 : vous "
        "ne pouvez plus modifier ni valider cet état de frais. Pour le faire rouvrir, "
        "contactez DEC 2 — Examens (dec2@ac-normandie.fr, 02 31 00 00 00)."
    )


@pytest.mark.parametrize(
    ("today", "sent", "due"),
    [
        (dt.date(2026, 8, 16), set(), None),  # 15 days before
        (dt.date(2026, 8, 17), set(), 14),  # 14 days before
        (dt.date(2026, 8, 20), set(), 14),  # a worker that missed the day catches up
        (dt.date(2026, 8, 20), {(14, AUG_31)}, None),
        (dt.date(2026, 8, 28), {(14, AUG_31)}, 3),
        (dt.date(2026, 8, 28), set(), 3),  # only the nearer one when both are due
        (dt.date(2026, 8, 30), {(14, AUG_31), (3, AUG_31)}, None),
        (dt.date(2026, 9, 1), set(), None),  # closed: no reminder
        (dt.date(2026, 8, 28), {(14, dt.date(2026, 6, 30)), (3, dt.date(2026, 6, 30))}, 3),
    ],
)
def test_reminders_14_and_3_days_before_once_each(today, sent, due):
    assert due_reminder(SESSION, today, sent) == due


def test_a_reopening_needs_a_reason_and_a_future_date():
    today = dt.date(2026, 9, 10)
    assert reopen_errors("", None, today) == {
        "reason": "Indiquez le motif de la réouverture.",
        "until": "Indiquez la nouvelle date de clôture (jj/mm/aaaa).",
    }
    assert reopen_errors("Arrêt maladie", dt.date(2026, 9, 9), today) == {
        "until": "La nouvelle date de clôture ne peut pas être passée."
    }
    assert reopen_errors("Arrêt maladie", dt.date(2026, 9, 30), today) == {}
