"""Where is my money: the facts of each part's path, gathered for the Suivi tab.

The steps and the expected payslip are ``imagin.domain.payment_path``'s; the dates
come from the claim's history (already loaded by the tab), the mission's service
fait and the payment batches (one query).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from imagin.domain.payment_path import PartPath, part_path, separate_payments
from imagin.domain.service_fait import ServiceFait
from imagin.domain.status import Part
from imagin.models import AuditEvent, Mission, PaymentBatch, PaymentLine


@dataclass(frozen=True)
class MoneyPath:
    paths: list[PartPath]
    separately: str | None


def _last(events: list[AuditEvent], actions: set[str], part: Part | None = None):
    matching = [e.at for e in events if e.action in actions and (part is None or e.part == part)]
    return max(matching) if matching else None


@functools.cache
def _batches_statement() -> Select:
    """When each part of one claim went into a payment batch (built once, bound per run)."""
    return (
        select(PaymentLine.part, PaymentBatch.created_at)
        .join(PaymentBatch, PaymentLine.batch_id == PaymentBatch.id)
        .where(PaymentLine.claim_id == bindparam("claim_id"))
    )


def money_path(
    db: Session, mission: Mission, events: list[AuditEvent], delay_months: int
) -> MoneyPath:
    """Both parts' paths to the payslip, and whether they are paid separately."""
    claim = mission.claim
    batches = dict(db.execute(_batches_statement(), {"claim_id": claim.id}).all())
    convoked = _last(events, {"convocation"}) or mission.created_at
    paths = {}
    for part in Part:
        paths[part] = part_path(
            part,
            claim.pay if part is Part.PAY else claim.travel,
            convoked=convoked,
            declared=_last(events, {"validate", "declare_not_done"}, part),
            service_fait=ServiceFait(mission.service_fait),
            service_fait_at=mission.service_fait_at,
            service_fait_required=mission.bureau.service_fait_required,
            approved=_last(events, {"approve"}, part),
            # A part marked paid before batches were kept: the date it was marked.
            batch_at=batches.get(part.value) or _last(events, {"pay"}, part),
            delay_months=delay_months,
        )
    return MoneyPath(
        [path for path in paths.values() if path is not None],
        separate_payments(paths[Part.PAY], paths[Part.TRAVEL]),
    )
