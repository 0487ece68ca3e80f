"""What the documents section shows: the documents, the receipts they justify, the forms.

The section sits in pages whose views belong to other blueprints (the Frais
déplacement and Récapitulatif tabs, the gestionnaire's review), which already
have the mission and its ``TravelView``: ``documents_view`` is a template
global, so that one include line is all those pages need.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from flask import current_app

from imagin.documents.errors import format_size, too_big_message
from imagin.documents.forms import ACCEPT, ReceiptsForm, UploadForm
from imagin.documents.receipts import OTHER_LABEL, ReceiptsView, receipts_view
from imagin.domain.receipts import LinkState
from imagin.models import Document, Mission
from imagin.travel.service import TravelView

TYPE_LABELS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
# A stored file's extension, and the extensions a user's name may have for that content.
SAME_FAMILY = {".pdf": (".pdf",), ".jpg": (".jpg", ".jpeg"), ".png": (".png",)}
# Why a document's link no longer counts, after what it justified.
DETACHED = {
    LinkState.DELETED: "supprimé depuis",
    LinkState.NOT_NEEDED: "plus demandé",
}


@dataclass
class DocumentsView:
    """The documents of a claim as the section shows them."""

    mission: Mission
    documents: list[Document]
    receipts: ReceiptsView
    editable: bool

    @property
    def by_id(self) -> dict[int, Document]:
        return {document.id: document for document in self.documents}

    def justifies(self, document: Document) -> str:
        """What the document justifies now, in the words of the receipts list."""
        labels = [link.label for link in self.receipts.justified(document)]
        return " ; ".join(labels) if labels else OTHER_LABEL.lower()

    def detached(self, document: Document) -> list[str]:
        """What it was linked to and no longer counts for, e.g. "Billet — … (supprimé depuis)"."""
        return [
            f"{link.label} ({DETACHED[link.state]})" for link in self.receipts.detached(document)
        ]

    def form(self, **kwargs) -> UploadForm:
        """The upload form; the first receipt still without a document comes checked."""
        default = self.receipts.uncovered()[:1]
        return UploadForm(self.receipts.choices, default, **kwargs)

    def links_form(self, document: Document, extra: list[str] = (), **kwargs) -> ReceiptsForm:
        """The form of what ``document`` justifies (with ``extra`` receipts checked too)."""
        offered = {value for value, _label in self.receipts.choices}
        chosen = self.receipts.chosen(document)
        default = chosen + [value for value in extra if value in offered and value not in chosen]
        return ReceiptsForm(
            self.receipts.choices, default, prefix=f"document-{document.id}", **kwargs
        )

    @property
    def rule(self) -> str:
        return f"Format : gif, jpeg, jpg, png, pdf. Max {format_size(max_upload_bytes())}"

    @property
    def too_big(self) -> str:
        return too_big_message(max_upload_bytes())

    accept = ACCEPT


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_BYTES"])


def documents_view(
    mission: Mission, travel: TravelView, receipts: ReceiptsView | None = None
) -> DocumentsView:
    """The section's content, from the mission (access already checked) and its travel part."""
    documents = list(mission.claim.documents)
    receipts = receipts or receipts_view(travel, documents)
    return DocumentsView(
        mission=mission,
        documents=documents,
        receipts=receipts,
        editable=mission.travel_applies and travel.editable,
    )


def document_type(document: Document) -> str:
    return TYPE_LABELS.get(document.content_type, document.content_type)


def download_name(document: Document) -> str:
    """The name the user gave, with the stored format's extension when it changed (GIF → PNG)."""
    stored = os.path.splitext(document.stored_name)[1]
    stem, extension = os.path.splitext(document.original_name)
    if extension.lower() in SAME_FAMILY.get(stored, ()):
        return document.original_name
    return (stem or "document") + stored
