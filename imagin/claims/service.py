"""Between the stored claim and the domain: what the pay tab shows, saving, validating."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from imagin.claims.workflow import Actor, apply_transition, mission_ended
from imagin.domain.money import to_cents
from imagin.domain.pay import (
    NOT_REMUNERATED,
    HoursLine,
    Missing,
    PayBasis,
    PayEntry,
    PayEstimate,
    check_counts,
    check_hours,
    estimate_pay,
    missing_for_validation,
    total_minutes,
)
from imagin.domain.rates import Rate, RateTable
from imagin.domain.status import EDITABLE_BY_INTERVENANT, PartStatus
from imagin.domain.transitions import Action, Transition, TransitionRefused
from imagin.models import Claim, Mission, RateRow
from imagin.models import HoursLine as StoredHoursLine

STALE_MESSAGE = (
    "Cette mission a été modifiée dans un autre onglet ou par une autre personne depuis que "
    "vous avez ouvert cette page. Vos saisies sont conservées ci-dessous ; comparez-les aux "
    "valeurs enregistrées puis enregistrez à nouveau."
)
LOCKED_MESSAGE = "Cet état de frais est validé : il ne peut plus être modifié."

# Where each missing entry is fixed: the tab, then the anchor of its field.
MISSING_ENDPOINTS = {
    "done": "claims.remuneration",
    "copies": "claims.remuneration",
    "candidates": "claims.remuneration",
    "hours": "claims.remuneration",
    "vehicle_cv": "profile.edit",
    "trajets": "travel.deplacement",
    "frais": "travel.deplacement",
    "pieces": "travel.deplacement",
}
# Travel anchors name a leg, a meal or a night: "leg-12", "meal-2022-12-02-dejeuner".
TRAVEL_ANCHOR_PREFIXES = ("leg-", "meal-", "night-", "expenses-")


def missing_endpoint(item: Missing) -> str:
    if item.anchor.startswith(TRAVEL_ANCHOR_PREFIXES):
        return "travel.deplacement"
    return MISSING_ENDPOINTS.get(item.anchor, "claims.recapitulatif")


class ClaimConflict(Exception):
    """The claim changed since the form was displayed, or can no longer be changed."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class MissingEntries(Exception):
    """Validation refused: things are still to be entered."""

    def __init__(self, missing: list[Missing]) -> None:
        self.missing = missing
        super().__init__("; ".join(m.message for m in missing))


def load_rates(db: Session) -> RateTable:
    """The whole rate table (a few dozen rows), in one query."""
    return RateTable(
        Rate(r.kind, r.code, Decimal(r.amount_cents) / 100, r.valid_from, r.valid_to)
        for r in db.scalars(select(RateRow))
    )


def stored_entry(claim: Claim) -> PayEntry:
    return PayEntry(
        done=claim.done,
        copies=claim.copies,
        candidates=claim.candidates,
        hours=tuple(HoursLine(h.day, h.start, h.end) for h in claim.hours),
    )


def entry_from_form(form) -> PayEntry:
    """What the form holds; hours lines left empty are no lines."""
    done = {"oui": True, "non": False}.get(form.done.data or "")
    return PayEntry(
        done=done,
        copies=form.copies.data,
        candidates=form.candidates.data,
        hours=tuple(
            HoursLine(line.day.data, line.start.data, line.end.data)
            for line in form.hours
            if line.day.data and line.start.data and line.end.data
        ),
    )


def form_data(mission: Mission) -> dict:
    """The stored pay part as form data: one hours line per mission day."""
    claim = mission.claim
    by_day = {h.day: h for h in claim.hours}
    return {
        "done": {True: "oui", False: "non"}.get(claim.done),
        "copies": claim.copies,
        "candidates": claim.candidates,
        "hours": [
            {
                "day": day.day,
                "start": by_day[day.day].start if day.day in by_day else None,
                "end": by_day[day.day].end if day.day in by_day else None,
            }
            for day in mission.days
        ],
        "version": claim.version,
    }


@dataclass
class PayView:
    """Everything the pay tab and the summary show about the pay part."""

    entry: PayEntry
    basis: PayBasis
    applies: bool
    estimate: PayEstimate
    minutes: int
    missing: list[Missing] = field(default_factory=list)

    @property
    def asks_copies(self) -> bool:
        return self.basis is PayBasis.COPIES

    @property
    def asks_candidates(self) -> bool:
        return self.basis is PayBasis.CANDIDATES_HOURS

    @property
    def asks_hours(self) -> bool:
        return self.basis in (PayBasis.CANDIDATES_HOURS, PayBasis.HOURS)


def pay_view(mission: Mission, rates: RateTable, entry: PayEntry | None = None) -> PayView:
    entry = entry if entry is not None else stored_entry(mission.claim)
    rate_class = mission.exam.rate_class
    applies = (
        mission.pay_applies
        and rate_class != NOT_REMUNERATED
        and mission.claim.pay is not PartStatus.NO_COSTS
    )
    days = [d.day for d in mission.days]
    basis = PayBasis(mission.mission_type.pay_basis)
    return PayView(
        entry=entry,
        basis=basis,
        applies=applies,
        estimate=estimate_pay(
            entry, rate_class if applies else NOT_REMUNERATED, mission.starts_on, rates
        ),
        minutes=total_minutes(entry.hours),
        missing=missing_for_validation(entry, basis, rate_class, days) if applies else [],
    )


def pay_errors(mission: Mission, entry: PayEntry) -> dict[str, list[str]]:
    """Domain checks of the pay part, keyed by form field name."""
    errors: dict[str, list[str]] = {}
    days = {d.day for d in mission.days}
    for error in [*check_counts(entry), *check_hours(entry.hours, days)]:
        errors.setdefault(error.field, []).append(error.message)
    return errors


def is_editable(claim: Claim) -> bool:
    """Whether the intervenant may still change anything in the claim."""
    return claim.pay in EDITABLE_BY_INTERVENANT or claim.travel in EDITABLE_BY_INTERVENANT


def check_version(claim: Claim, posted_version: str | None) -> None:
    """Refuse a form displayed before the claim last changed (another tab, another person)."""
    if not is_editable(claim):
        raise ClaimConflict(LOCKED_MESSAGE)
    if str(claim.version) != (posted_version or "").strip():
        raise ClaimConflict(STALE_MESSAGE)


def save_pay(mission: Mission, entry: PayEntry, now: dt.datetime) -> None:
    """Store the pay part as entered; the caller commits."""
    claim = mission.claim
    if claim.pay not in EDITABLE_BY_INTERVENANT:
        raise ClaimConflict(LOCKED_MESSAGE)
    # Read the stored lines before changing anything: loading them would autoflush
    # the half-made change and bump the version twice.
    kept = {(h.day, h.start, h.end): h for h in claim.hours}
    claim.done = entry.done
    claim.copies = entry.copies
    claim.candidates = entry.candidates
    claim.hours = [
        kept.get((line.day, line.start, line.end))
        or StoredHoursLine(day=line.day, start=line.start, end=line.end)
        for line in entry.hours
    ]
    # Always touch the row, so its version moves even when only hours lines changed.
    touch(claim, now)


def touch(claim: Claim, now: dt.datetime) -> None:
    """Mark the claim changed, so its version moves even when only its lines did."""
    claim.updated_at = now
    # A second change within the same second sets the same value: force the UPDATE.
    flag_modified(claim, "updated_at")


def validate_claim(
    db: Session, mission: Mission, actor: Actor, rates: RateTable, now: dt.datetime
) -> list[Transition]:
    """Validate every part the intervenant can still change; the caller commits.

    :raise TransitionRefused: the mission has not ended, or nothing can be validated.
    :raise MissingEntries: something must still be entered.
    """
    claim = mission.claim
    parts = [p for p in ("pay", "travel") if getattr(claim, p) in EDITABLE_BY_INTERVENANT]
    if not parts:
        raise TransitionRefused(LOCKED_MESSAGE)
    if not mission_ended(mission, now.date()):
        # Let the domain word the refusal, with the date validation becomes possible.
        apply_transition(db, mission, parts[0], Action.VALIDATE, actor, now=now)
    view = pay_view(mission, rates)
    missing = list(view.missing) if "pay" in parts else []
    travel = None
    if "travel" in parts and claim.done is not False:
        # Imported here: the travel service builds on this module.
        from imagin.documents.receipts import missing_receipts, needed_receipts
        from imagin.travel.service import frozen_detail, travel_view

        travel = travel_view(db, mission, rates)
        missing.extend(travel.missing)
        # Every receipt the amounts need must have a document naming it.
        missing.extend(missing_receipts(needed_receipts(travel, claim.documents)))
    if missing:
        raise MissingEntries(missing)
    action = Action.DECLARE_NOT_DONE if claim.done is False else Action.VALIDATE
    changes = [
        apply_transition(
            db,
            mission,
            part,
            action,
            actor,
            now=now,
            # What the travel amounts were computed from, to show the same ones later.
            detail=frozen_detail(travel) if part == "travel" and travel else None,
        )
        for part in parts
    ]
    if "pay" in parts:
        claim.pay_amount_cents = to_cents(view.estimate.amount) if view.applies else 0
    if "travel" in parts:
        claim.travel_amount_cents = to_cents(travel.total) if travel and travel.applies else 0
    claim.validated_at = now
    claim.validated_by_id = actor.id
    return changes
