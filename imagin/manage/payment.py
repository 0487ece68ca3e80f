"""Sending validated claim parts to payment: one recorded batch, one CSV, one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from imagin.claims.workflow import Actor, apply_transition
from imagin.domain.payroll import PayrollLine, payroll_csv
from imagin.domain.status import PartStatus
from imagin.domain.transitions import Action, TransitionRefused
from imagin.mail import queue_mails
from imagin.manage.access import managed_bureau_ids, managed_missions
from imagin.models import AuditEvent, Claim, Mission, PaymentBatch, PaymentLine
from imagin.notifications import MESSAGE_LOADING, in_payment_message

PARTS = ("pay", "travel")


@dataclass(frozen=True)
class PayablePart:
    mission: Mission
    part: str

    @property
    def key(self) -> str:
        return f"{self.mission.claim.id}:{self.part}"

    @property
    def amount_cents(self) -> int:
        claim = self.mission.claim
        cents = claim.pay_amount_cents if self.part == "pay" else claim.travel_amount_cents
        return cents or 0


def payable_parts(db: Session, bureau_id: int | None = None) -> list[PayablePart]:
    """Parts "Validé par gestionnaire" of the current user's bureaus, in one query."""
    approved = PartStatus.APPROVED.value
    query = (
        select(Mission)
        .join(Mission.claim)
        .where(managed_missions())
        .where((Claim.pay_status == approved) | (Claim.travel_status == approved))
        .options(*MESSAGE_LOADING)
        .order_by(Mission.number)
    )
    if bureau_id is not None:
        query = query.where(Mission.bureau_id == bureau_id)
    return [
        PayablePart(mission, part)
        for mission in db.scalars(query).unique()
        for part in PARTS
        if getattr(mission.claim, f"{part}_status") == approved
    ]


class ExportRefused(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _travel_categories(db: Session, mission_ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """Travel amounts by category, as frozen when each claim was validated (one query)."""
    rows = db.execute(
        select(AuditEvent.mission_id, AuditEvent.detail)
        .where(
            AuditEvent.mission_id.in_(mission_ids),
            AuditEvent.part == "travel",
            AuditEvent.action == "validate",
            AuditEvent.detail.is_not(None),
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    categories: dict[int, dict[str, Decimal]] = {}
    for mission_id, detail in rows:
        # Later validations (after a correction) replace earlier ones.
        categories[mission_id] = {
            code: Decimal(cents) / 100 for code, cents in (detail.get("categories") or {}).items()
        }
    return categories


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
        if not claim_id.isdigit() or part not in PARTS:
            raise ExportRefused("Sélection invalide : rechargez la page et recommencez.")
        wanted.add((int(claim_id), part))
    if not wanted:
        raise ExportRefused("Sélectionnez au moins un état de frais à mettre en paiement.")
    by_key = {(p.mission.claim.id, p.part): p for p in payable_parts(db, bureau_id)}
    missing = wanted - set(by_key)
    if missing:
        raise ExportRefused(
            "Certains états de frais ne sont plus « Validé par gestionnaire » (déjà mis en "
            "paiement, renvoyés ou d'un autre bureau) : rien n'a été exporté."
        )
    chosen = sorted((by_key[k] for k in wanted), key=lambda p: (p.mission.number, p.part))
    categories = _travel_categories(db, [p.mission.id for p in chosen if p.part == "travel"])
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
                total=Decimal(item.amount_cents) / 100,
                categories=categories.get(item.mission.id, {}),
            )
        )
    batch.csv = payroll_csv(lines)
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
