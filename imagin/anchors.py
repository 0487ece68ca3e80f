"""Where each typed reference is shown: its page and its anchor, decided in one place.

The domain names where an entry is made (``FieldRef``) and which receipt a
document justifies (``ReceiptRef``); the templates give those places the ids
below, and links to them (the "À compléter" lists, the error summaries) are
built here.
"""

from __future__ import annotations

from flask import url_for
from wtforms import Form

from imagin.domain.refs import FieldRef, ReceiptRef, Section
from imagin.rendering import all_fields

_PAY_TAB = "claims.remuneration"
_TRAVEL_TAB = "travel.deplacement"
ENDPOINTS = {
    Section.PAY: _PAY_TAB,
    Section.HOURS: _PAY_TAB,
    Section.LEGS: _TRAVEL_TAB,
    Section.LEG: _TRAVEL_TAB,
    Section.MEAL: _TRAVEL_TAB,
    Section.NIGHT: _TRAVEL_TAB,
    Section.EXPENSE: _TRAVEL_TAB,
    Section.DOCUMENTS: _TRAVEL_TAB,
    Section.PROFILE: "profile.edit",
    Section.DOSSIER: "dossier.edit",
}


def anchor(ref: FieldRef | ReceiptRef) -> str:
    """The id of the element a reference is shown at."""
    if isinstance(ref, ReceiptRef):
        return f"receipt-{ref.kind}-{ref.key.replace(':', '-')}"
    key = ref.key.replace(":", "-")
    match ref.section:
        case Section.PAY | Section.PROFILE:
            return ref.field or "contenu"
        case Section.HOURS:
            return f"hours-{key}-{ref.field}" if key and ref.field else "hours"
        case Section.LEGS:
            return "trajets"
        case Section.LEG:
            # A leg not stored yet has no row of its own.
            return f"leg-{key}" if key.isdigit() else "trajets"
        case Section.MEAL:
            return f"meal-{key}"
        case Section.NIGHT:
            return f"night-{key}"
        case Section.EXPENSE:
            return f"expense-{key}" if key.isdigit() else "frais"
        case Section.DOCUMENTS:
            return "pieces"
        case Section.DOSSIER:
            return "contenu"
    return "contenu"


def endpoint(ref: FieldRef | ReceiptRef) -> str:
    """The page (tab) where a reference is shown."""
    if isinstance(ref, ReceiptRef):
        return _TRAVEL_TAB
    return ENDPOINTS[ref.section]


def href(number: int, ref: FieldRef | ReceiptRef) -> str:
    """A link to where a reference is shown, for mission ``number``."""
    return url_for(endpoint(ref), number=number, _anchor=anchor(ref))


def form_field(form: Form, ref: FieldRef):
    """The field of ``form`` a reference names (its id is the reference's anchor), or None."""
    wanted = anchor(ref)
    return next((field for field in all_fields(form) if field.id == wanted), None)
