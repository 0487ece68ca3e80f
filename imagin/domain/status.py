"""The status of each part of a claim, in the words users already know."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum


class Part(StrEnum):
    """The two parts of a claim, each with its own status."""

    PAY = "pay"
    TRAVEL = "travel"

    @property
    def label(self) -> str:
        """ "rémunération", "déplacement": as in "frais de rémunération"."""
        return "rémunération" if self is Part.PAY else "déplacement"

    @property
    def title(self) -> str:
        """ "Frais de rémunération", "Frais de déplacement"."""
        return f"Frais de {self.label}"

    @property
    def slug(self) -> str:
        """The part in URLs, in the words of the tabs."""
        return "remuneration" if self is Part.PAY else "deplacement"

    @property
    def status_column(self) -> str:
        return f"{self.value}_status"


class PartStatus(StrEnum):
    """Stored status of one part (pay or travel) of a claim."""

    NO_COSTS = "pas_de_frais"
    IN_PROGRESS = "en_cours"
    NOT_VALIDATED = "non_valide"
    NOT_DONE = "non_effectuee"
    VALIDATED = "valide"
    TO_CORRECT = "a_corriger"
    APPROVED = "valide_gestionnaire"
    IN_PAYMENT = "mis_en_paiement"
    CANCELLED = "annule"

    @property
    def label(self) -> str:
        return LABELS[self]

    @property
    def meaning(self) -> str:
        return MEANINGS[self]


LABELS: dict[PartStatus, str] = {
    PartStatus.NO_COSTS: "Pas de frais",
    PartStatus.IN_PROGRESS: "Mission en cours",
    PartStatus.NOT_VALIDATED: "Non validé",
    PartStatus.NOT_DONE: "Mission non effectuée",
    PartStatus.VALIDATED: "Validé",
    PartStatus.TO_CORRECT: "À corriger",
    PartStatus.APPROVED: "Validé par gestionnaire",
    PartStatus.IN_PAYMENT: "Mis en paiement",
    PartStatus.CANCELLED: "Annulé",
}

MEANINGS: dict[PartStatus, str] = {
    PartStatus.NO_COSTS: "Cette partie ne donne lieu à aucun frais.",
    PartStatus.IN_PROGRESS: (
        "La mission n'est pas terminée : vous pouvez enregistrer vos saisies, "
        "la validation sera possible à la fin de la mission."
    ),
    PartStatus.NOT_VALIDATED: (
        "La mission est terminée : complétez votre état de frais puis validez-le."
    ),
    PartStatus.NOT_DONE: "Vous avez indiqué que la mission n'a pas été effectuée.",
    PartStatus.VALIDATED: (
        "Vous avez validé votre état de frais : il est transmis à la DEC pour vérification."
    ),
    PartStatus.TO_CORRECT: (
        "La DEC vous a renvoyé cet état de frais : corrigez-le puis validez-le à nouveau."
    ),
    PartStatus.APPROVED: "La DEC a vérifié votre état de frais ; il sera mis en paiement.",
    PartStatus.IN_PAYMENT: "Votre état de frais a été transmis au service de paie.",
    PartStatus.CANCELLED: "La mission a été annulée.",
}

# Why the intervenant can no longer change a part, by status.
LOCKED_MESSAGES: dict[PartStatus, str] = {
    PartStatus.NO_COSTS: "Cette partie ne donne lieu à aucun frais : il n'y a rien à valider.",
    PartStatus.NOT_DONE: "Cet état de frais est validé : il ne peut plus être modifié.",
    PartStatus.VALIDATED: "Cet état de frais est validé : il ne peut plus être modifié.",
    PartStatus.APPROVED: "Cet état de frais est validé : il ne peut plus être modifié.",
    PartStatus.IN_PAYMENT: "Cet état de frais est mis en paiement : il ne peut plus être modifié.",
    PartStatus.CANCELLED: "La mission a été annulée : l'état de frais ne peut plus être modifié.",
}


def edit_refusal(status: PartStatus) -> str:
    """Why the intervenant can no longer change a part in this status, in French."""
    return LOCKED_MESSAGES.get(PartStatus(status), "Cet état de frais ne peut plus être modifié.")


# Statuses in which the intervenant may still change what the claim holds.
EDITABLE_BY_INTERVENANT = frozenset(
    {PartStatus.IN_PROGRESS, PartStatus.NOT_VALIDATED, PartStatus.TO_CORRECT}
)


def effective_status(stored: PartStatus, mission_end: dt.date, today: dt.date) -> PartStatus:
    """What users see: a claim waiting for the intervenant is "en cours" until the mission ends.

    "Mission en cours" is not stored: it depends on the day, so it is derived
    from the stored "Non validé" and the last day of the mission.
    """
    if stored is PartStatus.NOT_VALIDATED and today <= mission_end:
        return PartStatus.IN_PROGRESS
    return stored
