"""A line of the mission list: the statuses users see on the day, and when a reason shows."""

import datetime as dt

import pytest

from imagin.domain.status import PartStatus
from imagin.missions.queries import ROW_COLUMNS, MissionRow, correction_reason

S = PartStatus
START, END = dt.date(2022, 12, 2), dt.date(2022, 12, 3)


def columns(
    pay=S.NOT_VALIDATED,
    travel=S.NOT_VALIDATED,
    pay_reason=None,
    travel_reason=None,
    closes_on=None,
    reopened_until=None,
):
    """Values in the order of ROW_COLUMNS, as the database returns them (statuses as text)."""
    return (
        621,
        START,
        END,
        "CERTIFICAT DE FORMATION GENERALE",
        "Session décembre 2022",
        "Interrogation orale",
        "PRISON CTRE PEN ALENCON",
        "06112932",
        str(pay),
        str(travel),
        pay_reason,
        travel_reason,
        closes_on,
        reopened_until,
    )


def test_columns_are_read_in_the_order_of_the_query():
    assert len(columns()) == len(ROW_COLUMNS)
    row = MissionRow.from_columns(columns(S.IN_PAYMENT, S.NO_COSTS), END)
    assert row.number == 621
    assert row.starts_on == START
    assert row.exam == "CERTIFICAT DE FORMATION GENERALE"
    assert row.session == "Session décembre 2022"
    assert row.mission_type == "Interrogation orale"
    assert (row.centre_name, row.centre_code) == ("PRISON CTRE PEN ALENCON", "06112932")
    assert (row.pay, row.travel) == (S.IN_PAYMENT, S.NO_COSTS)


@pytest.mark.parametrize(
    ("today", "shown"),
    [
        (START, S.IN_PROGRESS),
        (END, S.IN_PROGRESS),  # the last day is still "en cours"
        (END + dt.timedelta(days=1), S.NOT_VALIDATED),
    ],
)
def test_waiting_parts_are_in_progress_until_the_mission_ends(today, shown):
    row = MissionRow.from_columns(columns(S.NOT_VALIDATED, S.NOT_VALIDATED), today)
    assert row.pay is shown and row.travel is shown


@pytest.mark.parametrize("stored", [s for s in S if s is not S.NOT_VALIDATED])
def test_other_statuses_are_shown_as_stored(stored):
    row = MissionRow.from_columns(columns(stored, stored), START)
    assert row.pay is stored and row.travel is stored
    assert row.pay.label == stored.label


def test_each_part_has_its_own_status_and_reason():
    row = MissionRow.from_columns(
        columns(S.TO_CORRECT, S.APPROVED, "Feuille d'émargement manquante", "Billet illisible"),
        END,
    )
    assert (row.pay, row.travel) == (S.TO_CORRECT, S.APPROVED)
    assert row.pay_reason == "Feuille d'émargement manquante"
    assert row.travel_reason is None  # approved since: the old reason no longer applies


@pytest.mark.parametrize(
    ("stored", "reason", "shown"),
    [
        (S.TO_CORRECT, "Signature manquante", "Signature manquante"),
        (S.TO_CORRECT, "", None),
        (S.TO_CORRECT, None, None),
        (S.VALIDATED, "Signature manquante", None),
        (S.NOT_VALIDATED, "Signature manquante", None),
    ],
)
def test_reason_is_shown_only_for_a_part_to_correct(stored, reason, shown):
    assert correction_reason(stored, reason) == shown


def test_the_closing_date_shows_while_a_part_waits():
    aug_31 = dt.date(2023, 8, 31)
    waiting = MissionRow.from_columns(columns(closes_on=aug_31), END + dt.timedelta(days=1))
    assert waiting.deadline_text == "À valider avant le 31/08/2023"
    reopened = MissionRow.from_columns(
        columns(S.TO_CORRECT, closes_on=aug_31, reopened_until=dt.date(2023, 9, 15)), END
    )
    assert reopened.deadline_text == "À valider avant le 15/09/2023"
    closed = MissionRow.from_columns(columns(closes_on=aug_31), dt.date(2023, 9, 1))
    assert closed.deadline_text == "Saisie close le 31/08/2023"
    done = MissionRow.from_columns(columns(S.VALIDATED, S.APPROVED, closes_on=aug_31), END)
    assert done.deadline_text == ""
