"""Between the stored travel part and imagin.domain.travel: what the tab shows, saving.

The rules (entitlements, amounts, checks) are the domain's; this module maps
the models to the domain's dataclasses and back, and loads what the rules need
from the database in a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, defaultload

from imagin.claims.service import LOCKED_MESSAGE, STALE_MESSAGE, ClaimConflict, touch
from imagin.domain import travel as rules
from imagin.domain.communes import normalize_city
from imagin.domain.errors import Missing
from imagin.domain.money import from_cents, to_cents
from imagin.domain.rates import RateTable
from imagin.domain.status import EDITABLE_BY_INTERVENANT, PartStatus
from imagin.models import AuditEvent, Claim, Expense, Mission, TravelLeg

NO_TRAVEL_RIGHT = (
    "Pas de frais : cette mission ne donne pas droit au remboursement des frais de déplacement."
)
NOT_DONE = "Mission non effectuée : aucun frais de déplacement n'est remboursé."
CANCELLED = "Mission annulée : aucun frais de déplacement n'est remboursé."

# Expense.kind of the other expenses -> the domain's kind, and how the form names them.
OTHER_KINDS: dict[str, tuple[str, str]] = {
    "ticket": ("billet", "Billet non compris dans un trajet"),
    "toll": ("peage", "Péage"),
    "parking": ("parking", "Parking"),
    "taxi": ("taxi", "Taxi non compris dans un trajet"),
    "other": ("autre", "Autre frais"),
}
MEAL, NIGHT = "meal", "night"

# Statuses whose km count in the yearly mileage bands of the intervenant's next claims.
KM_COUNTED = (PartStatus.VALIDATED, PartStatus.APPROVED, PartStatus.IN_PAYMENT)
KM_MODES = sorted(mode.value for mode in rules.KM_MODES)


def loader_options() -> tuple:
    """Loader options for get_own_mission: the claim's legs and expenses, one query each."""
    claim = defaultload(Mission.claim)
    return (claim.selectinload(Claim.legs), claim.selectinload(Claim.expenses))


def get_own_leg(mission: Mission, leg_id: int) -> TravelLeg:
    """The leg of this (already access-checked) mission's claim.

    :raise LookupError: no such leg in this claim (the view answers 404).
    """
    for leg in mission.claim.legs:
        if leg.id == leg_id:
            return leg
    raise LookupError(leg_id)


@dataclass(frozen=True)
class Inputs:
    """What the rules take from the intervenant's profile and other claims.

    Frozen in the AuditEvent of validation: a later change of profile, or
    another claim validated afterwards, does not change a validated claim.
    """

    family_commune: str
    admin_commune: str
    vehicle_cv: int | None
    km_before: int

    def as_detail(self) -> dict:
        return {
            "family_commune": self.family_commune,
            "admin_commune": self.admin_commune,
            "vehicle_cv": self.vehicle_cv,
            "km_before": self.km_before,
        }


@dataclass(frozen=True)
class Category:
    """One category of the travel amounts, its lines (each with its reason) and subtotal."""

    code: str
    label: str
    lines: list[str]
    subtotal: Decimal


@dataclass
class TravelView:
    """Everything the Frais déplacement tab and the Récapitulatif show about the travel part."""

    applies: bool
    reason: str
    editable: bool
    inputs: Inputs
    legs: list[TravelLeg] = field(default_factory=list)
    computation: rules.TravelComputation | None = None
    categories: list[Category] = field(default_factory=list)
    receipts: list[rules.Receipt] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    meals_taken: dict[tuple[dt.date, str], str] = field(default_factory=dict)
    stays: dict[dt.date, Expense] = field(default_factory=dict)
    others: list[Expense] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return self.computation.total if self.computation else Decimal("0.00")

    @property
    def meals(self) -> tuple[rules.MealEntitlement, ...]:
        return self.computation.meals if self.computation else ()

    @property
    def nights(self) -> list[dt.date]:
        """Nights the form asks about: those the absence gives, and those already entered."""
        entitled = set(self.computation.nights) if self.computation else set()
        return sorted(entitled | set(self.stays))


# --- From the models to the domain -----------------------------------------------------------


def domain_leg(leg: TravelLeg) -> rules.TravelLeg:
    return rules.TravelLeg(
        leg.departure_at,
        leg.departure_city,
        leg.arrival_at,
        leg.arrival_city,
        leg.mode,
        leg.km,
        from_cents(leg.fare_cents) if leg.fare_cents is not None else None,
    )


def km_already_claimed(db: Session, mission: Mission) -> int:
    """Km by own vehicle in the intervenant's claims validated earlier that calendar year."""
    start = mission.starts_on
    earlier = or_(
        Mission.starts_on < start,
        and_(Mission.starts_on == start, Mission.number < mission.number),
    )
    total = db.scalar(
        select(func.coalesce(func.sum(TravelLeg.km), 0))
        .join(Claim, TravelLeg.claim_id == Claim.id)
        .join(Mission, Claim.mission_id == Mission.id)
        .where(
            Mission.intervenant_id == mission.intervenant_id,
            Mission.starts_on >= dt.date(start.year, 1, 1),
            earlier,
            Claim.travel_status.in_([status.value for status in KM_COUNTED]),
            TravelLeg.mode.in_(KM_MODES),
        )
    )
    return int(total or 0)


def _frozen_inputs(db: Session, mission: Mission) -> Inputs | None:
    """The inputs recorded when the travel part was last validated, if any."""
    detail = db.scalar(
        select(AuditEvent.detail)
        .where(
            AuditEvent.mission_id == mission.id,
            AuditEvent.part == "travel",
            AuditEvent.action == "validate",
            AuditEvent.detail.is_not(None),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )
    if not detail:
        return None
    return Inputs(
        detail.get("family_commune", ""),
        detail.get("admin_commune", ""),
        detail.get("vehicle_cv"),
        int(detail.get("km_before", 0)),
    )


def _inputs(db: Session, mission: Mission, editable: bool) -> Inputs:
    if not editable and (frozen := _frozen_inputs(db, mission)) is not None:
        return frozen
    user = mission.intervenant
    uses_km = any(leg.mode in KM_MODES for leg in mission.claim.legs)
    return Inputs(
        user.family_commune or "",
        user.admin_commune or "",
        user.vehicle_cv,
        # The query only matters when this claim has km to put in the bands.
        km_already_claimed(db, mission) if uses_km else 0,
    )


def _no_costs_reason(mission: Mission, inputs: Inputs) -> str:
    """Why the travel part gives nothing at all, or "" when it may."""
    claim = mission.claim
    if not mission.travel_applies or claim.travel is PartStatus.NO_COSTS:
        return NO_TRAVEL_RIGHT
    if claim.travel is PartStatus.CANCELLED:
        return CANCELLED
    if claim.done is False or claim.travel is PartStatus.NOT_DONE:
        return NOT_DONE
    centre = normalize_city(mission.centre.commune)
    for commune in (inputs.family_commune, inputs.admin_commune):
        if commune.strip() and normalize_city(commune) == centre:
            return (
                f"Pas de frais : le centre d'examen est à {mission.centre.commune}, "
                "votre commune de résidence."
            )
    return ""


def _line_text(line: rules.AmountLine) -> str:
    # Meal and night reasons already start with the line's label, and a mileage formula
    # already says the km, under the heading of its category.
    if line.reason.startswith(line.label) or (
        line.category == "indemnites_kilometriques" and line.amount > 0
    ):
        return line.reason
    return f"{line.label} — {line.reason}"


def _leg_anchor(anchor: str, legs: list[TravelLeg]) -> str:
    """The domain numbers legs ("legs-0"); the page identifies rows by id ("leg-12")."""
    if anchor.startswith("legs-"):
        return f"leg-{legs[int(anchor.split('-')[1])].id}"
    return anchor


def travel_view(db: Session, mission: Mission, rates: RateTable) -> TravelView:
    """What the travel part gives a right to, line by line, and what is still to enter."""
    claim = mission.claim
    editable = claim.travel in EDITABLE_BY_INTERVENANT
    inputs = _inputs(db, mission, editable)
    reason = _no_costs_reason(mission, inputs)
    if reason:
        return TravelView(False, reason, editable, inputs)

    legs = list(claim.legs)
    expenses = sorted(claim.expenses, key=lambda e: e.id or 0)
    meals_taken = {(e.day, e.meal): e.taken for e in expenses if e.kind == MEAL and e.day}
    stays = {e.day: e for e in expenses if e.kind == NIGHT and e.day}
    others = [e for e in expenses if e.kind in OTHER_KINDS]
    nights = [
        rules.NightStay(
            day,
            stay.commune or "",
            from_cents(stay.amount_cents) if stay.amount_cents is not None else None,
        )
        for day, stay in sorted(stays.items())
    ]
    other_expenses = [
        rules.OtherExpense(OTHER_KINDS[e.kind][0], from_cents(e.amount_cents or 0), e.label)
        for e in others
    ]
    domain_legs = [domain_leg(leg) for leg in legs]
    computation = rules.compute_travel(
        domain_legs,
        meals_taken,
        nights,
        inputs.vehicle_cv,
        inputs.km_before,
        other_expenses,
        mission.starts_on,
        inputs.family_commune,
        rates,
    )
    if not computation.applies:
        return TravelView(False, computation.reason, editable, inputs, legs=legs)
    categories = [
        Category(
            code,
            label,
            [_line_text(line) for line in computation.lines if line.category == code],
            computation.subtotal(code),
        )
        for code, label in rules.CATEGORIES.items()
        if any(line.category == code for line in computation.lines)
    ]
    receipts = [
        rules.Receipt(r.kind, r.label, _leg_anchor(r.anchor, legs))
        for r in rules.required_receipts(computation, mission.starts_on)
    ]
    missing = []
    if editable:
        missing = [
            Missing(m.message, _leg_anchor(m.anchor, legs))
            for m in rules.missing_for_validation(
                domain_legs,
                computation,
                meals_taken,
                nights,
                inputs.vehicle_cv,
                [day.day for day in mission.days],
            )
        ]
    return TravelView(
        True,
        computation.reason,
        editable,
        inputs,
        legs,
        computation,
        categories,
        receipts,
        missing,
        meals_taken,
        stays,
        others,
    )


# --- Checking and saving ---------------------------------------------------------------------


def travel_editable(claim: Claim) -> bool:
    """Whether the intervenant may still change the travel part."""
    return claim.travel in EDITABLE_BY_INTERVENANT


def check_travel_version(claim: Claim, posted_version: str | None) -> None:
    """Refuse a change to a locked travel part, or from a form older than the claim."""
    if claim.travel not in EDITABLE_BY_INTERVENANT:
        raise ClaimConflict(LOCKED_MESSAGE)
    if str(claim.version) != (posted_version or "").strip():
        raise ClaimConflict(STALE_MESSAGE)


def _near_mission(day: dt.date, mission_days: list[dt.date]) -> bool:
    return any(abs((day - d).days) <= 1 for d in mission_days)


def leg_errors(
    mission: Mission, entry: rules.TravelLeg, leg: TravelLeg | None
) -> dict[str, list[str]]:
    """The domain's checks of one leg among the others of the claim, keyed by form field."""
    others = [domain_leg(other) for other in mission.claim.legs if other is not leg]
    days = [day.day for day in mission.days]
    # Last in the list: the domain reports an overlap on the later of the two legs.
    index = len(others)
    errors: dict[str, list[str]] = {}
    for error in rules.check_legs([*others, entry], days):
        prefix, _, name = error.field.rpartition("-")
        if prefix != f"legs-{index}":
            continue
        if name == "departure":
            near = _near_mission(entry.departure.date(), days)
            name = "departure_time" if near else "departure_date"
        elif name == "arrival":
            same_day = entry.arrival.date() == entry.departure.date()
            in_range = _near_mission(entry.arrival.date(), days)
            name = "arrival_time" if same_day and in_range else "arrival_date"
        errors.setdefault(name, []).append(error.message)
    return errors


def _store_leg(leg: TravelLeg, entry: rules.TravelLeg) -> None:
    by_km = entry.mode in rules.KM_MODES
    leg.departure_at = entry.departure
    leg.departure_city = entry.departure_city.strip()
    leg.arrival_at = entry.arrival
    leg.arrival_city = entry.arrival_city.strip()
    leg.mode = entry.mode
    # Only what the mode is paid on is kept: a fare typed before switching to the car is not.
    leg.km = entry.km if by_km else None
    leg.fare_cents = to_cents(entry.fare) if not by_km and entry.fare is not None else None


def save_leg(
    mission: Mission, leg: TravelLeg | None, entry: rules.TravelLeg, now: dt.datetime
) -> TravelLeg:
    """Store a new leg (leg None) or the changes to one; the caller commits."""
    claim = mission.claim
    if claim.travel not in EDITABLE_BY_INTERVENANT:
        raise ClaimConflict(LOCKED_MESSAGE)
    if leg is None:
        leg = TravelLeg()
        _store_leg(leg, entry)
        claim.legs.append(leg)
    else:
        _store_leg(leg, entry)
    touch(claim, now)
    return leg


def delete_leg(mission: Mission, leg: TravelLeg, now: dt.datetime) -> None:
    """Remove a leg; the caller commits."""
    claim = mission.claim
    if claim.travel not in EDITABLE_BY_INTERVENANT:
        raise ClaimConflict(LOCKED_MESSAGE)
    claim.legs.remove(leg)
    touch(claim, now)


@dataclass(frozen=True)
class ExpensesEntry:
    """What the expenses form holds, already parsed."""

    meals: dict[tuple[dt.date, str], str]
    stays: list[tuple[dt.date, str, Decimal | None]]
    others: list[tuple[str, str, Decimal]]


def save_expenses(mission: Mission, entry: ExpensesEntry, now: dt.datetime) -> None:
    """Replace the meals, nights and other expenses of the travel part; the caller commits."""
    claim = mission.claim
    if claim.travel not in EDITABLE_BY_INTERVENANT:
        raise ClaimConflict(LOCKED_MESSAGE)
    claim.expenses = [
        *(
            Expense(kind=MEAL, day=day, meal=meal, taken=taken)
            for (day, meal), taken in sorted(entry.meals.items())
        ),
        *(
            Expense(
                kind=NIGHT,
                day=day,
                commune=commune,
                amount_cents=to_cents(paid) if paid is not None else None,
            )
            for day, commune, paid in entry.stays
        ),
        *(
            Expense(kind=kind, label=label, amount_cents=to_cents(amount))
            for kind, label, amount in entry.others
        ),
    ]
    touch(claim, now)


def frozen_detail(view: TravelView) -> dict:
    """What to keep with the AuditEvent of validation to show the same amounts later."""
    return {**view.inputs.as_detail(), "amount_cents": to_cents(view.total)}


# --- Between the forms and the domain ---------------------------------------------------------


def leg_data(leg: TravelLeg, claim: Claim) -> dict:
    """A stored leg as form data."""
    return {
        "departure_date": leg.departure_at.date(),
        "departure_time": leg.departure_at.time(),
        "departure_city": leg.departure_city,
        "arrival_date": leg.arrival_at.date(),
        "arrival_time": leg.arrival_at.time(),
        "arrival_city": leg.arrival_city,
        "mode": leg.mode,
        "km": leg.km,
        "fare": from_cents(leg.fare_cents) if leg.fare_cents is not None else None,
        "version": claim.version,
    }


def new_leg_data(mission: Mission) -> dict:
    """A new leg starts where the last one arrived (or at home), on the day it arrived."""
    claim = mission.claim
    last = max(claim.legs, key=lambda leg: leg.arrival_at, default=None)
    day = last.arrival_at.date() if last else mission.starts_on
    return {
        "departure_date": day,
        "departure_city": last.arrival_city if last else mission.intervenant.family_commune,
        "arrival_date": day,
        "mode": last.mode if last else "",
        "version": claim.version,
    }


def return_leg_data(leg: TravelLeg, claim: Claim) -> dict:
    """The way back of a leg: cities swapped, same mode, km and fare, on its arrival day."""
    data = leg_data(leg, claim)
    day = leg.arrival_at.date()
    return {
        **data,
        "departure_date": day,
        "departure_time": None,
        "departure_city": leg.arrival_city,
        "arrival_date": day,
        "arrival_time": None,
        "arrival_city": leg.departure_city,
    }


def leg_entry(form) -> rules.TravelLeg | None:
    """The leg a valid LegForm holds; None while its dates or times are missing."""
    departure, arrival = form.departure(), form.arrival()
    if departure is None or arrival is None:
        return None
    return rules.TravelLeg(
        departure,
        (form.departure_city.data or "").strip(),
        arrival,
        (form.arrival_city.data or "").strip(),
        form.mode.data or "",
        form.km.data,
        form.fare.data,
    )


def expenses_data(view: TravelView, claim: Claim) -> dict:
    """The stored expenses as form data, with one empty line to add another expense."""
    data: dict = {"version": claim.version}
    for meal in view.meals:
        data[meal.anchor] = view.meals_taken.get((meal.day, meal.kind))
    data["nights"] = [
        {
            "night": night.isoformat(),
            "commune": stay.commune if stay else "",
            "paid": from_cents(stay.amount_cents)
            if stay and stay.amount_cents is not None
            else None,
        }
        for night in view.nights
        for stay in (view.stays.get(night),)
    ]
    data["expenses"] = [
        {"kind": e.kind, "detail": e.label, "amount": from_cents(e.amount_cents or 0)}
        for e in view.others
    ] + [{}]
    return data


def expenses_entry(form, view: TravelView) -> ExpensesEntry:
    """What a valid expenses form holds: lines left empty are no expense."""
    meals = {
        (meal.day, meal.kind.value): form[meal.anchor].data
        for meal in view.meals
        if form[meal.anchor].data
    }
    # Only the nights the form offered: a date added by hand is ignored.
    offered = {night.isoformat(): night for night in view.nights}
    stays = []
    for line in form.nights:
        night = offered.get(line.night.data or "")
        commune = (line.commune.data or "").strip()
        if night is not None and (commune or line.paid.data is not None):
            stays.append((night, commune, line.paid.data))
    others = [
        (line.kind.data, (line.detail.data or "").strip(), line.amount.data)
        for line in form.expenses
        if line.amount.data is not None and line.kind.data in OTHER_KINDS
    ]
    return ExpensesEntry(meals, stays, others)
