"""The dossier financier: when it is needed, and where it stands.

Payroll pays an intervenant only with his dossier financier on file (notice
individuelle, NIR, RIB with his personal address). The académies' guides ask for
it on a first intervention, after any change of bank details or address, and
when the person has not been paid for a while (``IMAGIN_DOSSIER_VALIDITY_MONTHS``,
12 by default). This module is the one home of that rule; the services gather the
facts (``imagin.dossier.service``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_VALIDITY_MONTHS = 12


class DossierStatus(StrEnum):
    """Where the dossier stands with the DEC."""

    TO_PROVIDE = "a_fournir"
    SUBMITTED = "transmis"
    VERIFIED = "verifie"
    TO_CORRECT = "a_corriger"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def badge(self) -> str:
        """The status badge's look, shared with the claim parts' (app.css ``.status--*``)."""
        return {DossierStatus.VERIFIED: "valide", DossierStatus.TO_CORRECT: "a_corriger"}.get(
            self, "non_valide"
        )

    @property
    def shows_reason(self) -> bool:
        return self is DossierStatus.TO_CORRECT


STATUS_LABELS = {
    DossierStatus.TO_PROVIDE: "À fournir",
    DossierStatus.SUBMITTED: "Transmis",
    DossierStatus.VERIFIED: "Vérifié",
    DossierStatus.TO_CORRECT: "À corriger",
}


class DocumentKind(StrEnum):
    """The three pieces of the dossier."""

    RIB = "rib"
    VITALE = "vitale"
    NOTICE = "notice"

    @property
    def label(self) -> str:
        return DOCUMENT_LABELS[self]


DOCUMENT_LABELS = {
    DocumentKind.RIB: "RIB à votre adresse personnelle",
    DocumentKind.VITALE: "Carte Vitale ou attestation de droits",
    DocumentKind.NOTICE: "Notice individuelle signée",
}

# What, changed on a dossier already checked, makes the DEC check it again.
CHECKED_AGAIN_ON_CHANGE = frozenset({"iban", "bic", "holder_name", "address", "document:rib"})


class Need(StrEnum):
    """Why the dossier is asked for (or not)."""

    NONE = "none"  # on file and verified, or recent enough
    FIRST = "first"  # never provided: first intervention
    CORRECT = "correct"  # the DEC asked for a correction
    CHANGED = "changed"  # bank details or address changed: the DEC checks again
    STALE = "stale"  # no payment for too long: to renew
    PENDING = "pending"  # transmitted, the DEC has not checked it yet


@dataclass(frozen=True)
class DossierFacts:
    """What the rule needs to know; ``status`` None: the intervenant never opened it."""

    status: DossierStatus | None
    # When the intervenant last transmitted it, and when the DEC last verified it.
    submitted_on: dt.date | None = None
    verified_on: dt.date | None = None
    # The last day a part of one of his claims was sent to payment.
    last_paid_on: dt.date | None = None
    # Bank details or address changed since the DEC last verified it.
    changed_since_verified: bool = False


@dataclass(frozen=True)
class DossierNeed:
    """The rule's answer: whether validation is blocked, whether payment may go, and why."""

    need: Need
    message: str
    renew_from: dt.date | None = None

    @property
    def shown(self) -> bool:
        """Whether the mission pages mention the dossier at all."""
        return self.need is not Need.NONE

    @property
    def blocks_validation(self) -> bool:
        """The intervenant has something to do before validating his pay or travel part."""
        return self.need in (Need.FIRST, Need.CORRECT, Need.STALE)

    @property
    def payable(self) -> bool:
        """Only a verified, current dossier goes into a payment batch."""
        return self.need is Need.NONE


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the last day of a shorter month)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - 28 always exists


def dossier_need(
    facts: DossierFacts, today: dt.date, validity_months: int = DEFAULT_VALIDITY_MONTHS
) -> DossierNeed:
    """Whether the dossier financier must be provided, corrected, renewed or checked today.

    It is current while the intervenant transmitted it, or was paid, less than
    ``validity_months`` ago; past that it is to renew even if it was verified.
    """
    status = facts.status
    if status is None or status is DossierStatus.TO_PROVIDE:
        if facts.last_paid_on is None:
            return DossierNeed(
                Need.FIRST,
                "Première intervention : fournissez votre dossier financier (RIB, numéro de "
                "sécurité sociale, notice individuelle) pour être payé.",
            )
        return DossierNeed(
            Need.STALE,
            "Fournissez votre dossier financier pour être payé : il n'est plus à jour.",
        )
    if status is DossierStatus.TO_CORRECT:
        return DossierNeed(
            Need.CORRECT,
            "Votre dossier financier est à corriger : la DEC vous a indiqué pourquoi.",
        )
    latest = max(
        (day for day in (facts.submitted_on, facts.verified_on, facts.last_paid_on) if day),
        default=None,
    )
    if latest is not None:
        renew_from = add_months(latest, validity_months)
        if today >= renew_from:
            return DossierNeed(
                Need.STALE,
                f"Vous n'avez pas été payé depuis plus de {validity_months} mois : "
                "renouvelez votre dossier financier (RIB récent, notice individuelle).",
                renew_from,
            )
    if status is DossierStatus.SUBMITTED:
        if facts.changed_since_verified:
            return DossierNeed(
                Need.CHANGED,
                "Vos coordonnées bancaires ou votre adresse ont changé : la DEC vérifie "
                "votre dossier financier avant tout paiement.",
            )
        return DossierNeed(
            Need.PENDING,
            "Votre dossier financier est transmis : la DEC le vérifie avant tout paiement.",
        )
    return DossierNeed(Need.NONE, "Votre dossier financier est vérifié.")


def status_after_edit(
    status: DossierStatus | None, changed: set[str], *, complete: bool, stale: bool = False
) -> DossierStatus:
    """The status once the intervenant saves his dossier.

    A complete dossier is transmitted to the DEC; a verified one stays verified
    unless bank details or address changed (then the DEC checks it again) or it was
    to renew (``stale``: saving it is renewing it).
    """
    if not complete:
        return status if status is DossierStatus.TO_CORRECT else DossierStatus.TO_PROVIDE
    if status is DossierStatus.VERIFIED and not stale and not (changed & CHECKED_AGAIN_ON_CHANGE):
        return DossierStatus.VERIFIED
    return DossierStatus.SUBMITTED


def payment_refusal(need: DossierNeed) -> str | None:
    """Why a part cannot go into a payment batch because of the dossier, or None."""
    if need.payable:
        return None
    return {
        Need.FIRST: "dossier financier à fournir",
        Need.CORRECT: "dossier financier à corriger",
        Need.CHANGED: "dossier financier modifié, à vérifier",
        Need.STALE: "dossier financier à renouveler",
        Need.PENDING: "dossier financier transmis, pas encore vérifié",
    }[need.need]
