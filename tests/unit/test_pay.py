"""Pay part: checks of hours and counts, and the estimated pay."""

import datetime as dt
from decimal import Decimal

import pytest

from imagin.domain.errors import FieldError
from imagin.domain.pay import (
    HoursLine,
    PayEntry,
    PayEstimate,
    check_counts,
    check_hours,
    estimate_pay,
    parse_rate_class,
    total_minutes,
)
from imagin.domain.rates import OFFICIAL_RATES, RateTable
from imagin.domain.refs import FieldRef, Section

RATES = RateTable(OFFICIAL_RATES)
DAY = dt.date(2022, 12, 2)
NEXT_DAY = dt.date(2022, 12, 3)


def plain(text: str) -> str:
    """Babel's no-break spaces as plain spaces, to keep the expected strings readable."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def hours(index: int, name: str) -> FieldRef:
    return FieldRef(Section.HOURS, str(index), name)


def pay(name: str) -> FieldRef:
    return FieldRef(Section.PAY, field=name)


def line(day, start, end):
    return HoursLine(day, dt.time.fromisoformat(start), dt.time.fromisoformat(end))


# --- check_hours --------------------------------------------------------------------------


def test_hours_of_mission_621_are_valid():
    assert check_hours([line(DAY, "09:00", "12:30")], {DAY}) == []


def test_hours_on_a_day_outside_the_mission():
    assert check_hours([line(NEXT_DAY, "09:00", "12:00")], {DAY}) == [
        FieldError(hours(0, "day"), "Le 03/12/2022 n'est pas un jour de la mission.")
    ]


@pytest.mark.parametrize(("start", "end"), [("12:00", "09:00"), ("09:00", "09:00")])
def test_end_must_be_after_start(start, end):
    assert check_hours([line(DAY, start, end)], {DAY}) == [
        FieldError(hours(0, "end"), "L'heure de fin doit être après l'heure de début.")
    ]


def test_overlapping_lines_of_the_same_day():
    lines = [line(DAY, "09:00", "12:30"), line(DAY, "12:00", "14:00")]
    assert check_hours(lines, {DAY}) == [
        FieldError(hours(1, "start"), "Ces horaires chevauchent ceux de 09:00–12:30.")
    ]


def test_adjacent_lines_and_other_days_do_not_overlap():
    lines = [line(DAY, "09:00", "12:30"), line(DAY, "12:30", "14:00")]
    lines.append(line(NEXT_DAY, "09:00", "12:30"))
    assert check_hours(lines, {DAY, NEXT_DAY}) == []


def test_twelve_hours_a_day_at_most():
    assert check_hours([line(DAY, "07:00", "19:00")], {DAY}) == []
    lines = [line(DAY, "06:00", "12:00"), line(DAY, "13:00", "19:30")]
    errors = check_hours(lines, {DAY})
    assert [(e.ref, plain(e.message)) for e in errors] == [
        (hours(1, "end"), "Pas plus de 12 h par jour : 12 h 30 saisies le 02/12/2022.")
    ]


def test_total_minutes():
    assert total_minutes([line(DAY, "09:00", "12:30"), line(NEXT_DAY, "14:00", "15:15")]) == 285
    assert total_minutes([]) == 0
    assert total_minutes([line(DAY, "12:00", "09:00")]) == 0


# --- check_counts -------------------------------------------------------------------------


def test_counts_within_limits():
    assert check_counts(PayEntry(True, copies=2000, candidates=500)) == []
    assert check_counts(PayEntry(True, copies=0, candidates=0)) == []
    assert check_counts(PayEntry()) == []


def test_counts_out_of_limits():
    errors = check_counts(PayEntry(True, copies=2001, candidates=-1))
    assert [(e.ref, plain(e.message)) for e in errors] == [
        (pay("copies"), "Le nombre de copies ne peut pas dépasser 2 000."),
        (pay("candidates"), "Le nombre de candidats ne peut pas être négatif."),
    ]


def test_counts_must_be_whole_numbers():
    errors = check_counts(PayEntry(True, copies=Decimal("1.5"), candidates=501))
    assert [(e.ref, e.message) for e in errors] == [
        (pay("copies"), "Le nombre de copies doit être un nombre entier."),
        (pay("candidates"), "Le nombre de candidats ne peut pas dépasser 500."),
    ]


# --- estimate_pay -------------------------------------------------------------------------


def test_forty_copies_at_rate_3():
    estimate = estimate_pay(PayEntry(True, copies=40), "copy:3", DAY, RATES)
    assert estimate.amount == Decimal("69.20")
    assert plain(estimate.formula) == "40 copies × 1,73 € = 69,20 €"
    assert estimate.applies
    assert estimate.reason == ""


@pytest.mark.parametrize(
    ("copies", "formula"),
    [(1, "1 copie × 0,75 € = 0,75 €"), (0, "0 copie × 0,75 € = 0,00 €")],
)
def test_copy_is_singular_for_zero_and_one(copies, formula):
    estimate = estimate_pay(PayEntry(True, copies=copies), "copy:1", DAY, RATES)
    assert plain(estimate.formula) == formula


@pytest.mark.parametrize(
    ("rate_class", "amount"),
    [
        ("copy:1", "75.00"),
        ("copy:2", "110.00"),
        ("copy:3", "173.00"),
        ("copy:4", "247.00"),
        ("copy:5", "500.00"),
    ],
)
def test_hundred_copies_at_every_copy_rate(rate_class, amount):
    assert estimate_pay(PayEntry(True, 100), rate_class, DAY, RATES).amount == Decimal(amount)


def test_mission_621_hourly_rate_3():
    entry = PayEntry(True, candidates=6, hours=(line(DAY, "09:00", "12:30"),))
    estimate = estimate_pay(entry, "hour:3", DAY, RATES)
    assert estimate == PayEstimate(
        Decimal("33.60"), "3 h 30 × 9,60\u00a0€ = 33,60\u00a0€", True, ""
    )


@pytest.mark.parametrize(
    ("rate_class", "amount"),
    [("hour:1", "14.39"), ("hour:2", "19.22"), ("hour:3", "33.60"), ("hour:4", "48.02")],
)
def test_three_and_a_half_hours_at_every_hourly_rate(rate_class, amount):
    # 3.5 × 4.11 = 14.385 and 3.5 × 5.49 = 19.215: half-up on the exact product.
    entry = PayEntry(True, hours=(line(DAY, "09:00", "12:30"),))
    assert estimate_pay(entry, rate_class, DAY, RATES).amount == Decimal(amount)


def test_hours_are_exact_before_rounding():
    # 20 min = 1/3 h: 1/3 × 13.72 = 4.5733… → 4.57, not 0.33 × 13.72 = 4.53.
    entry = PayEntry(True, hours=(line(DAY, "09:00", "09:20"),))
    estimate = estimate_pay(entry, "hour:4", DAY, RATES)
    assert estimate.amount == Decimal("4.57")
    assert plain(estimate.formula) == "0 h 20 × 13,72 € = 4,57 €"


def test_hours_over_several_days_add_up():
    hours = (line(DAY, "08:00", "12:00"), line(NEXT_DAY, "14:00", "18:00"))
    estimate = estimate_pay(PayEntry(True, hours=hours), "hour:3", DAY, RATES)
    assert plain(estimate.formula) == "8 h × 9,60 € = 76,80 €"


def test_not_remunerated_exam():
    estimate = estimate_pay(PayEntry(True, copies=40), "NR", DAY, RATES)
    assert estimate == PayEstimate(
        Decimal("0.00"), "", False, "Pas de frais : cet examen n'est pas rémunéré."
    )


def test_mission_not_done():
    estimate = estimate_pay(PayEntry(False, copies=40), "copy:3", DAY, RATES)
    assert estimate == PayEstimate(
        Decimal("0.00"), "", False, "Mission non effectuée : aucune rémunération."
    )


def test_missing_copies():
    estimate = estimate_pay(PayEntry(True), "copy:3", DAY, RATES)
    assert estimate.amount == Decimal("0")
    assert estimate.applies
    assert "nombre de copies" in estimate.reason


def test_missing_hours():
    estimate = estimate_pay(PayEntry(True, candidates=4), "hour:3", DAY, RATES)
    assert estimate.amount == Decimal("0")
    assert "horaires" in estimate.reason


def test_estimate_before_done_is_answered():
    estimate = estimate_pay(PayEntry(None, copies=40), "copy:3", DAY, RATES)
    assert estimate.amount == Decimal("69.20")


def test_rate_is_the_one_in_force_on_the_mission_date():
    estimate = estimate_pay(PayEntry(True, copies=1), "copy:1", dt.date(2010, 6, 1), RATES)
    assert estimate.amount == Decimal("0")
    assert estimate.reason == (
        "Aucun taux de rémunération à la copie (1) n'est en vigueur le 01/06/2010."
    )


@pytest.mark.parametrize("rate_class", ["copy:6", "hour:5", "hour", "", "nr", "copy:"])
def test_unknown_rate_class(rate_class):
    with pytest.raises(ValueError):
        parse_rate_class(rate_class)


def test_parse_rate_class():
    assert parse_rate_class("copy:5") == ("copy", "5")
    assert parse_rate_class("hour:1") == ("hour", "1")
    assert parse_rate_class("NR") is None
