"""Which receipts the travel part needs, which documents justify them, and linking them.

A document is linked to the receipts it justifies by ``ReceiptLink`` rows, each
naming a receipt by its ``ReceiptRef`` (see ``imagin.domain.receipts``): zero
links is an "autre pièce", several is one file for several receipts. The links
are chosen when uploading and may be changed while the travel part can change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from imagin.claims.editing import ANY_VERSION, ensure_editable
from imagin.domain.errors import Missing
from imagin.domain.receipts import (
    DocumentLink,
    Link,
    LinkState,
    Receipt,
    ReceiptCheck,
    check_receipts,
    document_links,
)
from imagin.domain.refs import ReceiptRef
from imagin.domain.status import Part
from imagin.domain.validation import receipts_missing
from imagin.models import Claim, Document, ReceiptLink
from imagin.travel.service import TravelView

# A document that justifies nothing of the computed list: a letter, a second page…
OTHER_LABEL = "Autre pièce"


def links_of(documents: Iterable[Document]) -> list[Link]:
    return [
        Link(document.id, link.ref, link.label) for document in documents for link in document.links
    ]


@dataclass(frozen=True)
class ReceiptsView:
    """The receipts the travel part asks for, each with its documents, and each
    document with what it justifies (or no longer does)."""

    required: tuple[Receipt, ...]
    checks: tuple[ReceiptCheck, ...]
    by_document: dict[int, list[DocumentLink]]
    editable: bool

    @property
    def missing(self) -> list[Missing]:
        """What validation refuses for: one line per receipt without any document."""
        return receipts_missing(self.checks)

    @property
    def all_provided(self) -> bool:
        return all(check.provided for check in self.checks)

    @cached_property
    def choices(self) -> list[tuple[str, str]]:
        """(form value, label) of each receipt a document may be linked to."""
        return [(str(receipt.ref), receipt.label) for receipt in self.required]

    def links(self, document: Document) -> list[DocumentLink]:
        return self.by_document.get(document.id, [])

    def justified(self, document: Document) -> list[DocumentLink]:
        """The receipts the document justifies now."""
        return [link for link in self.links(document) if link.state is LinkState.NEEDED]

    def detached(self, document: Document) -> list[DocumentLink]:
        """What the document was linked to and no longer asks for it (deleted, no amount)."""
        return [link for link in self.links(document) if link.state is not LinkState.NEEDED]

    def chosen(self, document: Document) -> list[str]:
        """The form values of the receipts it justifies now, to check them in its form."""
        return [str(link.ref) for link in self.justified(document)]

    def uncovered(self) -> list[str]:
        """Form values of the receipts still without a document, in the order of the amounts."""
        return [str(check.receipt.ref) for check in self.checks if not check.provided]


def receipts_view(travel: TravelView, documents: Sequence[Document]) -> ReceiptsView:
    """The receipts of the travel part and the documents' links (documents' links loaded)."""
    required = tuple(travel.receipts)
    links = links_of(documents)
    entries = travel.computation.entries if travel.computation else frozenset()
    return ReceiptsView(
        required=required,
        checks=tuple(check_receipts(required, links)),
        by_document=document_links(links, required, entries),
        editable=travel.editable and travel.applies,
    )


def parse_refs(values: Iterable[str], view: ReceiptsView) -> list[ReceiptRef] | None:
    """The receipts a form chose; None when one is not among those the claim asks for."""
    offered = {value for value, _label in view.choices}
    refs = []
    for value in values:
        ref = ReceiptRef.parse(value)
        if value not in offered or ref is None:
            return None
        refs.append(ref)
    return sorted(set(refs))


def new_links(refs: Iterable[ReceiptRef], view: ReceiptsView) -> list[ReceiptLink]:
    """Link rows for these receipts, each with its label of today."""
    labels = dict(view.choices)
    return [
        ReceiptLink(kind=ref.kind.value, key=ref.key, label=labels.get(str(ref), "")[:300])
        for ref in refs
    ]


def set_links(claim: Claim, document: Document, refs: Iterable[ReceiptRef], view: ReceiptsView):
    """What the document justifies from now on (none: an "autre pièce"); the caller commits.

    Links to receipts no longer asked for are dropped with the others: choosing again
    is re-assigning the document.

    :raise ClaimConflict: the travel part can no longer change.
    """
    ensure_editable(claim, Part.TRAVEL, ANY_VERSION)
    wanted = {(ref.kind.value, ref.key): ref for ref in refs}
    kept = [link for link in document.links if (link.kind, link.key) in wanted]
    have = {(link.kind, link.key) for link in kept}
    document.links = kept + new_links(
        [ref for pair, ref in sorted(wanted.items()) if pair not in have], view
    )
