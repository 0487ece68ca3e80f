"""The pay part of a claim: what the intervenant enters, its checks and the estimated pay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from imagin.domain.errors import FieldError
from imagin.domain.money import (
    ZERO,
    format_date,
    format_duration,
    format_euros,
    format_number,
    format_time,
    quantize,
)
from imagin.domain.rates import RateNotFound, RateTable
from imagin.domain.refs import FieldRef, Section

__all__ = [
    "MAX_CANDIDATES",
    "MAX_COPIES",
    "MAX_MINUTES_PER_DAY",
    "NOT_REMUNERATED",
    "FieldError",
    "HoursLine",
    "PayBasis",
    "PayEntry",
    "PayEstimate",
    "check_counts",
    "check_hours",
    "estimate_pay",
    "optional_test_applies",
    "parse_rate_class",
    "total_minutes",
]

NOT_REMUNERATED = "NR"
# Arrêté du 13 avril 2012 fixant la rémunération des intervenants participant à titre
# d'activité accessoire à des activités liées au fonctionnement de jurys d'examens
# conduisant à la délivrance de diplômes ou certificats relevant du ministre chargé de
# l'éducation nationale, art. 3 : an optional oral or practical test (épreuve
# facultative) and the one-off PE test (épreuve ponctuelle d'EPS) are paid 75 % of the
# hourly rate of the exam.
OPTIONAL_TEST_SHARE = Decimal("0.75")
OPTIONAL_TEST_FROM = dt.date(2012, 4, 13)
MAX_COPIES = 2000
MAX_CANDIDATES = 500
MAX_MINUTES_PER_DAY = 12 * 60


class PayBasis(StrEnum):
    """What a mission type asks the intervenant to enter for pay."""

    COPIES = "copies"
    CANDIDATES_HOURS = "candidates_hours"
    HOURS = "hours"


@dataclass(frozen=True)
class HoursLine:
    """Hours worked on one day of the mission."""

    day: dt.date
    start: dt.time
    end: dt.time

    @property
    def minutes(self) -> int:
        """Minutes worked; 0 when the end is not after the start."""
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        return max(end - start, 0)


@dataclass(frozen=True)
class PayEntry:
    """What the intervenant entered in the pay part (None: not entered yet)."""

    done: bool | None = None
    copies: int | None = None
    candidates: int | None = None
    hours: tuple[HoursLine, ...] = ()


@dataclass(frozen=True)
class PayEstimate:
    """Estimated pay with the formula and the reason shown to the user."""

    amount: Decimal
    formula: str
    applies: bool
    reason: str


def parse_rate_class(rate_class: str) -> tuple[str, str] | None:
    """("copy", "3") for "copy:3", None for "NR"; ValueError for anything else."""
    if rate_class == NOT_REMUNERATED:
        return None
    kind, _, code = rate_class.partition(":")
    if (kind, code) not in {("copy", c) for c in "12345"} | {("hour", c) for c in "1234"}:
        raise ValueError(f"unknown rate class {rate_class!r}")
    return kind, code


def _hours(index: int, name: str) -> FieldRef:
    return FieldRef(Section.HOURS, str(index), name)


def check_hours(lines: Sequence[HoursLine], mission_days: set[dt.date]) -> list[FieldError]:
    """Errors in the hours lines: day of the mission, end after start, ≤ 12 h a day, no overlap."""
    errors: list[FieldError] = []
    valid: list[tuple[int, HoursLine]] = []
    for index, line in enumerate(lines):
        if line.day not in mission_days:
            errors.append(
                FieldError(
                    _hours(index, "day"),
                    f"Le {format_date(line.day)} n'est pas un jour de la mission.",
                )
            )
        elif line.end <= line.start:
            errors.append(
                FieldError(_hours(index, "end"), "L'heure de fin doit être après l'heure de début.")
            )
        else:
            valid.append((index, line))

    minutes_by_day: dict[dt.date, int] = {}
    for position, (index, line) in enumerate(valid):
        for _, other in valid[:position]:
            if other.day == line.day and line.start < other.end and other.start < line.end:
                errors.append(
                    FieldError(
                        _hours(index, "start"),
                        "Ces horaires chevauchent ceux de "
                        f"{format_time(other.start)}–{format_time(other.end)}.",
                    )
                )
                break
        before = minutes_by_day.get(line.day, 0)
        minutes_by_day[line.day] = before + line.minutes
        # Reported once, on the line that crosses the limit.
        if before <= MAX_MINUTES_PER_DAY < minutes_by_day[line.day]:
            errors.append(
                FieldError(
                    _hours(index, "end"),
                    f"Pas plus de 12 h par jour : {format_duration(minutes_by_day[line.day])} "
                    f"saisies le {format_date(line.day)}.",
                )
            )
    return errors


def _pay(name: str) -> FieldRef:
    return FieldRef(Section.PAY, field=name)


def _check_count(name: str, value: int | None, maximum: int, what: str) -> FieldError | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return FieldError(_pay(name), f"Le nombre de {what} doit être un nombre entier.")
    if value < 0:
        return FieldError(_pay(name), f"Le nombre de {what} ne peut pas être négatif.")
    if value > maximum:
        return FieldError(
            _pay(name), f"Le nombre de {what} ne peut pas dépasser {format_number(maximum)}."
        )
    return None


def check_counts(entry: PayEntry) -> list[FieldError]:
    """Errors in the numbers of copies and candidates (whole numbers within plausible limits)."""
    errors = (
        _check_count("copies", entry.copies, MAX_COPIES, "copies"),
        _check_count("candidates", entry.candidates, MAX_CANDIDATES, "candidats"),
    )
    return [error for error in errors if error is not None]


def total_minutes(lines: Iterable[HoursLine]) -> int:
    """Minutes worked over all the lines (lines ending before they start count for nothing)."""
    return sum(line.minutes for line in lines)


def _copies(count: int) -> str:
    # French singular for 0 and 1.
    return f"{format_number(count)} copie" if count <= 1 else f"{format_number(count)} copies"


def optional_test_applies(optional_test: bool, kind: str, mission_date: dt.date) -> bool:
    """Whether the 75 % share of an optional or one-off PE test applies (hourly pay only)."""
    return optional_test and kind == "hour" and mission_date >= OPTIONAL_TEST_FROM


def estimate_pay(
    entry: PayEntry,
    rate_class: str,
    mission_date: dt.date,
    rates: RateTable,
    *,
    optional_test: bool = False,
) -> PayEstimate:
    """Pay for the mission at the rate in force on mission_date, with the formula shown to users.

    ``optional_test``: the exam is an optional oral or practical test, or a one-off
    PE test, paid 75 % of the hourly rate.
    """
    rate_key = parse_rate_class(rate_class)
    if rate_key is None:
        return PayEstimate(ZERO, "", False, "Pas de frais : cet examen n'est pas rémunéré.")
    if entry.done is False:
        return PayEstimate(ZERO, "", False, "Mission non effectuée : aucune rémunération.")
    kind, code = rate_key
    try:
        rate = rates.amount(kind, code, mission_date)
    except RateNotFound as error:
        return PayEstimate(ZERO, "", True, error.message)

    if kind == "copy":
        if entry.copies is None:
            return PayEstimate(
                ZERO,
                "",
                True,
                "Saisissez le nombre de copies corrigées pour estimer la rémunération.",
            )
        amount = quantize(entry.copies * rate)
        formula = f"{_copies(entry.copies)} × {format_euros(rate)} = {format_euros(amount)}"
        return PayEstimate(amount, formula, True, "")

    minutes = total_minutes(entry.hours)
    if minutes == 0:
        return PayEstimate(ZERO, "", True, "Saisissez vos horaires pour estimer la rémunération.")
    if optional_test_applies(optional_test, kind, mission_date):
        # Exact hours and share; rounding only once, on the result.
        amount = quantize(Decimal(minutes) / 60 * rate * OPTIONAL_TEST_SHARE)
        formula = (
            f"{format_duration(minutes)} × {format_euros(rate)} × 75 % = {format_euros(amount)}"
            " (épreuve facultative ou ponctuelle : 75 % du taux horaire)"
        )
        return PayEstimate(amount, formula, True, "")
    # Exact hours (210 min = 3.5 h); rounding only once, on the result.
    amount = quantize(Decimal(minutes) / 60 * rate)
    formula = f"{format_duration(minutes)} × {format_euros(rate)} = {format_euros(amount)}"
    return PayEstimate(amount, formula, True, "")
