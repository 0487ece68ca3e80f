"""Where is my money: the path of each claim part from the convocation to the payslip.

Convoked, declared, service fait, validated by the DEC, put in a payment batch, and the
payslip expected from the académie's usual delay after the batch. Pay and travel go
their own way: each part has its path, and when they reach different payslips it is
said.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date as babel_date

from imagin.domain.service_fait import ServiceFait
from imagin.domain.status import Part, PartStatus

__all__ = [
    "PartPath",
    "Step",
    "expected_payslip",
    "month_label",
    "on_payslip",
    "part_path",
    "separate_payments",
]

# Parts that never reach a payslip: no path to show.
NO_PATH = frozenset({PartStatus.NO_COSTS, PartStatus.CANCELLED})
DECLARED = frozenset(
    {PartStatus.VALIDATED, PartStatus.NOT_DONE, PartStatus.APPROVED, PartStatus.IN_PAYMENT}
)


def expected_payslip(batch_day: dt.date, delay_months: int) -> dt.date:
    """The first day of the month whose payslip pays a batch made on ``batch_day``."""
    months = batch_day.year * 12 + batch_day.month - 1 + max(delay_months, 0)
    return dt.date(months // 12, months % 12 + 1, 1)


def month_label(month: dt.date) -> str:
    """ "mars 2023"."""
    return babel_date(month, "LLLL yyyy", locale="fr_FR")


def on_payslip(month: dt.date) -> str:
    """ "sur la paie de mars 2023", "sur la paie d'août 2023"."""
    label = month_label(month)
    of = "d'" if label[0] in "aeiouéè" else "de "
    return f"sur la paie {of}{label}"


@dataclass(frozen=True)
class Step:
    """One step of the path: done (with its date) or still to come."""

    label: str
    at: dt.datetime | dt.date | None = None
    done: bool = False
    note: str = ""


@dataclass(frozen=True)
class PartPath:
    part: Part
    steps: tuple[Step, ...]
    # The first day of the payslip's month, once the part is in a batch.
    payslip: dt.date | None
    summary: str


def part_path(
    part: Part,
    status: PartStatus,
    *,
    convoked: dt.datetime | None,
    declared: dt.datetime | None,
    service_fait: ServiceFait,
    service_fait_at: dt.datetime | None,
    service_fait_required: bool,
    approved: dt.datetime | None,
    batch_at: dt.datetime | None,
    delay_months: int,
) -> PartPath | None:
    """The path of one part, or None when it will never be paid (no costs, cancelled)."""
    status = PartStatus(status)
    if status in NO_PATH:
        return None
    service_fait = ServiceFait(service_fait)
    in_batch = batch_at is not None and status is PartStatus.IN_PAYMENT
    passed_dec = status in (PartStatus.APPROVED, PartStatus.IN_PAYMENT)
    payslip = expected_payslip(batch_at.date(), delay_months) if in_batch else None
    sf_note = {
        ServiceFait.CERTIFIED: "",
        ServiceFait.FLAGGED: "Le centre d'examen a signalé la mission à la DEC.",
        ServiceFait.PENDING: "En attente du centre d'examen."
        if service_fait_required
        else "Pas attendu par la DEC pour valider.",
    }[service_fait]
    steps = (
        Step("Convoqué", convoked, convoked is not None),
        Step(
            "Déclaré et validé par vous",
            declared if status in DECLARED else None,
            status in DECLARED,
        ),
        Step(
            "Service fait certifié par le centre d'examen",
            service_fait_at if service_fait is ServiceFait.CERTIFIED else None,
            service_fait is ServiceFait.CERTIFIED,
            sf_note,
        ),
        Step("Validé par la DEC", approved if passed_dec else None, passed_dec),
        Step("Mis en paiement (lot de paiement)", batch_at if in_batch else None, in_batch),
        Step(
            f"Versement attendu {on_payslip(payslip)}" if payslip else "Versement sur votre paie",
            None,
            False,
            ""
            if payslip
            else f"D'habitude {delay_months} mois après la mise en paiement par la DEC.",
        ),
    )
    if status is PartStatus.NOT_DONE:
        summary = "Mission déclarée non effectuée : rien ne sera versé."
    elif payslip:
        summary = f"Versement attendu {on_payslip(payslip)}."
    else:
        summary = "Pas encore mis en paiement."
    return PartPath(part, steps, payslip, summary)


def separate_payments(pay: PartPath | None, travel: PartPath | None) -> str | None:
    """Said when pay and travel will not arrive on the same payslip."""
    if pay is None or travel is None or pay.payslip == travel.payslip:
        return None

    def when(path: PartPath) -> str:
        return on_payslip(path.payslip) if path.payslip else "plus tard"

    return (
        "La rémunération et les frais de déplacement sont versés séparément : "
        f"la rémunération {when(pay)}, les frais de déplacement {when(travel)}."
    )
