"""Sending validated claim parts to payment: one recorded batch, one CSV, one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, defaultload, joinedload

from imagin.claims.workflow import Actor, apply_transition
from imagin.domain.dossier import payment_refusal
from imagin.domain.money import from_cents
from imagin.domain.payroll import PayrollLine, payroll_csv
from imagin.domain.status import Part, PartStatus
from imagin.domain.transitions import Action, TransitionRefused
from imagin.domain.travel import Category, ExpenseKind
from imagin.dossier.service import needs_of, payees, seal_batch_csv
from imagin.mail import queue_mails
from imagin.manage.access import managed_bureau_ids, managed_missions
from imagin.models import Claim, Mission, PaymentBatch, PaymentLine
from imagin.notifications import MESSAGE_LOADING, in_payment_message


@dataclass(frozen=True)
class PayablePart:
    mission: Mission
    part: Part

    @property
    def key(self) -> str:
        return f"{self.mission.claim.id}:{self.part}"

    @property
    def amount_cents(self) -> int:
        claim = self.mission.claim
        cents = claim.pay_amount_cents if self.part is Part.PAY else claim.travel_amount_cents
        return cents or 0


def payable_parts(
    db: Session, bureau_id: int | None = None, *, for_export: bool = False
) -> list[PayablePart]:
    """Parts "Validé par gestionnaire" of the current user's bureaus, in one query."""
    approved = PartStatus.APPROVED.value
    query = (
        select(Mission)
        .join(Mission.claim)
        .where(managed_missions())
        .where((Claim.pay_status == approved) | (Claim.travel_status == approved))
        .options(*MESSAGE_LOADING, *(_EXPORT_LOADING if for_export else ()))
        .order_by(Mission.number)
    )
    if bureau_id is not None:
        query = query.where(Mission.bureau_id == bureau_id)
    return [
        PayablePart(mission, part)
        for mission in db.scalars(query).unique()
        for part in Part
        if getattr(mission.claim, part.status_column) == approved
    ]


# What the file says of a travel part: its frozen amounts, its legs, its other expenses.
_CLAIM = defaultload(Mission.claim)
_EXPORT_LOADING = (
    _CLAIM.selectinload(Claim.frozen_amounts),
    _CLAIM.selectinload(Claim.legs),
    _CLAIM.selectinload(Claim.expenses),
)


class ExportRefused(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _categories(claim: Claim) -> dict[Category, Decimal]:
    """The travel amounts by category as the intervenant saw them when validating."""
    return {Category(row.category): from_cents(row.amount_cents) for row in claim.frozen_amounts}


def _legs(claim: Claim) -> str:
    return " ; ".join(f"{leg.departure_city} → {leg.arrival_city}" for leg in claim.legs)


def _precisions(claim: Claim) -> str:
    return " ; ".join(
        expense.label
        for expense in sorted(claim.expenses, key=lambda e: e.id)
        if expense.label and expense.kind not in (ExpenseKind.MEAL, ExpenseKind.NIGHT)
    )


def export_parts(
    db: Session, keys: list[str], bureau_id: int, actor: Actor, now: dt.datetime
) -> PaymentBatch:
    """Move the chosen parts to "Mis en paiement" and record the batch with its CSV.

    All or nothing: one part that cannot be paid (already exported, not validated, of
    another bureau) refuses the whole export. The caller commits.
    """
    wanted: set[tuple[int, str]] = set()
    for key in keys:
        claim_id, _, part = key.partition(":")
        if not claim_id.isdigit() or part not in {p.value for p in Part}:
            raise ExportRefused("Sélection invalide : rechargez la page et recommencez.")
        wanted.add((int(claim_id), Part(part)))
    if not wanted:
        raise ExportRefused("Sélectionnez au moins un état de frais à mettre en paiement.")
    by_key = {
        (p.mission.claim.id, p.part): p for p in payable_parts(db, bureau_id, for_export=True)
    }
    missing = wanted - set(by_key)
    if missing:
        raise ExportRefused(
            "Certains états de frais ne sont plus « Validé par gestionnaire » (déjà mis en "
            "paiement, renvoyés ou d'un autre bureau) : rien n'a été exporté."
        )
    chosen = sorted((by_key[k] for k in wanted), key=lambda p: (p.mission.number, p.part))
    payees = _verified_payees(db, chosen, now.date())
    batch = PaymentBatch(created_at=now, created_by_id=actor.id, bureau_id=bureau_id, csv="")
    db.add(batch)
    db.flush()  # the batch number goes into the file
    lines = []
    for item in chosen:
        try:
            apply_transition(db, item.mission, item.part, Action.PAY, actor, now=now)
        except TransitionRefused as refused:
            raise ExportRefused(refused.message) from refused
        batch.lines.append(
            PaymentLine(
                claim_id=item.mission.claim.id, part=item.part, amount_cents=item.amount_cents
            )
        )
        user = item.mission.intervenant
        claim = item.mission.claim
        travel = item.part is Part.TRAVEL
        payee = payees[user.id]
        lines.append(
            PayrollLine(
                batch_id=batch.id,
                exported_on=now.date(),
                bureau_code=item.mission.bureau.code,
                mission_number=item.mission.number,
                exam=item.mission.exam.name,
                session=item.mission.session.label,
                last_name=user.last_name,
                first_name=user.first_name,
                email=user.email,
                part=item.part,
                total=from_cents(item.amount_cents),
                categories=_categories(claim) if travel else {},
                legs=_legs(claim) if travel else "",
                precisions=_precisions(claim) if travel else "",
                beneficiary=payee.beneficiary,
                nir=payee.nir,
                iban=payee.iban,
                bic=payee.bic,
            )
        )
    # The file carries IBANs and NIRs: kept encrypted like the dossier they come from.
    batch.csv = seal_batch_csv(batch.id, payroll_csv(lines))
    # One message per mission, saying what was sent to payment.
    by_mission: dict[int, list[PayablePart]] = {}
    for item in chosen:
        by_mission.setdefault(item.mission.id, []).append(item)
    queue_mails(
        db,
        [
            in_payment_message(
                items[0].mission, [i.part for i in items], sum(i.amount_cents for i in items)
            )
            for items in by_mission.values()
        ],
    )
    return batch


def dossier_refusals(db: Session, parts: list[PayablePart], today: dt.date) -> dict[int, str]:
    """Why each intervenant's parts cannot be paid yet because of his dossier (by user id)."""
    needs = needs_of(db, {item.mission.intervenant_id for item in parts}, today)
    return {
        user_id: refusal
        for user_id, need in needs.items()
        if (refusal := payment_refusal(need)) is not None
    }


def _verified_payees(db: Session, chosen: list[PayablePart], today: dt.date) -> dict:
    """The verified dossier of each intervenant chosen; refuses the export if one is not."""
    refusals = dossier_refusals(db, chosen, today)
    if refusals:
        lines = sorted(
            {
                f"mission N° {item.mission.number} ({item.mission.intervenant.display_name}) : "
                f"{refusals[item.mission.intervenant_id]}"
                for item in chosen
                if item.mission.intervenant_id in refusals
            }
        )
        raise ExportRefused(
            "Seul un dossier financier « Vérifié » peut être mis en paiement ; rien n'a été "
            "exporté. Décochez ces parties ou vérifiez les dossiers : " + " ; ".join(lines) + "."
        )
    return payees(db, {item.mission.intervenant_id for item in chosen})


def managed_batches(db: Session) -> list[PaymentBatch]:
    """Earlier exports of the current user's bureaus, newest first."""
    return list(
        db.scalars(
            select(PaymentBatch)
            .where(PaymentBatch.bureau_id.in_(managed_bureau_ids()))
            .options(joinedload(PaymentBatch.lines))
            .order_by(PaymentBatch.id.desc())
        ).unique()
    )
