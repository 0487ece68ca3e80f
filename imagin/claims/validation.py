"""Validating a claim part by part: what blocks each part, and validating those that may go.

The rules are ``imagin.domain.validation``'s; this module gathers the facts they
need (the pay entries, the travel amounts, which documents justify which
receipt) and records the validation. A part is validated on its own: what the
travel part lacks never holds the pay part back, and the reverse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from imagin.claims.pay import PayView, pay_view
from imagin.claims.workflow import Actor, apply_transition
from imagin.documents.receipts import ReceiptsView, receipts_view
from imagin.domain.money import to_cents
from imagin.domain.rates import RateTable
from imagin.domain.status import Part
from imagin.domain.transitions import Action
from imagin.domain.validation import Blockers, blockers, dossier_missing
from imagin.dossier.service import need_of
from imagin.models import FrozenAmount, Mission
from imagin.travel.service import TravelView, frozen_amounts, frozen_detail, travel_view


@dataclass(frozen=True)
class ClaimCheck:
    """The claim as validation sees it: both parts, the receipts, and what blocks each part."""

    pay: PayView
    travel: TravelView
    receipts: ReceiptsView
    blockers: dict[Part, Blockers]

    @property
    def ready(self) -> list[Part]:
        """The parts the intervenant can validate now."""
        return [part for part in Part if not self.blockers[part]]

    def missing(self, parts: Iterable[Part] = tuple(Part)) -> list:
        return [item for part in parts for item in self.blockers[part].missing]


class PartsBlocked(Exception):
    """Validation refused: a part asked for is blocked (see ``blockers``)."""

    def __init__(self, check: ClaimCheck, parts: list[Part]) -> None:
        self.check = check
        self.parts = parts
        super().__init__("; ".join(m for p in parts for m in check.blockers[p].messages))

    @property
    def refusal(self) -> str | None:
        """A reason that concerns a whole part (its status, the date), if any."""
        return next((r for p in self.parts if (r := self.check.blockers[p].refusal)), None)


def check_claim(db: Session, mission: Mission, rates: RateTable, today: dt.date) -> ClaimCheck:
    """What blocks each part of the claim today (documents and their links loaded)."""
    claim = mission.claim
    pay = pay_view(mission, rates)
    travel = travel_view(db, mission, rates)
    receipts = receipts_view(travel, claim.documents)
    travel_missing = [*travel.missing, *receipts.missing] if travel.applies else []
    # Payroll pays nothing without the dossier financier: it blocks a part that pays.
    done = claim.done is not False
    need = need_of(db, mission.intervenant_id, today)
    pay_missing = [*pay.missing, *dossier_missing(need, pays=done and pay.applies)]
    travel_missing += dossier_missing(need, pays=done and travel.applies and travel.total > 0)
    return ClaimCheck(
        pay=pay,
        travel=travel,
        receipts=receipts,
        blockers={
            Part.PAY: blockers(
                claim.pay, mission_end=mission.ends_on, today=today, missing=pay_missing
            ),
            Part.TRAVEL: blockers(
                claim.travel, mission_end=mission.ends_on, today=today, missing=travel_missing
            ),
        },
    )


def parts_to_validate(check: ClaimCheck, mission: Mission, parts: Iterable[Part]) -> list[Part]:
    """The parts a validation concerns: those asked for, and with a mission declared not
    done, the other part too (the declaration is about the mission, not a part)."""
    wanted = [Part(part) for part in parts]
    if mission.claim.done is False:
        wanted += [part for part in Part if part not in wanted and not check.blockers[part]]
    return wanted


def validate_parts(
    db: Session,
    mission: Mission,
    parts: Iterable[Part],
    actor: Actor,
    check: ClaimCheck,
    now: dt.datetime,
) -> list[Part]:
    """Validate these parts (each must be ready); the caller commits. Returns those validated.

    :raise PartsBlocked: one of them is blocked; nothing was changed.
    """
    claim = mission.claim
    parts = parts_to_validate(check, mission, parts)
    if blocked := [part for part in parts if check.blockers[part]]:
        raise PartsBlocked(check, blocked)
    action = Action.DECLARE_NOT_DONE if claim.done is False else Action.VALIDATE
    for part in parts:
        travel = part is Part.TRAVEL and check.travel.applies
        apply_transition(
            db,
            mission,
            part,
            action,
            actor,
            now=now,
            # What the travel amounts were computed from, to show the same ones later.
            detail=frozen_detail(check.travel) if travel else None,
        )
        if part is Part.PAY:
            claim.pay_amount_cents = to_cents(check.pay.estimate.amount) if check.pay.applies else 0
        else:
            claim.travel_amount_cents = to_cents(check.travel.total) if travel else 0
            # The amounts by category the intervenant saw: what the payment export pays.
            _freeze(mission, frozen_amounts(check.travel) if travel else {})
    claim.validated_at = now
    claim.validated_by_id = actor.id
    return [part for part in Part if part in parts]


def _freeze(mission: Mission, amounts: dict) -> None:
    """Store the amounts by category, changing the rows of an earlier validation in place."""
    claim = mission.claim
    stored = {row.category: row for row in claim.frozen_amounts}
    rows = []
    for category, cents in amounts.items():
        row = stored.get(str(category)) or FrozenAmount(category=str(category))
        row.amount_cents = cents
        rows.append(row)
    claim.frozen_amounts = rows
