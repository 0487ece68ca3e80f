"""The travel part of a claim: legs, their checks and the amounts they give a right to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from imagin.domain.communes import normalize_city, zone_for
from imagin.domain.errors import FieldError, Missing
from imagin.domain.money import (
    ZERO,
    format_date,
    format_euros,
    format_number,
    format_time,
    quantize,
)
from imagin.domain.rates import RateNotFound, RateTable, horsepower_class

__all__ = [
    "CATEGORIES",
    "RECEIPT_RULES",
    "AmountLine",
    "FieldError",
    "MealEntitlement",
    "MealKind",
    "MealTaken",
    "Missing",
    "Mode",
    "NightStay",
    "OtherExpense",
    "Receipt",
    "ReceiptRule",
    "TravelComputation",
    "TravelLeg",
    "absence_window",
    "check_legs",
    "compute_travel",
    "meal_entitlements",
    "mileage_amount",
    "missing_for_validation",
    "night_anchor",
    "night_entitlements",
    "receipt_required",
    "required_receipts",
]

MAX_KM = 2000
MAX_FARE = Decimal("2000")


class Mode(StrEnum):
    """How a leg was travelled."""

    CAR = "voiture"
    MOTORBIKE = "moto"
    TRAIN = "train"
    BUS = "bus"
    PLANE = "avion"
    CARPOOL = "covoiturage"
    TAXI = "taxi"

    @property
    def label(self) -> str:
        return MODE_LABELS[self]


MODE_LABELS: dict[Mode, str] = {
    Mode.CAR: "Voiture personnelle",
    Mode.MOTORBIKE: "Moto",
    Mode.TRAIN: "Train",
    Mode.BUS: "Bus ou tram",
    Mode.PLANE: "Avion",
    Mode.CARPOOL: "Covoiturage",
    Mode.TAXI: "Taxi",
}

# Plain str values: `"x" in Mode` raises on Python 3.11.
MODES = frozenset(Mode)
# Own vehicles are paid by the kilometre, the other modes at the fare paid.
KM_MODES = frozenset({Mode.CAR, Mode.MOTORBIKE})
_RECEIPT_BY_MODE = {
    Mode.TRAIN: "billet",
    Mode.BUS: "billet",
    Mode.PLANE: "billet",
    Mode.TAXI: "taxi",
}


class MealKind(StrEnum):
    """Which meal of the day."""

    LUNCH = "dejeuner"
    DINNER = "diner"


# A meal is due when the whole window of the day is spent away.
MEAL_WINDOWS: dict[MealKind, tuple[dt.time, dt.time]] = {
    MealKind.LUNCH: (dt.time(11, 0), dt.time(14, 0)),
    MealKind.DINNER: (dt.time(18, 0), dt.time(21, 0)),
}
NIGHT_WINDOW = (dt.time(0, 0), dt.time(5, 0))


class MealTaken(StrEnum):
    """How the intervenant took a meal, which sets what is paid."""

    FREE = "gratuit"
    ADMINISTRATIVE = "administratif"
    OTHER = "autre"


CATEGORIES: dict[str, str] = {
    "transport": "Transport",
    "indemnites_kilometriques": "Indemnités kilométriques",
    "repas": "Repas",
    "nuitees": "Nuitées",
    "autres": "Autres frais",
}

_ZONE_CEILINGS = {
    "paris": "plafond Paris",
    "grande_ville": "plafond grande ville ou Grand Paris",
    "autre": "plafond autres communes",
}

_EXPENSE_LABELS = {
    "billet": "Billet",
    "taxi": "Taxi",
    "peage": "Péage",
    "parking": "Parking",
    "autre": "Autre frais",
}


@dataclass(frozen=True)
class TravelLeg:
    """One journey from a city to another (naive Europe/Paris datetimes)."""

    departure: dt.datetime
    departure_city: str
    arrival: dt.datetime
    arrival_city: str
    mode: str
    km: int | None = None
    fare: Decimal | None = None

    @property
    def label(self) -> str:
        """What the leg is, e.g. "Train ST LO → ALENCON du 02/12/2022"."""
        mode = MODE_LABELS[Mode(self.mode)] if self.mode in MODES else self.mode
        return (
            f"{mode} {self.departure_city} → {self.arrival_city} "
            f"du {format_date(self.departure.date())}"
        )


@dataclass(frozen=True)
class MealEntitlement:
    """A meal the absence gives a right to."""

    day: dt.date
    kind: MealKind

    @property
    def label(self) -> str:
        name = "Déjeuner" if self.kind == MealKind.LUNCH else "Dîner"
        return f"{name} du {format_date(self.day)}"

    @property
    def anchor(self) -> str:
        return f"meal-{self.day.isoformat()}-{self.kind}"


@dataclass(frozen=True)
class NightStay:
    """A night spent away, where and what the accommodation cost (night = evening date)."""

    night: dt.date
    commune: str
    paid: Decimal | None


@dataclass(frozen=True)
class OtherExpense:
    """Ticket ("billet"), taxi, toll ("peage"), parking or other ("autre"), at the amount paid.

    Tickets and taxis here are those not already entered as the fare of a leg.
    """

    kind: str
    amount: Decimal
    label: str = ""


@dataclass(frozen=True)
class AmountLine:
    """One amount of the travel claim and why it is due; receipt is the document kind it needs."""

    category: str
    label: str
    amount: Decimal
    reason: str
    receipt: str | None = None
    anchor: str = ""


@dataclass(frozen=True)
class TravelComputation:
    """Everything the travel part gives a right to, line by line."""

    lines: tuple[AmountLine, ...]
    total: Decimal
    applies: bool = True
    reason: str = ""
    window: tuple[dt.datetime, dt.datetime] | None = None
    meals: tuple[MealEntitlement, ...] = ()
    nights: tuple[dt.date, ...] = ()

    def subtotal(self, category: str) -> Decimal:
        """Total of one category."""
        return quantize(
            sum((line.amount for line in self.lines if line.category == category), ZERO)
        )


@dataclass(frozen=True)
class Receipt:
    """A supporting document the intervenant must upload."""

    kind: str
    label: str
    anchor: str


@dataclass(frozen=True)
class ReceiptRule:
    """A kind of receipt is required for missions in this period (None: no bound)."""

    kind: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def applies_on(self, on: dt.date) -> bool:
        """Whether the rule covers a mission on that day."""
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on <= self.valid_to
        )


RECEIPT_RULES: tuple[ReceiptRule, ...] = (
    ReceiptRule("hotel"),
    ReceiptRule("billet"),
    ReceiptRule("taxi"),
    ReceiptRule("peage"),
    ReceiptRule("parking"),
    ReceiptRule("autre"),
    ReceiptRule("repas", dt.date(2024, 1, 1), dt.date(2024, 7, 31)),
)

_RECEIPT_LABELS = {
    "hotel": "Facture d'hôtel",
    "billet": "Billet",
    "taxi": "Facture de taxi",
    "peage": "Ticket de péage",
    "parking": "Ticket de parking",
    "autre": "Justificatif",
    "repas": "Justificatif de repas",
}


# --- Checking the legs ----------------------------------------------------------------------


def _span(leg: TravelLeg) -> str:
    if leg.departure.date() == leg.arrival.date():
        return (
            f"du {format_date(leg.departure.date())} "
            f"{format_time(leg.departure)}–{format_time(leg.arrival)}"
        )
    return (
        f"du {format_date(leg.departure.date())} {format_time(leg.departure)} "
        f"au {format_date(leg.arrival.date())} {format_time(leg.arrival)}"
    )


def _check_amounts(index: int, leg: TravelLeg) -> list[FieldError]:
    prefix = f"legs-{index}"
    if leg.mode not in MODES:
        return [FieldError(f"{prefix}-mode", "Choisissez un mode de transport.")]
    if leg.mode in KM_MODES:
        if leg.km is None:
            return [FieldError(f"{prefix}-km", "Saisissez le nombre de kilomètres parcourus.")]
        if not 1 <= leg.km <= MAX_KM:
            return [
                FieldError(
                    f"{prefix}-km",
                    "Le nombre de kilomètres doit être compris entre 1 et "
                    f"{format_number(MAX_KM)}.",
                )
            ]
        return []
    if leg.fare is None:
        return [
            FieldError(f"{prefix}-fare", "Saisissez le prix payé (0 si vous n'avez rien payé).")
        ]
    if not ZERO <= leg.fare <= MAX_FARE:
        return [
            FieldError(
                f"{prefix}-fare",
                f"Le prix doit être compris entre 0 et {format_euros(MAX_FARE)}.",
            )
        ]
    return []


def check_legs(legs: Sequence[TravelLeg], mission_days: Iterable[dt.date]) -> list[FieldError]:
    """Errors in the legs: cities, order of times, dates near the mission, overlaps, km, fares."""
    days = sorted(set(mission_days))
    one_day = dt.timedelta(days=1)
    allowed = {day + shift for day in days for shift in (-one_day, dt.timedelta(0), one_day)}
    out_of_range = (
        f"Le trajet doit avoir lieu entre le {format_date(days[0] - one_day)} "
        f"et le {format_date(days[-1] + one_day)}."
        if days
        else ""
    )
    errors: list[FieldError] = []
    for index, leg in enumerate(legs):
        prefix = f"legs-{index}"
        if not leg.departure_city.strip():
            errors.append(FieldError(f"{prefix}-departure_city", "Saisissez la ville de départ."))
        if not leg.arrival_city.strip():
            errors.append(FieldError(f"{prefix}-arrival_city", "Saisissez la ville d'arrivée."))
        if leg.arrival <= leg.departure:
            errors.append(FieldError(f"{prefix}-arrival", "L'arrivée doit être après le départ."))
        elif days and leg.departure.date() not in allowed:
            errors.append(FieldError(f"{prefix}-departure", out_of_range))
        elif days and leg.arrival.date() not in allowed:
            errors.append(FieldError(f"{prefix}-arrival", out_of_range))
        else:
            for other in legs[:index]:
                if other.departure < leg.arrival and leg.departure < other.arrival:
                    errors.append(
                        FieldError(
                            f"{prefix}-departure",
                            f"Ce trajet chevauche celui {_span(other)}.",
                        )
                    )
                    break
        errors.extend(_check_amounts(index, leg))
    return errors


# --- Entitlements from the absence ---------------------------------------------------------


def absence_window(legs: Iterable[TravelLeg]) -> tuple[dt.datetime, dt.datetime] | None:
    """From the first departure to the last arrival; None without legs."""
    legs = list(legs)
    if not legs:
        return None
    return min(leg.departure for leg in legs), max(leg.arrival for leg in legs)


def _days(window: tuple[dt.datetime, dt.datetime]) -> list[dt.date]:
    start, end = window
    return [
        start.date() + dt.timedelta(days=n) for n in range((end.date() - start.date()).days + 1)
    ]


def _covers(window: tuple[dt.datetime, dt.datetime], start: dt.datetime, end: dt.datetime) -> bool:
    return window[0] <= start and end <= window[1]


def meal_entitlements(
    window: tuple[dt.datetime, dt.datetime] | None,
) -> list[MealEntitlement]:
    """Lunches and dinners whose whole window (11:00–14:00, 18:00–21:00) is spent away."""
    if window is None:
        return []
    return [
        MealEntitlement(day, kind)
        for day in _days(window)
        for kind, (start, end) in MEAL_WINDOWS.items()
        if _covers(window, dt.datetime.combine(day, start), dt.datetime.combine(day, end))
    ]


def night_entitlements(window: tuple[dt.datetime, dt.datetime] | None) -> list[dt.date]:
    """Nights spent away for the whole 00:00–05:00, each dated by its evening."""
    if window is None:
        return []
    start, end = NIGHT_WINDOW
    nights = []
    for morning in _days(window):
        if _covers(window, dt.datetime.combine(morning, start), dt.datetime.combine(morning, end)):
            nights.append(morning - dt.timedelta(days=1))
    return nights


# --- Amounts --------------------------------------------------------------------------------

# Yearly distance bands of the mileage rates: (band, above km, up to km).
_MILEAGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("1", 0, 2000),
    ("2", 2000, 10000),
    ("3", 10000, None),
)


def mileage_amount(
    km: int, cv: int, km_already_this_year: int, on: dt.date, rates: RateTable
) -> tuple[Decimal, str]:
    """Mileage allowance, progressive over the yearly bands, with its formula; RateNotFound."""
    if km <= 0:
        return ZERO, "Aucun kilomètre à indemniser."
    hp_class = horsepower_class(cv)
    start, end = km_already_this_year, km_already_this_year + km
    total = Decimal(0)
    parts = []
    for band, above, up_to in _MILEAGE_BANDS:
        in_band = (end if up_to is None else min(end, up_to)) - max(start, above)
        if in_band > 0:
            rate = rates.amount("mileage", f"{hp_class}:{band}", on)
            total += in_band * rate
            parts.append(f"{format_number(in_band)} km × {format_euros(rate)}")
    amount = quantize(total)
    context = f"{cv} CV"
    if km_already_this_year:
        context += f", {format_number(km_already_this_year)} km déjà déclarés en {on.year}"
    return amount, f"{' + '.join(parts)} = {format_euros(amount)} ({context})"


def _absence_text(window: tuple[dt.datetime, dt.datetime]) -> str:
    start, end = window
    if start.date() == end.date():
        return f"absence de {format_time(start)} à {format_time(end)}"
    return (
        f"absence du {format_date(start.date())} à {format_time(start)} "
        f"au {format_date(end.date())} à {format_time(end)}"
    )


def _transport_lines(legs: Sequence[TravelLeg]) -> list[AmountLine]:
    lines = []
    for index, leg in enumerate(legs):
        if leg.mode in KM_MODES or leg.mode not in MODES or leg.fare is None:
            continue
        amount = quantize(leg.fare)
        lines.append(
            AmountLine(
                "transport",
                leg.label,
                amount,
                f"Prix payé : {format_euros(amount)}",
                _RECEIPT_BY_MODE.get(Mode(leg.mode)),
                f"legs-{index}",
            )
        )
    return lines


def _mileage_lines(
    legs: Sequence[TravelLeg],
    vehicle_cv: int | None,
    km_already_this_year: int,
    on: dt.date,
    rates: RateTable,
) -> list[AmountLine]:
    km = sum(leg.km or 0 for leg in legs if leg.mode in KM_MODES)
    if km <= 0:
        return []
    label = f"Indemnités kilométriques — {format_number(km)} km"
    if vehicle_cv is None:
        reason = (
            "Indiquez la puissance fiscale (CV) de votre véhicule "
            "pour calculer les indemnités kilométriques."
        )
        return [AmountLine("indemnites_kilometriques", label, ZERO, reason, anchor="vehicle_cv")]
    try:
        amount, reason = mileage_amount(km, vehicle_cv, km_already_this_year, on, rates)
    except RateNotFound as error:
        amount, reason = ZERO, error.message
    return [AmountLine("indemnites_kilometriques", label, amount, reason, anchor="vehicle_cv")]


def _meal_line(
    meal: MealEntitlement,
    taken: str | None,
    window: tuple[dt.datetime, dt.datetime],
    rates: RateTable,
) -> AmountLine:
    start, end = MEAL_WINDOWS[meal.kind]
    why = f"{meal.label} — {_absence_text(window)} couvrant {format_time(start)}–{format_time(end)}"
    try:
        # The rate in force on the day the meal was taken.
        rate = rates.amount("meal", "repas", meal.day)
    except RateNotFound as error:
        return AmountLine("repas", meal.label, ZERO, f"{why} — {error.message}", anchor=meal.anchor)
    if taken == MealTaken.OTHER:
        amount, how = quantize(rate), format_euros(quantize(rate))
    elif taken == MealTaken.ADMINISTRATIVE:
        amount = quantize(rate / 2)
        how = f"restaurant administratif, moitié de {format_euros(rate)} : {format_euros(amount)}"
    elif taken == MealTaken.FREE:
        amount, how = ZERO, f"repas gratuit : {format_euros(ZERO)}"
    else:
        amount, how = ZERO, "indiquez comment ce repas a été pris"
    return AmountLine("repas", meal.label, amount, f"{why} — {how}", "repas", meal.anchor)


def night_anchor(night: dt.date) -> str:
    """Anchor of a night's fields, by its date: stable whatever the order of the stays."""
    return f"night-{night.isoformat()}"


def _night_line(
    night: dt.date, stay: NightStay | None, entitled: bool, rates: RateTable
) -> AmountLine:
    label = f"Nuitée du {format_date(night)} au {format_date(night + dt.timedelta(days=1))}"
    anchor = night_anchor(night)
    if not entitled:
        reason = f"{label} — pas d'absence couvrant 00:00–05:00 : non remboursée"
        return AmountLine("nuitees", label, ZERO, reason, anchor=anchor)
    why = f"{label} — absence couvrant 00:00–05:00"
    if stay is None:
        reason = f"{why} — aucun hébergement payant déclaré"
        return AmountLine("nuitees", label, ZERO, reason, anchor=anchor)
    label = f"{label} à {stay.commune}"
    if stay.paid is None:
        reason = f"{why} — indiquez le montant payé pour l'hébergement"
        return AmountLine("nuitees", label, ZERO, reason, anchor=anchor)
    zone = zone_for(stay.commune)
    try:
        ceiling = rates.amount("night", zone, night)
    except RateNotFound as error:
        return AmountLine("nuitees", label, ZERO, f"{why} — {error.message}", anchor=anchor)
    amount = quantize(min(stay.paid, ceiling))
    reason = (
        f"{why} — {format_euros(quantize(stay.paid))} payés, "
        f"{_ZONE_CEILINGS[zone]} {format_euros(ceiling)} : {format_euros(amount)}"
    )
    return AmountLine("nuitees", label, amount, reason, "hotel", anchor)


def _night_lines(
    entitled: Sequence[dt.date], nights: Sequence[NightStay], rates: RateTable
) -> list[AmountLine]:
    stays = {stay.night: stay for stay in nights}
    return [
        _night_line(night, stays.get(night), night in entitled, rates)
        for night in sorted(set(entitled) | set(stays))
    ]


def _other_lines(expenses: Sequence[OtherExpense]) -> list[AmountLine]:
    lines = []
    for index, expense in enumerate(expenses):
        name = _EXPENSE_LABELS.get(expense.kind, _EXPENSE_LABELS["autre"])
        label = f"{name} — {expense.label}" if expense.label else name
        amount = quantize(expense.amount)
        receipt = expense.kind if expense.kind in _EXPENSE_LABELS else "autre"
        lines.append(
            AmountLine(
                "autres",
                label,
                amount,
                f"Montant payé : {format_euros(amount)}",
                receipt,
                f"expenses-{index}",
            )
        )
    return lines


def _within_residence(legs: Sequence[TravelLeg], residence_commune: str | None) -> bool:
    if not legs or not residence_commune or not residence_commune.strip():
        return False
    home = normalize_city(residence_commune)
    return all(
        normalize_city(leg.departure_city) == home == normalize_city(leg.arrival_city)
        for leg in legs
    )


def compute_travel(
    legs: Sequence[TravelLeg],
    meals_taken: Mapping[MealEntitlement | tuple[dt.date, str], str],
    nights: Sequence[NightStay],
    vehicle_cv: int | None,
    km_already_this_year: int,
    other_expenses: Sequence[OtherExpense],
    mission_date: dt.date,
    residence_commune: str | None,
    rates: RateTable,
) -> TravelComputation:
    """All the travel amounts of a claim, each with the reason shown to the intervenant.

    meals_taken maps a MealEntitlement (or its (day, kind) pair) to a MealTaken value.
    Meals and nights use the rate of their own day, mileage the rate of the mission date.
    """
    window = absence_window(legs)
    if _within_residence(legs, residence_commune):
        return TravelComputation(
            (),
            ZERO,
            applies=False,
            reason="Pas de frais : le centre d'examen est dans votre commune de résidence.",
            window=window,
        )
    meals = meal_entitlements(window)
    entitled_nights = night_entitlements(window)
    lines = [
        *_transport_lines(legs),
        *_mileage_lines(legs, vehicle_cv, km_already_this_year, mission_date, rates),
    ]
    if window is not None:
        for meal in meals:
            taken = meals_taken.get(meal, meals_taken.get((meal.day, meal.kind)))
            lines.append(_meal_line(meal, taken, window, rates))
    lines.extend(_night_lines(entitled_nights, nights, rates))
    lines.extend(_other_lines(other_expenses))
    total = quantize(sum((line.amount for line in lines), ZERO))
    reason = "" if legs else "Saisissez vos trajets pour calculer vos frais de déplacement."
    return TravelComputation(
        tuple(lines), total, True, reason, window, tuple(meals), tuple(entitled_nights)
    )


# --- Supporting documents -------------------------------------------------------------------


def receipt_required(kind: str, on: dt.date, rules: Iterable[ReceiptRule] = RECEIPT_RULES) -> bool:
    """Whether a receipt of this kind is required for a mission on that day."""
    return any(rule.kind == kind and rule.applies_on(on) for rule in rules)


def required_receipts(travel: TravelComputation, mission_date: dt.date) -> list[Receipt]:
    """The documents to upload for the amounts claimed (nothing for a zero amount)."""
    return [
        Receipt(line.receipt, _receipt_label(line), line.anchor)
        for line in travel.lines
        if line.receipt and line.amount > 0 and receipt_required(line.receipt, mission_date)
    ]


def _receipt_label(line: AmountLine) -> str:
    what = _RECEIPT_LABELS[line.receipt or "autre"]
    if line.category == "autres":
        # The line label starts with the kind ("Péage — A84"): keep only the user's words.
        _, _, detail = line.label.partition(" — ")
        label = f"{what} de {format_euros(line.amount)}"
        return f"{label} — {detail}" if detail else label
    return f"{what} — {line.label}"


# --- What is still to enter -----------------------------------------------------------------


def missing_for_validation(
    legs: Sequence[TravelLeg],
    travel: TravelComputation,
    meals_taken: Mapping[MealEntitlement | tuple[dt.date, str], str],
    nights: Sequence[NightStay],
    vehicle_cv: int | None,
    mission_days: Iterable[dt.date],
) -> list[Missing]:
    """What the intervenant still has to enter before validating the travel part.

    No legs is not missing: an intervenant may have had no travel costs at all.
    """
    if not travel.applies:
        return []
    missing = [
        Missing(f"Trajet {legs[index].label} : {error.message}", f"legs-{index}")
        for error in check_legs(legs, mission_days)
        for index in (int(error.field.split("-")[1]),)
    ]
    if vehicle_cv is None and any(leg.mode in KM_MODES for leg in legs):
        missing.append(
            Missing(
                "Indiquez la puissance fiscale (CV) de votre véhicule dans votre profil",
                "vehicle_cv",
            )
        )
    for meal in travel.meals:
        if meals_taken.get(meal, meals_taken.get((meal.day, meal.kind))) not in set(MealTaken):
            what = meal.label[0].lower() + meal.label[1:]
            missing.append(Missing(f"Indiquez comment vous avez pris le {what}", meal.anchor))
    for stay in nights:
        if stay.night in travel.nights and stay.paid is None:
            end = stay.night + dt.timedelta(days=1)
            missing.append(
                Missing(
                    f"Indiquez le montant payé pour la nuitée du {format_date(stay.night)} "
                    f"au {format_date(end)}",
                    night_anchor(stay.night),
                )
            )
    return missing
