"""The travel part of a claim: legs, their checks and the amounts they give a right to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from imagin.domain.communes import normalize_city, zone_for
from imagin.domain.errors import FieldError
from imagin.domain.money import (
    ZERO,
    format_date,
    format_euros,
    format_number,
    format_time,
    quantize,
)
from imagin.domain.rates import RateNotFound, RateTable, horsepower_class
from imagin.domain.receipts import Receipt, ReceiptType, receipt_required
from imagin.domain.refs import FieldRef, ReceiptRef, Section

__all__ = [
    "KM_MODES",
    "MEAL_WINDOWS",
    "NIGHT_WINDOW",
    "OTHER_EXPENSE_KINDS",
    "AmountLine",
    "Category",
    "ExpenseKind",
    "MealEntitlement",
    "MealKind",
    "MealTaken",
    "Mode",
    "NightStay",
    "OtherExpense",
    "TravelComputation",
    "TravelEntries",
    "TravelLeg",
    "TravelProfile",
    "absence_window",
    "check_legs",
    "compute_travel",
    "meal_entitlements",
    "meal_windows_text",
    "mileage_amount",
    "night_entitlements",
    "night_label",
    "residence_reason",
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

    @property
    def paid_by_km(self) -> bool:
        """Own vehicles are paid by the kilometre, the other modes at the fare paid."""
        return self in KM_MODES


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
KM_MODES = frozenset({Mode.CAR, Mode.MOTORBIKE})
_RECEIPT_BY_MODE = {
    Mode.TRAIN: ReceiptType.TICKET,
    Mode.BUS: ReceiptType.TICKET,
    Mode.PLANE: ReceiptType.TICKET,
    Mode.TAXI: ReceiptType.TAXI,
}


class ExpenseKind(StrEnum):
    """The one vocabulary of expenses: stored in ``Expense.kind``, read by the rules and forms."""

    MEAL = "meal"
    NIGHT = "night"
    TICKET = "ticket"
    TOLL = "toll"
    PARKING = "parking"
    TAXI = "taxi"
    OTHER = "other"


# The other expenses, paid at the amount paid: (how a line names it, how the form offers it).
OTHER_EXPENSE_KINDS: dict[ExpenseKind, tuple[str, str]] = {
    ExpenseKind.TICKET: ("Billet", "Billet non compris dans un trajet"),
    ExpenseKind.TOLL: ("Péage", "Péage"),
    ExpenseKind.PARKING: ("Parking", "Parking"),
    ExpenseKind.TAXI: ("Taxi", "Taxi non compris dans un trajet"),
    ExpenseKind.OTHER: ("Autre frais", "Autre frais"),
}
_RECEIPT_BY_EXPENSE = {
    ExpenseKind.TICKET: ReceiptType.TICKET,
    ExpenseKind.TOLL: ReceiptType.TOLL,
    ExpenseKind.PARKING: ReceiptType.PARKING,
    ExpenseKind.TAXI: ReceiptType.TAXI,
    ExpenseKind.OTHER: ReceiptType.OTHER,
}


class MealKind(StrEnum):
    """Which meal of the day."""

    LUNCH = "dejeuner"
    DINNER = "diner"

    @property
    def label(self) -> str:
        return "Déjeuner" if self is MealKind.LUNCH else "Dîner"


# A meal is due when the whole window of the day is spent away.
MEAL_WINDOWS: dict[MealKind, tuple[dt.time, dt.time]] = {
    MealKind.LUNCH: (dt.time(11, 0), dt.time(14, 0)),
    MealKind.DINNER: (dt.time(18, 0), dt.time(21, 0)),
}
NIGHT_WINDOW = (dt.time(0, 0), dt.time(5, 0))


def meal_windows_text(joiner: str = " ni ") -> str:
    """ "11:00–14:00 ni 18:00–21:00": the meal windows, as the forms explain them."""
    return joiner.join(
        f"{format_time(start)}–{format_time(end)}" for start, end in MEAL_WINDOWS.values()
    )


class MealTaken(StrEnum):
    """How the intervenant took a meal, which sets what is paid."""

    FREE = "gratuit"
    ADMINISTRATIVE = "administratif"
    OTHER = "autre"


class Category(StrEnum):
    """The categories of the travel amounts, in the order of the summary and of the payroll file."""

    TRANSPORT = "transport"
    MILEAGE = "mileage"
    MEALS = "meals"
    NIGHTS = "nights"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.TRANSPORT: "Transport",
    Category.MILEAGE: "Indemnités kilométriques",
    Category.MEALS: "Repas",
    Category.NIGHTS: "Nuitées",
    Category.OTHER: "Autres frais",
}

_ZONE_CEILINGS = {
    "paris": "plafond Paris",
    "grande_ville": "plafond grande ville ou Grand Paris",
    "autre": "plafond autres communes",
    "handicap": "plafond travailleur handicapé à mobilité réduite",
}


@dataclass(frozen=True)
class TravelLeg:
    """One journey from a city to another (naive Europe/Paris datetimes).

    ``key`` is the stored leg's identity (its id); "" for a leg not stored yet.
    """

    departure: dt.datetime
    departure_city: str
    arrival: dt.datetime
    arrival_city: str
    mode: str
    km: int | None = None
    fare: Decimal | None = None
    key: str = ""

    @property
    def label(self) -> str:
        """What the leg is, e.g. "Train ST LO → ALENCON du 02/12/2022"."""
        mode = MODE_LABELS[Mode(self.mode)] if self.mode in MODES else self.mode
        return (
            f"{mode} {self.departure_city} → {self.arrival_city} "
            f"du {format_date(self.departure.date())}"
        )

    @property
    def paid_by_km(self) -> bool:
        return self.mode in KM_MODES


@dataclass(frozen=True)
class MealEntitlement:
    """A meal the absence gives a right to."""

    day: dt.date
    kind: MealKind

    @property
    def label(self) -> str:
        return f"{MealKind(self.kind).label} du {format_date(self.day)}"

    @property
    def key(self) -> tuple[dt.date, str]:
        """How what the intervenant entered is keyed: (day, kind)."""
        return self.day, str(self.kind)

    @property
    def ref(self) -> FieldRef:
        return FieldRef.of_receipt(self.receipt_ref)

    @property
    def receipt_ref(self) -> ReceiptRef:
        return ReceiptRef.meal(self.day, str(self.kind))


@dataclass(frozen=True)
class NightStay:
    """A night spent away, where and what the accommodation cost (night = evening date)."""

    night: dt.date
    commune: str
    paid: Decimal | None


@dataclass(frozen=True)
class OtherExpense:
    """A ticket, a taxi, a toll, a parking fee or another cost, at the amount paid.

    Tickets and taxis here are those not already entered as the fare of a leg.
    ``key`` is the stored expense's identity (its id); "" for one not stored yet.
    """

    kind: ExpenseKind
    amount: Decimal
    label: str = ""
    key: str = ""


@dataclass(frozen=True, kw_only=True)
class TravelEntries:
    """What the intervenant entered in the travel part.

    ``meals_taken`` maps (day, meal kind) to a MealTaken value.
    """

    legs: Sequence[TravelLeg] = ()
    meals_taken: Mapping[tuple[dt.date, str], str] = field(default_factory=dict)
    nights: Sequence[NightStay] = ()
    others: Sequence[OtherExpense] = ()

    def meal_taken(self, meal: MealEntitlement) -> str | None:
        return self.meals_taken.get(meal.key)


@dataclass(frozen=True, kw_only=True)
class TravelProfile:
    """What the rules take from the intervenant's profile and earlier claims.

    Frozen when the travel part is validated: a later change of profile, or
    another claim validated afterwards, does not change a validated claim.
    """

    family_commune: str = ""
    admin_commune: str = ""
    vehicle_cv: int | None = None
    km_before: int = 0
    # Recognised disabled worker (RQTH) with reduced mobility, declared in the profile.
    reduced_mobility: bool = False

    @property
    def residences(self) -> tuple[str, ...]:
        """The communes of family and administrative residence that are filled in."""
        return tuple(c for c in (self.family_commune, self.admin_commune) if c.strip())

    def lives_in(self, commune: str) -> bool:
        """Whether ``commune`` is the family or the administrative residence."""
        return bool(commune.strip()) and any(
            normalize_city(home) == normalize_city(commune) for home in self.residences
        )


@dataclass(frozen=True, kw_only=True)
class AmountLine:
    """One amount of the travel claim: what it is, why it is due, where it is entered.

    ``receipt`` is the supporting document the amount needs, if any.
    """

    category: Category
    label: str
    amount: Decimal
    reason: str
    target: FieldRef
    receipt: Receipt | None = None

    @property
    def text(self) -> str:
        """The line as the intervenant reads it: what, then why."""
        # A mileage formula already says the km, under the heading of its category.
        if self.category is Category.MILEAGE and self.amount > 0:
            return self.reason
        return f"{self.label} — {self.reason}"


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
    # Every entry a receipt could justify (legs, expenses, nights, meals), needed or not.
    entries: frozenset[ReceiptRef] = frozenset()

    def subtotal(self, category: Category) -> Decimal:
        """Total of one category."""
        return quantize(
            sum((line.amount for line in self.lines if line.category == category), ZERO)
        )

    def subtotals(self) -> dict[Category, Decimal]:
        """The total of every category that has a line, in the order of the categories."""
        present = {line.category for line in self.lines}
        return {category: self.subtotal(category) for category in Category if category in present}

    @property
    def receipts(self) -> list[Receipt]:
        """The documents to upload for the amounts claimed, in the order of the amounts."""
        return [line.receipt for line in self.lines if line.receipt is not None]


def night_label(night: dt.date) -> str:
    """ "Nuitée du 02/07/2025 au 03/07/2025" for the night of that evening."""
    return f"Nuitée du {format_date(night)} au {format_date(night + dt.timedelta(days=1))}"


def _leg_key(index: int, leg: TravelLeg) -> str:
    # Legs not stored yet (a new one, the domain's tests) are known by their position.
    return leg.key or f"#{index}"


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


def _check_amounts(key: str, leg: TravelLeg) -> list[FieldError]:
    def error(name: str, message: str) -> list[FieldError]:
        return [FieldError(FieldRef(Section.LEG, key, name), message)]

    if leg.mode not in MODES:
        return error("mode", "Choisissez un mode de transport.")
    if leg.paid_by_km:
        if leg.km is None:
            return error("km", "Saisissez le nombre de kilomètres parcourus.")
        if not 1 <= leg.km <= MAX_KM:
            return error(
                "km",
                f"Le nombre de kilomètres doit être compris entre 1 et {format_number(MAX_KM)}.",
            )
        return []
    if leg.fare is None:
        return error("fare", "Saisissez le prix payé (0 si vous n'avez rien payé).")
    if not ZERO <= leg.fare <= MAX_FARE:
        return error("fare", f"Le prix doit être compris entre 0 et {format_euros(MAX_FARE)}.")
    return []


def check_legs(legs: Sequence[TravelLeg], mission_days: Iterable[dt.date]) -> list[FieldError]:
    """Errors in the legs: cities, order of times, dates near the mission, overlaps, km, fares.

    Each error names its leg by ``key`` (or ``#<position>`` for a leg not stored yet)
    and its field: departure_city, arrival_city, departure, arrival, mode, km or fare.
    """
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
        key = _leg_key(index, leg)

        def error(name: str, message: str, key: str = key) -> None:
            errors.append(FieldError(FieldRef(Section.LEG, key, name), message))

        if not leg.departure_city.strip():
            error("departure_city", "Saisissez la ville de départ.")
        if not leg.arrival_city.strip():
            error("arrival_city", "Saisissez la ville d'arrivée.")
        if leg.arrival <= leg.departure:
            error("arrival", "L'arrivée doit être après le départ.")
        elif days and leg.departure.date() not in allowed:
            error("departure", out_of_range)
        elif days and leg.arrival.date() not in allowed:
            error("arrival", out_of_range)
        else:
            for other in legs[:index]:
                if other.departure < leg.arrival and leg.departure < other.arrival:
                    error("departure", f"Ce trajet chevauche celui {_span(other)}.")
                    break
        errors.extend(_check_amounts(key, leg))
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
_VEHICLE_CV = FieldRef(Section.PROFILE, field="vehicle_cv")


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


class _Receipts:
    """Builds the receipt an amount needs, under the dated rules of the mission's date."""

    def __init__(self, on: dt.date) -> None:
        self.on = on

    def __call__(
        self, type_: ReceiptType, ref: ReceiptRef, amount: Decimal, label: str
    ) -> Receipt | None:
        if amount <= 0 or not receipt_required(type_, self.on):
            return None
        return Receipt(ref, type_, label)


def _transport_lines(legs: Sequence[TravelLeg], receipt: _Receipts) -> list[AmountLine]:
    lines = []
    for index, leg in enumerate(legs):
        if leg.paid_by_km or leg.mode not in MODES or leg.fare is None:
            continue
        key = _leg_key(index, leg)
        amount = quantize(leg.fare)
        type_ = _RECEIPT_BY_MODE.get(Mode(leg.mode))
        lines.append(
            AmountLine(
                category=Category.TRANSPORT,
                label=leg.label,
                amount=amount,
                reason=f"prix payé : {format_euros(amount)}",
                target=FieldRef(Section.LEG, key),
                receipt=receipt(type_, ReceiptRef.leg(key), amount, f"{type_.label} — {leg.label}")
                if type_
                else None,
            )
        )
    return lines


def _mileage_lines(
    legs: Sequence[TravelLeg], profile: TravelProfile, on: dt.date, rates: RateTable
) -> list[AmountLine]:
    km = sum(leg.km or 0 for leg in legs if leg.paid_by_km)
    if km <= 0:
        return []
    label = f"{format_number(km)} km en véhicule personnel"
    if profile.vehicle_cv is None:
        reason = (
            "indiquez la puissance fiscale (CV) de votre véhicule "
            "pour calculer les indemnités kilométriques"
        )
        amount = ZERO
    else:
        try:
            amount, reason = mileage_amount(km, profile.vehicle_cv, profile.km_before, on, rates)
        except RateNotFound as error:
            amount, reason = ZERO, error.message
    return [
        AmountLine(
            category=Category.MILEAGE, label=label, amount=amount, reason=reason, target=_VEHICLE_CV
        )
    ]


def _meal_line(
    meal: MealEntitlement,
    taken: str | None,
    window: tuple[dt.datetime, dt.datetime],
    rates: RateTable,
    receipt: _Receipts,
) -> AmountLine:
    start, end = MEAL_WINDOWS[meal.kind]
    why = f"{_absence_text(window)} couvrant {format_time(start)}–{format_time(end)}"

    def line(amount: Decimal, reason: str) -> AmountLine:
        return AmountLine(
            category=Category.MEALS,
            label=meal.label,
            amount=amount,
            reason=reason,
            target=meal.ref,
            receipt=receipt(
                ReceiptType.MEAL,
                meal.receipt_ref,
                amount,
                f"{ReceiptType.MEAL.label} — {meal.label}",
            ),
        )

    try:
        # The rate in force on the day the meal was taken.
        rate = rates.amount("meal", "repas", meal.day)
    except RateNotFound as error:
        return line(ZERO, f"{why} — {error.message}")
    if taken == MealTaken.OTHER:
        amount, how = quantize(rate), format_euros(quantize(rate))
    elif taken == MealTaken.ADMINISTRATIVE:
        amount = quantize(rate / 2)
        how = f"restaurant administratif, moitié de {format_euros(rate)} : {format_euros(amount)}"
    elif taken == MealTaken.FREE:
        amount, how = ZERO, f"repas gratuit : {format_euros(ZERO)}"
    else:
        amount, how = ZERO, "indiquez comment ce repas a été pris"
    return line(amount, f"{why} — {how}")


def _night_ceiling(
    night: dt.date, commune: str, profile: TravelProfile, rates: RateTable
) -> tuple[Decimal, str]:
    """The ceiling of a night and its name; RateNotFound.

    A recognised disabled worker with reduced mobility has one ceiling of €150 wherever
    the night is (arrêté du 20 septembre 2023); before it existed, the zone's ceiling.
    """
    if profile.reduced_mobility:
        try:
            return rates.amount("night", "handicap", night), _ZONE_CEILINGS["handicap"]
        except RateNotFound:
            pass
    zone = zone_for(commune)
    return rates.amount("night", zone, night), _ZONE_CEILINGS[zone]


def _night_line(
    night: dt.date,
    stay: NightStay | None,
    entitled: bool,
    profile: TravelProfile,
    rates: RateTable,
    receipt: _Receipts,
) -> AmountLine:
    ref = ReceiptRef.night(night)
    label = night_label(night)
    if stay is not None and stay.commune:
        label = f"{label} à {stay.commune}"

    def line(amount: Decimal, reason: str) -> AmountLine:
        return AmountLine(
            category=Category.NIGHTS,
            label=label,
            amount=amount,
            reason=reason,
            target=FieldRef.of_receipt(ref),
            receipt=receipt(ReceiptType.HOTEL, ref, amount, f"{ReceiptType.HOTEL.label} — {label}"),
        )

    if not entitled:
        return line(ZERO, "pas d'absence couvrant 00:00–05:00 : non remboursée")
    why = "absence couvrant 00:00–05:00"
    if stay is None:
        return line(ZERO, f"{why} — aucun hébergement payant déclaré")
    if profile.lives_in(stay.commune):
        # Décret n° 2006-781 du 3 juillet 2006, art. 3 : no allowance in the commune
        # of the family or administrative residence.
        return line(ZERO, "nuitée dans votre commune de résidence : non remboursée")
    if stay.paid is None:
        return line(ZERO, f"{why} — indiquez le montant payé pour l'hébergement")
    try:
        ceiling, ceiling_name = _night_ceiling(night, stay.commune, profile, rates)
    except RateNotFound as error:
        return line(ZERO, f"{why} — {error.message}")
    amount = quantize(min(stay.paid, ceiling))
    return line(
        amount,
        f"{why} — {format_euros(quantize(stay.paid))} payés, "
        f"{ceiling_name} {format_euros(ceiling)} : {format_euros(amount)}",
    )


def _night_lines(
    entitled: Sequence[dt.date],
    nights: Sequence[NightStay],
    profile: TravelProfile,
    rates: RateTable,
    receipt: _Receipts,
) -> list[AmountLine]:
    stays = {stay.night: stay for stay in nights}
    return [
        _night_line(night, stays.get(night), night in entitled, profile, rates, receipt)
        for night in sorted(set(entitled) | set(stays))
    ]


def _other_lines(expenses: Sequence[OtherExpense], receipt: _Receipts) -> list[AmountLine]:
    lines = []
    for index, expense in enumerate(expenses):
        kind = ExpenseKind(expense.kind)
        name = OTHER_EXPENSE_KINDS.get(kind, OTHER_EXPENSE_KINDS[ExpenseKind.OTHER])[0]
        label = f"{name} — {expense.label}" if expense.label else name
        amount = quantize(expense.amount)
        key = expense.key or f"#{index}"
        type_ = _RECEIPT_BY_EXPENSE.get(kind, ReceiptType.OTHER)
        what = f"{type_.label} de {format_euros(amount)}"
        lines.append(
            AmountLine(
                category=Category.OTHER,
                label=label,
                amount=amount,
                reason=f"montant payé : {format_euros(amount)}",
                target=FieldRef(Section.EXPENSE, key),
                receipt=receipt(
                    type_,
                    ReceiptRef.expense(key),
                    amount,
                    f"{what} — {expense.label}" if expense.label else what,
                ),
            )
        )
    return lines


def _within_residence(legs: Sequence[TravelLeg], profile: TravelProfile) -> bool:
    if not legs:
        return False
    return any(
        all(
            normalize_city(leg.departure_city)
            == normalize_city(home)
            == normalize_city(leg.arrival_city)
            for leg in legs
        )
        for home in profile.residences
    )


RESIDENCE_REASON = "Pas de frais : le centre d'examen est dans votre commune de résidence."


def residence_reason(centre_commune: str, profile: TravelProfile) -> str:
    """Why the travel part does not apply at all, or "" when it may.

    Décret n° 2006-781 du 3 juillet 2006, art. 2 (8°) and 3 : a mission in the commune of
    the family or the administrative residence gives no travel allowance (no transport,
    no meal, no night). Said to the intervenant instead of computing zero.
    """
    if profile.lives_in(centre_commune):
        return (
            f"Pas de frais : le centre d'examen est à {centre_commune}, votre commune de résidence."
        )
    return ""


def _entries(
    entries: TravelEntries, meals: Sequence[MealEntitlement], nights: Iterable[dt.date]
) -> frozenset[ReceiptRef]:
    return frozenset(
        [
            *(ReceiptRef.leg(_leg_key(i, leg)) for i, leg in enumerate(entries.legs)),
            *(ReceiptRef.expense(e.key or f"#{i}") for i, e in enumerate(entries.others)),
            *(ReceiptRef.night(night) for night in nights),
            *(ReceiptRef.night(stay.night) for stay in entries.nights),
            *(meal.receipt_ref for meal in meals),
        ]
    )


def compute_travel(
    entries: TravelEntries,
    profile: TravelProfile,
    *,
    mission_date: dt.date,
    rates: RateTable,
    centre_commune: str = "",
) -> TravelComputation:
    """All the travel amounts of a claim, each with the reason shown to the intervenant.

    Meals and nights use the rate of their own day, mileage the rate of the mission
    date; which amounts need a receipt is the dated rule of the mission date. A centre
    in a commune of residence gives no travel part at all, and says so.
    """
    legs = entries.legs
    window = absence_window(legs)
    if reason := residence_reason(centre_commune, profile):
        return TravelComputation((), ZERO, applies=False, reason=reason, window=window)
    if _within_residence(legs, profile):
        return TravelComputation((), ZERO, applies=False, reason=RESIDENCE_REASON, window=window)
    receipt = _Receipts(mission_date)
    meals = meal_entitlements(window)
    entitled_nights = night_entitlements(window)
    lines = [
        *_transport_lines(legs, receipt),
        *_mileage_lines(legs, profile, mission_date, rates),
    ]
    if window is not None:
        for meal in meals:
            lines.append(_meal_line(meal, entries.meal_taken(meal), window, rates, receipt))
    lines.extend(_night_lines(entitled_nights, entries.nights, profile, rates, receipt))
    lines.extend(_other_lines(entries.others, receipt))
    total = quantize(sum((line.amount for line in lines), ZERO))
    reason = "" if legs else "Saisissez vos trajets pour calculer vos frais de déplacement."
    return TravelComputation(
        tuple(lines),
        total,
        True,
        reason,
        window,
        tuple(meals),
        tuple(entitled_nights),
        _entries(entries, meals, entitled_nights),
    )
