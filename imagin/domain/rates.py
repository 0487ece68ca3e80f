"""Date-effective rate tables: claims straddle rate changes, so no rate is a constant in code."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from imagin.domain.money import format_date

# The exact strings the database stores: kind -> allowed codes.
CODES: dict[str, tuple[str, ...]] = {
    "copy": ("1", "2", "3", "4", "5"),
    "hour": ("1", "2", "3", "4"),
    "meal": ("repas",),
    # "handicap": the single ceiling of a recognised disabled worker with reduced mobility.
    "night": ("paris", "grande_ville", "autre", "handicap"),
    "mileage": tuple(f"{hp}:{band}" for hp in ("cv5", "cv6_7", "cv8") for band in ("1", "2", "3")),
}

KIND_LABELS: dict[str, str] = {
    "copy": "rémunération à la copie",
    "hour": "rémunération horaire",
    "meal": "repas",
    "night": "nuitée",
    "mileage": "indemnités kilométriques",
}


class RateNotFound(LookupError):
    """No rate of this kind and code is in force on the given day."""

    def __init__(self, kind: str, code: str, on: dt.date) -> None:
        self.message = (
            f"Aucun taux de {KIND_LABELS.get(kind, kind)} ({code}) "
            f"n'est en vigueur le {format_date(on)}."
        )
        super().__init__(self.message)


@dataclass(frozen=True)
class Rate:
    """One amount of a rate table, in force from valid_from to valid_to inclusive (None: still)."""

    kind: str
    code: str
    amount: Decimal
    valid_from: dt.date
    valid_to: dt.date | None = None

    def __post_init__(self) -> None:
        if self.code not in CODES.get(self.kind, ()):
            raise ValueError(f"unknown rate {self.kind}/{self.code}")
        if not isinstance(self.amount, Decimal) or self.amount < 0:
            raise ValueError(f"rate {self.kind}/{self.code}: amount must be a Decimal ≥ 0")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"rate {self.kind}/{self.code}: valid_to before valid_from")

    def applies_on(self, on: dt.date) -> bool:
        """Whether this rate is in force on that day."""
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


class RateTable:
    """All the rates, looked up by kind, code and day."""

    def __init__(self, rates: Iterable[Rate]) -> None:
        self._by_key: dict[tuple[str, str], list[Rate]] = {}
        for rate in rates:
            self._by_key.setdefault((rate.kind, rate.code), []).append(rate)
        for periods in self._by_key.values():
            periods.sort(key=lambda rate: rate.valid_from)
            # Two periods in force on the same day would make the amount depend on row order.
            for before, after in itertools.pairwise(periods):
                if before.valid_to is None or before.valid_to >= after.valid_from:
                    raise ValueError(
                        f"overlapping rates {after.kind}/{after.code} from {after.valid_from}"
                    )

    def rate(self, kind: str, code: str, on: dt.date) -> Rate:
        """The rate in force on that day; RateNotFound otherwise."""
        for rate in self._by_key.get((kind, code), ()):
            if rate.applies_on(on):
                return rate
        raise RateNotFound(kind, code, on)

    def amount(self, kind: str, code: str, on: dt.date) -> Decimal:
        """The amount in force on that day; RateNotFound otherwise."""
        return self.rate(kind, code, on).amount


def horsepower_class(cv: int) -> str:
    """Mileage class of a vehicle's fiscal horsepower: "cv5" (≤ 5), "cv6_7", "cv8" (≥ 8)."""
    if cv < 1:
        raise ValueError("fiscal horsepower must be at least 1")
    if cv <= 5:
        return "cv5"
    if cv <= 7:
        return "cv6_7"
    return "cv8"


def _rates(kind: str, amounts: dict[str, str], start: dt.date, end: dt.date | None = None):
    return tuple(Rate(kind, code, Decimal(value), start, end) for code, value in amounts.items())


_BEFORE_2023_09_22 = dt.date(2023, 9, 21)
_FROM_2023_09_22 = dt.date(2023, 9, 22)

# Official values; the database seed is generated from this tuple.
OFFICIAL_RATES: tuple[Rate, ...] = (
    # Meals and nights (arrêté du 3 juillet 2006, amounts raised on 2023-09-22).
    *_rates("meal", {"repas": "17.50"}, dt.date(2020, 1, 1), _BEFORE_2023_09_22),
    *_rates("meal", {"repas": "20.00"}, _FROM_2023_09_22),
    *_rates(
        "night",
        {"autre": "70.00", "grande_ville": "90.00", "paris": "110.00"},
        dt.date(2020, 1, 1),
        _BEFORE_2023_09_22,
    ),
    *_rates(
        "night", {"autre": "90.00", "grande_ville": "120.00", "paris": "140.00"}, _FROM_2023_09_22
    ),
    # A recognised disabled worker (RQTH) with reduced mobility: €150 wherever the night is
    # (arrêté du 20 septembre 2023 modifiant l'arrêté du 3 juillet 2006, art. 1er, in force
    # with the new amounts on 2023-09-22).
    *_rates("night", {"handicap": "150.00"}, _FROM_2023_09_22),
    # Mileage by horsepower class and yearly distance band (≤ 2,000 / 2,001–10,000 / > 10,000 km).
    *_rates(
        "mileage",
        {
            "cv5:1": "0.32",
            "cv5:2": "0.40",
            "cv5:3": "0.23",
            "cv6_7:1": "0.41",
            "cv6_7:2": "0.51",
            "cv6_7:3": "0.30",
            "cv8:1": "0.45",
            "cv8:2": "0.55",
            "cv8:3": "0.32",
        },
        dt.date(2022, 1, 1),
    ),
    # Exam pay (arrêté du 13 avril 2012).
    *_rates(
        "copy",
        {"1": "0.75", "2": "1.10", "3": "1.73", "4": "2.47", "5": "5.00"},
        dt.date(2012, 4, 13),
    ),
    *_rates("hour", {"1": "4.11", "2": "5.49", "3": "9.60", "4": "13.72"}, dt.date(2012, 4, 13)),
)
