"""What the documents section shows: the documents, the receipts they cover, the upload form.

The section sits in pages whose views belong to other blueprints (the Frais
déplacement and Récapitulatif tabs, the gestionnaire's review), which already
have the mission and its ``TravelView``: ``documents_view`` is a template
global, so that one include line is all those pages need.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from flask import current_app

from imagin.documents.errors import format_size, too_big_message
from imagin.documents.forms import ACCEPT, UploadForm
from imagin.documents.receipts import (
    NO_LONGER_NEEDED,
    OTHER,
    NeededReceipt,
    missing_receipts,
    needed_receipts,
    receipt_choices,
)
from imagin.domain.errors import Missing
from imagin.models import Document, Mission
from imagin.travel.service import TravelView, travel_editable

TYPE_LABELS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
# A stored file's extension, and the extensions a user's name may have for that content.
SAME_FAMILY = {".pdf": (".pdf",), ".jpg": (".jpg", ".jpeg"), ".png": (".png",)}


@dataclass
class DocumentsView:
    """The documents of a claim as the section shows them."""

    mission: Mission
    documents: list[Document]
    choices: list[tuple[str, str]]
    receipts: list[NeededReceipt]
    editable: bool

    @cached_property
    def labels(self) -> dict[str, str]:
        return dict(self.choices)

    def justifies(self, document: Document) -> str:
        """What the document was sent for, in the words of the receipts list."""
        if not document.receipt_key:
            return "non précisé"
        return self.labels.get(document.receipt_key, NO_LONGER_NEEDED)

    @property
    def missing(self) -> list[Missing]:
        """What validation will refuse for, as the Récapitulatif lists it before the button."""
        return missing_receipts(self.receipts) if self.editable else []

    @property
    def default_receipt(self) -> str:
        """The first receipt still without a document, so several are sent in order."""
        return next((r.key for r in self.receipts if not r.covered), OTHER)

    def form(self, **kwargs) -> UploadForm:
        return UploadForm(self.choices, self.default_receipt, **kwargs)

    @property
    def rule(self) -> str:
        return f"Format : gif, jpeg, jpg, png, pdf. Max {format_size(max_upload_bytes())}"

    @property
    def too_big(self) -> str:
        return too_big_message(max_upload_bytes())

    accept = ACCEPT


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_BYTES"])


def documents_view(mission: Mission, travel: TravelView) -> DocumentsView:
    """The section's content, from the mission (access already checked) and its travel part."""
    documents = list(mission.claim.documents)
    return DocumentsView(
        mission=mission,
        documents=documents,
        choices=receipt_choices(travel),
        receipts=needed_receipts(travel, documents),
        editable=documents_editable(mission),
    )


def documents_editable(mission: Mission) -> bool:
    """Documents are the travel part's: they change with it, and are locked with it."""
    return mission.travel_applies and travel_editable(mission.claim)


def document_type(document: Document) -> str:
    return TYPE_LABELS.get(document.content_type, document.content_type)


def download_name(document: Document) -> str:
    """The name the user gave, with the stored format's extension when it changed (GIF → PNG)."""
    stored = os.path.splitext(document.stored_name)[1]
    stem, extension = os.path.splitext(document.original_name)
    if extension.lower() in SAME_FAMILY.get(stored, ()):
        return document.original_name
    return (stem or "document") + stored
