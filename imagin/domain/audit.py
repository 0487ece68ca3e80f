"""How the history of a claim names each recorded event."""

EVENT_LABELS: dict[str, str] = {
    "convocation": "Convocation enregistrée",
    "save": "Saisie enregistrée",
    "validate": "État de frais validé par l'intervenant",
    "declare_not_done": "Mission déclarée non effectuée",
    "send_back": "Renvoyé pour correction par la DEC",
    "approve": "Vérifié et validé par la DEC",
    "pay": "Mis en paiement",
    "cancel": "Mission annulée",
    "mission_changed": "Mission modifiée par la DEC",
    "reimport_open": "Droit ouvert par la convocation",
    "reimport_close": "Droit retiré par la convocation",
    "document_added": "Pièce justificative ajoutée",
    "document_deleted": "Pièce justificative supprimée",
    "document_lost": "Pièce justificative retirée (fichier introuvable)",
    "service_fait": "Service fait certifié par le centre d'examen",
    "service_fait_dec": "Service fait certifié par la DEC pour le centre d'examen",
    "service_fait_flag": "Mission signalée par le centre d'examen",
    "reopen": "Saisie rouverte par la DEC après la date de clôture",
}


def event_label(action: str) -> str:
    return EVENT_LABELS.get(action, action)
