"""Between the stored travel part and imagin.domain.travel: what the tab shows, saving.

The rules (entitlements, amounts, checks) are the domain's; this module maps
the models to the domain's dataclasses and back, and loads what the rules need
from the database in a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from imagin.claims.editing import editable, ensure_editable, touch
from imagin.domain import travel as rules
from imagin.domain.errors import Missing
from imagin.domain.money import from_cents, to_cents
from imagin.domain.rates import RateTable
from imagin.domain.receipts import Receipt
from imagin.domain.status import Part, PartStatus
from imagin.domain.transitions import Action
from imagin.domain.travel import Category, ExpenseKind, TravelEntries, TravelProfile
from imagin.domain.validation import travel_missing
from imagin.models import AuditEvent, Claim, Expense, Mission, TravelLeg

NO_TRAVEL_RIGHT = (
    "Pas de frais : cette mission ne donne pas droit au remboursement des frais de déplacement."
)
NOT_DONE = "Mission non effectuée : aucun frais de déplacement n'est remboursé."
KEPT_WHILE_NOT_DONE = (
    " Vos trajets et frais saisis sont conservés : si la mission a bien été effectuée, "
    "indiquez « Oui » dans l'onglet Frais rémunération et ils seront repris."
)
CANCELLED = "Mission annulée : aucun frais de déplacement n'est remboursé."

# Statuses whose km count in the yearly mileage bands of the intervenant's next claims.
KM_COUNTED = (PartStatus.VALIDATED, PartStatus.APPROVED, PartStatus.IN_PAYMENT)
KM_MODES = sorted(mode.value for mode in rules.KM_MODES)
OTHER_KINDS = frozenset(rules.OTHER_EXPENSE_KINDS)


def get_own_leg(mission: Mission, leg_id: int) -> TravelLeg:
    """The leg of this (already access-checked) mission's claim.

    :raise LookupError: no such leg in this claim (the view answers 404).
    """
    for leg in mission.claim.legs:
        if leg.id == leg_id:
            return leg
    raise LookupError(leg_id)


@dataclass(frozen=True)
class CategoryView:
    """One category of the travel amounts, its lines (each with its reason) and subtotal."""

    code: Category
    label: str
    lines: list[str]
    subtotal: Decimal


@dataclass(kw_only=True)
class TravelView:
    """Everything the Frais déplacement tab, the Récapitulatif and the review show."""

    applies: bool
    reason: str
    editable: bool
    profile: TravelProfile
    legs: list[TravelLeg] = field(default_factory=list)
    entries: TravelEntries = field(default_factory=TravelEntries)
    computation: rules.TravelComputation | None = None
    missing: list[Missing] = field(default_factory=list)
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

    @property
    def receipts(self) -> list[Receipt]:
        """The receipts the amounts need (none when the part gives no right)."""
        return self.computation.receipts if self.computation and self.applies else []

    @property
    def categories(self) -> list[CategoryView]:
        if not self.computation or not self.applies:
            return []
        lines = self.computation.lines
        return [
            CategoryView(
                category,
                category.label,
                [line.text for line in lines if line.category == category],
                subtotal,
            )
            for category, subtotal in self.computation.subtotals().items()
        ]


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
        key=str(leg.id),
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


def profile_detail(profile: TravelProfile) -> dict:
    """The profile as the AuditEvent of validation keeps it."""
    return {
        "family_commune": profile.family_commune,
        "admin_commune": profile.admin_commune,
        "vehicle_cv": profile.vehicle_cv,
        "km_before": profile.km_before,
        "reduced_mobility": profile.reduced_mobility,
    }


def _frozen_profile(db: Session, mission: Mission) -> TravelProfile | None:
    """The profile recorded when the travel part was last validated, if any."""
    detail = db.scalar(
        select(AuditEvent.detail)
        .where(
            AuditEvent.mission_id == mission.id,
            AuditEvent.part == Part.TRAVEL,
            AuditEvent.action == Action.VALIDATE,
            AuditEvent.detail.is_not(None),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )
    if not detail:
        return None
    return TravelProfile(
        family_commune=detail.get("family_commune", ""),
        admin_commune=detail.get("admin_commune", ""),
        vehicle_cv=detail.get("vehicle_cv"),
        km_before=int(detail.get("km_before", 0)),
        reduced_mobility=bool(detail.get("reduced_mobility", False)),
    )


def _profile(db: Session, mission: Mission, editable: bool) -> TravelProfile:
    if not editable and (frozen := _frozen_profile(db, mission)) is not None:
        return frozen
    user = mission.intervenant
    uses_km = any(leg.mode in KM_MODES for leg in mission.claim.legs)
    return TravelProfile(
        family_commune=user.family_commune or "",
        admin_commune=user.admin_commune or "",
        vehicle_cv=user.vehicle_cv,
        reduced_mobility=user.reduced_mobility,
        # The query only matters when this claim has km to put in the bands.
        km_before=km_already_claimed(db, mission) if uses_km else 0,
    )


def _no_costs_reason(mission: Mission, profile: TravelProfile) -> str:
    """Why the travel part gives nothing at all, or "" when it may."""
    claim = mission.claim
    if not mission.travel_applies or claim.travel is PartStatus.NO_COSTS:
        return NO_TRAVEL_RIGHT
    if claim.travel is PartStatus.CANCELLED:
        return CANCELLED
    if claim.done is False or claim.travel is PartStatus.NOT_DONE:
        kept = claim.legs or claim.expenses
        return NOT_DONE + (KEPT_WHILE_NOT_DONE if kept and travel_editable(claim) else "")
    return rules.residence_reason(mission.centre.commune, profile)


def stored_entries(claim: Claim) -> tuple[TravelEntries, dict[dt.date, Expense], list[Expense]]:
    """The travel part as the domain reads it, with the stored nights and other expenses."""
    expenses = sorted(claim.expenses, key=lambda e: e.id or 0)
    stays = {e.day: e for e in expenses if e.kind == ExpenseKind.NIGHT and e.day}
    others = [e for e in expenses if e.kind in OTHER_KINDS]
    entries = TravelEntries(
        legs=[domain_leg(leg) for leg in claim.legs],
        meals_taken={
            (e.day, e.meal): e.taken
            for e in expenses
            if e.kind == ExpenseKind.MEAL and e.day and e.meal
        },
        nights=[
            rules.NightStay(
                day,
                stay.commune or "",
                from_cents(stay.amount_cents) if stay.amount_cents is not None else None,
            )
            for day, stay in sorted(stays.items())
        ],
        others=[
            rules.OtherExpense(
                ExpenseKind(e.kind), from_cents(e.amount_cents or 0), e.label, key=str(e.id)
            )
            for e in others
        ],
    )
    return entries, stays, others


def travel_view(db: Session, mission: Mission, rates: RateTable) -> TravelView:
    """What the travel part gives a right to, line by line, and what is still to enter."""
    claim = mission.claim
    editable = travel_editable(claim)
    profile = _profile(db, mission, editable)
    reason = _no_costs_reason(mission, profile)
    if reason:
        return TravelView(applies=False, reason=reason, editable=editable, profile=profile)

    entries, stays, others = stored_entries(claim)
    computation = rules.compute_travel(
        entries,
        profile,
        mission_date=mission.starts_on,
        rates=rates,
        centre_commune=mission.centre.commune,
    )
    legs = list(claim.legs)
    if not computation.applies:
        return TravelView(
            applies=False, reason=computation.reason, editable=editable, profile=profile, legs=legs
        )
    missing = (
        travel_missing(entries, computation, profile, [day.day for day in mission.days])
        if editable
        else []
    )
    return TravelView(
        applies=True,
        reason=computation.reason,
        editable=editable,
        profile=profile,
        legs=legs,
        entries=entries,
        computation=computation,
        missing=missing,
        stays=stays,
        others=others,
    )


# --- Checking and saving ---------------------------------------------------------------------


def travel_editable(claim: Claim) -> bool:
    """Whether the intervenant may still change the travel part."""
    return editable(claim, Part.TRAVEL)


def _near_mission(day: dt.date, mission_days: list[dt.date]) -> bool:
    return any(abs((day - d).days) <= 1 for d in mission_days)


# The key the domain gives the leg being added: it is not stored yet.
NEW_LEG = "new"


def leg_errors(
    mission: Mission, entry: rules.TravelLeg, leg: TravelLeg | None
) -> dict[str, list[str]]:
    """The domain's checks of one leg among the others of the claim, keyed by form field."""
    others = [domain_leg(other) for other in mission.claim.legs if other is not leg]
    key = str(leg.id) if leg is not None else NEW_LEG
    days = [day.day for day in mission.days]
    errors: dict[str, list[str]] = {}
    # Last in the list: the domain reports an overlap on the later of the two legs.
    for error in rules.check_legs([*others, replace(entry, key=key)], days):
        if error.ref.key != key:
            continue
        name = error.ref.field
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
    by_km = entry.paid_by_km
    leg.departure_at = entry.departure
    leg.departure_city = entry.departure_city.strip()
    leg.arrival_at = entry.arrival
    leg.arrival_city = entry.arrival_city.strip()
    leg.mode = entry.mode
    # Only what the mode is paid on is kept: a fare typed before switching to the car is not.
    leg.km = entry.km if by_km else None
    leg.fare_cents = to_cents(entry.fare) if not by_km and entry.fare is not None else None


def save_leg(
    mission: Mission, leg: TravelLeg | None, entry: rules.TravelLeg, now: dt.datetime, *, version
) -> TravelLeg:
    """Store a new leg (leg None) or the changes to one, in place; the caller commits.

    :raise ClaimConflict: the travel part can no longer change, or the form is stale.
    """
    claim = mission.claim
    ensure_editable(claim, Part.TRAVEL, version)
    if leg is None:
        leg = TravelLeg()
        _store_leg(leg, entry)
        claim.legs.append(leg)
    else:
        _store_leg(leg, entry)
    touch(claim, now)
    return leg


def delete_leg(mission: Mission, leg: TravelLeg, now: dt.datetime, *, version) -> None:
    """Remove a leg; the documents linked to it then say so. The caller commits.

    :raise ClaimConflict: the travel part can no longer change, or the form is stale.
    """
    claim = mission.claim
    ensure_editable(claim, Part.TRAVEL, version)
    claim.legs.remove(leg)
    touch(claim, now)


@dataclass(frozen=True)
class OtherEntry:
    """One other expense as the form holds it; ``key`` is the stored one's id, if any."""

    key: str
    kind: ExpenseKind
    label: str
    amount: Decimal


@dataclass(frozen=True, kw_only=True)
class ExpensesEntry:
    """What the expenses form holds, already parsed."""

    meals: dict[tuple[dt.date, str], str]
    stays: list[tuple[dt.date, str, Decimal | None]]
    others: list[OtherEntry]


def save_expenses(mission: Mission, entry: ExpensesEntry, now: dt.datetime, *, version) -> None:
    """Store the meals, nights and other expenses of the travel part; the caller commits.

    Rows are changed in place (meals by day and kind, nights by date, other expenses
    by id): saving the form again, even unchanged, keeps every document linked to
    its receipt. A row is deleted only when its entry is gone from the form.

    :raise ClaimConflict: the travel part can no longer change, or the form is stale.
    """
    claim = mission.claim
    ensure_editable(claim, Part.TRAVEL, version)
    stored = list(claim.expenses)
    meals = {(e.day, e.meal): e for e in stored if e.kind == ExpenseKind.MEAL}
    nights = {e.day: e for e in stored if e.kind == ExpenseKind.NIGHT}
    others = {str(e.id): e for e in stored if e.kind in OTHER_KINDS}
    kept: list[Expense] = []
    for (day, meal), taken in sorted(entry.meals.items()):
        row = meals.get((day, meal)) or Expense(kind=ExpenseKind.MEAL, day=day, meal=meal)
        row.taken = taken
        kept.append(row)
    for day, commune, paid in entry.stays:
        row = nights.get(day) or Expense(kind=ExpenseKind.NIGHT, day=day)
        row.commune = commune
        row.amount_cents = to_cents(paid) if paid is not None else None
        kept.append(row)
    for other in entry.others:
        # Only an id of this claim's own expenses is changed; anything else is a new row.
        row = others.pop(other.key, None) or Expense()
        row.kind, row.label, row.amount_cents = other.kind, other.label, to_cents(other.amount)
        kept.append(row)
    claim.expenses = kept
    touch(claim, now)


def frozen_amounts(view: TravelView) -> dict[Category, int]:
    """The travel amounts by category, in cents, as validation freezes them."""
    if view.computation is None or not view.applies:
        return {}
    return {category: to_cents(amount) for category, amount in view.computation.subtotals().items()}


def frozen_detail(view: TravelView) -> dict:
    """What to keep with the AuditEvent of validation to show the same amounts later."""
    return {
        **profile_detail(view.profile),
        "amount_cents": to_cents(view.total),
        "categories": {str(category): cents for category, cents in frozen_amounts(view).items()},
    }


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
    """The leg the LegForm holds; None while its dates or times are missing."""
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
        data[meal_field(meal)] = view.entries.meal_taken(meal)
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
        {
            "key": str(e.id),
            "kind": e.kind,
            "detail": e.label,
            "amount": from_cents(e.amount_cents or 0),
        }
        for e in view.others
    ] + [{}]
    return data


def meal_field(meal: rules.MealEntitlement) -> str:
    """The name of a meal's radio group in the expenses form: its element id too."""
    return f"meal-{meal.day.isoformat()}-{meal.kind}"


def expenses_entry(form, view: TravelView) -> ExpensesEntry:
    """What a valid expenses form holds: lines left empty are no expense."""
    meals = {
        meal.key: form[meal_field(meal)].data for meal in view.meals if form[meal_field(meal)].data
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
        OtherEntry(
            (line.key.data or "").strip(),
            ExpenseKind(line.kind.data),
            (line.detail.data or "").strip(),
            line.amount.data,
        )
        for line in form.expenses
        if line.amount.data is not None and line.kind.data in OTHER_KINDS
    ]
    return ExpensesEntry(meals=meals, stays=stays, others=others)
