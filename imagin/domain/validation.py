"""What blocks validating a claim part: the one answer to "why can't this part be validated?".

Each part is validated on its own: what the pay part lacks never blocks the
travel part, and the reverse. A part is blocked when

- it no longer waits for the intervenant (validated, paid, cancelled…: ``refusal``),
- or the mission has not ended yet (``refusal``),
- or something is still to enter, or a required receipt has no document, or the
  dossier financier is to provide, correct or renew while the part pays something
  (``missing``).

The services gather the facts (``imagin.claims.validation``); the rules are here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from imagin.domain.dossier import DossierNeed
from imagin.domain.errors import Missing
from imagin.domain.money import format_date
from imagin.domain.pay import NOT_REMUNERATED, PayBasis, PayEntry
from imagin.domain.receipts import ReceiptCheck
from imagin.domain.refs import FieldRef, Section
from imagin.domain.service_fait import ServiceFait
from imagin.domain.status import EDITABLE_BY_INTERVENANT, PartStatus, edit_refusal
from imagin.domain.travel import (
    MealTaken,
    TravelComputation,
    TravelEntries,
    TravelProfile,
    check_legs,
    night_label,
)

__all__ = [
    "Blockers",
    "approval_refusal",
    "blockers",
    "dossier_missing",
    "mission_ended",
    "not_ended_message",
    "pay_missing",
    "receipts_missing",
    "service_fait_refusal",
    "travel_missing",
    "validation_possible_from",
]


def mission_ended(mission_end: dt.date, today: dt.date) -> bool:
    """A mission can be validated from the day after its last day."""
    return today > mission_end


def validation_possible_from(mission_end: dt.date) -> dt.date:
    return mission_end + dt.timedelta(days=1)


def not_ended_message(mission_end: dt.date | None) -> str:
    if mission_end is None:
        return "La mission n'est pas terminée : la validation sera possible à la fin de la mission."
    return (
        "La mission n'est pas terminée : la validation sera possible à partir du "
        f"{format_date(validation_possible_from(mission_end))}."
    )


# --- What is still to enter ---------------------------------------------------------------


def pay_missing(
    entry: PayEntry, pay_basis: PayBasis, rate_class: str, mission_days: Iterable[dt.date]
) -> list[Missing]:
    """What the intervenant still has to enter before validating the pay part."""
    if rate_class == NOT_REMUNERATED or entry.done is False:
        return []
    pay_basis = PayBasis(pay_basis)
    missing: list[Missing] = []
    if entry.done is None:
        missing.append(
            Missing("Indiquez si la mission a été effectuée", FieldRef(Section.PAY, field="done"))
        )
    if pay_basis is PayBasis.COPIES and entry.copies is None:
        missing.append(
            Missing(
                "Saisissez le nombre de copies corrigées", FieldRef(Section.PAY, field="copies")
            )
        )
    if pay_basis is PayBasis.CANDIDATES_HOURS and entry.candidates is None:
        missing.append(
            Missing(
                "Saisissez le nombre de candidats examinés",
                FieldRef(Section.PAY, field="candidates"),
            )
        )
    if pay_basis in (PayBasis.CANDIDATES_HOURS, PayBasis.HOURS):
        entered = {line.day for line in entry.hours}
        missing.extend(
            Missing(f"Saisissez vos horaires du {format_date(day)}", FieldRef(Section.HOURS))
            for day in sorted(set(mission_days) - entered)
        )
    return missing


def travel_missing(
    entries: TravelEntries,
    travel: TravelComputation,
    profile: TravelProfile,
    mission_days: Iterable[dt.date],
) -> list[Missing]:
    """What the intervenant still has to enter before validating the travel part.

    No legs is not missing: an intervenant may have had no travel costs at all.
    """
    if not travel.applies:
        return []
    legs = {leg.key: leg for leg in entries.legs}
    missing = [
        Missing(
            f"Trajet {legs[error.ref.key].label} : {error.message}"
            if error.ref.key in legs
            else error.message,
            FieldRef(Section.LEG, error.ref.key),
        )
        for error in check_legs(entries.legs, mission_days)
    ]
    if profile.vehicle_cv is None and any(leg.paid_by_km for leg in entries.legs):
        missing.append(
            Missing(
                "Indiquez la puissance fiscale (CV) de votre véhicule dans votre profil",
                FieldRef(Section.PROFILE, field="vehicle_cv"),
            )
        )
    for meal in travel.meals:
        if entries.meal_taken(meal) not in set(MealTaken):
            what = meal.label[0].lower() + meal.label[1:]
            missing.append(Missing(f"Indiquez comment vous avez pris le {what}", meal.ref))
    for stay in entries.nights:
        if stay.night in travel.nights and stay.paid is None:
            what = night_label(stay.night)
            missing.append(
                Missing(
                    f"Indiquez le montant payé pour la {what[0].lower()}{what[1:]}",
                    FieldRef(Section.NIGHT, stay.night.isoformat()),
                )
            )
    return missing


def receipts_missing(checks: Iterable[ReceiptCheck]) -> list[Missing]:
    """One Missing per required receipt that no document justifies yet."""
    return [
        Missing(f"Ajoutez le justificatif : {check.receipt.label}", check.receipt.ref)
        for check in checks
        if not check.provided
    ]


def dossier_missing(need: DossierNeed | None, *, pays: bool) -> list[Missing]:
    """The dossier financier, when the part pays something and the dossier is to provide,
    correct or renew (``imagin.domain.dossier.dossier_need``): payroll could not pay it.

    A dossier transmitted and not yet checked by the DEC does not block: the intervenant
    has done his part, and the payment export waits for the check.
    """
    if need is None or not pays or not need.blocks_validation:
        return []
    return [Missing(need.message, FieldRef(Section.DOSSIER))]


# --- The answer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Blockers:
    """Why a part cannot be validated now; falsy when it can."""

    refusal: str | None = None
    missing: tuple[Missing, ...] = ()

    def __bool__(self) -> bool:
        return self.refusal is not None or bool(self.missing)

    @property
    def messages(self) -> list[str]:
        return [self.refusal] if self.refusal else [item.message for item in self.missing]


def blockers(
    status: PartStatus,
    *,
    mission_end: dt.date,
    today: dt.date,
    missing: Sequence[Missing] = (),
) -> Blockers:
    """What blocks the intervenant from validating a part in ``status`` today.

    ``missing`` is what the part still lacks (``pay_missing``, or ``travel_missing``
    and ``receipts_missing``); it is kept even when the part is refused for its
    status or its date, so the page can list it before the end of the mission.
    """
    status = PartStatus(status)
    refusal = None
    if status not in EDITABLE_BY_INTERVENANT:
        refusal = edit_refusal(status)
    elif status is PartStatus.IN_PROGRESS or not mission_ended(mission_end, today):
        refusal = not_ended_message(mission_end)
    return Blockers(refusal, tuple(missing))


def approval_refusal(checks: Iterable[ReceiptCheck]) -> str | None:
    """Why the DEC cannot approve a travel part: a required receipt has no document.

    The intervenant cannot validate without them; this guards claims validated
    before the rule, or whose documents were lost since.
    """
    labels = [check.receipt.label for check in checks if not check.provided]
    if not labels:
        return None
    return (
        f"justificatif manquant ({' ; '.join(labels)}) : renvoyez la partie pour correction "
        "plutôt que de la valider."
    )


def service_fait_refusal(
    status: PartStatus, service_fait: ServiceFait, *, required: bool, flag_reason: str | None = None
) -> str | None:
    """Why the DEC cannot validate a part yet: its bureau requires the centre's service fait.

    Only a part the intervenant validated waits for it: a mission declared not done
    has no work to certify.
    """
    if not required or PartStatus(status) is not PartStatus.VALIDATED:
        return None
    service_fait = ServiceFait(service_fait)
    if service_fait is ServiceFait.CERTIFIED:
        return None
    if service_fait is ServiceFait.FLAGGED:
        return (
            f"mission signalée par le centre ({flag_reason or 'sans motif'}) : "
            "voyez avec le centre, ou renvoyez la partie pour correction."
        )
    return (
        "service fait non certifié par le chef de centre : il est exigé avant la validation "
        "par la DEC (la DEC peut le certifier pour le centre, avec un motif)."
    )
