"""Supporting documents of the travel part: which receipts an amount needs, and which
documents justify them.

A receipt is identified by a ``ReceiptRef`` (the leg, expense, night or meal it
justifies), so it keeps its identity whatever else changes in the claim. A
document is linked to any number of receipts (one hotel invoice for two nights,
one e-ticket for the way there and back, one PDF for everything), and a receipt
may be justified by several documents (a ticket in two photos).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from imagin.domain.refs import ReceiptRef


class ReceiptType(StrEnum):
    """What kind of document a receipt is."""

    HOTEL = "hotel"
    TICKET = "ticket"
    TAXI = "taxi"
    TOLL = "toll"
    PARKING = "parking"
    OTHER = "other"
    MEAL = "meal"

    @property
    def label(self) -> str:
        return RECEIPT_LABELS[self]


RECEIPT_LABELS: dict[ReceiptType, str] = {
    ReceiptType.HOTEL: "Facture d'hôtel",
    ReceiptType.TICKET: "Billet",
    ReceiptType.TAXI: "Facture de taxi",
    ReceiptType.TOLL: "Ticket de péage",
    ReceiptType.PARKING: "Ticket de parking",
    ReceiptType.OTHER: "Justificatif",
    ReceiptType.MEAL: "Justificatif de repas",
}


@dataclass(frozen=True)
class ReceiptRule:
    """A type of receipt is required for missions in this period (None: no bound)."""

    type: ReceiptType
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def applies_on(self, on: dt.date) -> bool:
        """Whether the rule covers a mission on that day."""
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on <= self.valid_to
        )


# Meals need receipts only for the missions of January to July 2024: a dated rule.
RECEIPT_RULES: tuple[ReceiptRule, ...] = (
    ReceiptRule(ReceiptType.HOTEL),
    ReceiptRule(ReceiptType.TICKET),
    ReceiptRule(ReceiptType.TAXI),
    ReceiptRule(ReceiptType.TOLL),
    ReceiptRule(ReceiptType.PARKING),
    ReceiptRule(ReceiptType.OTHER),
    ReceiptRule(ReceiptType.MEAL, dt.date(2024, 1, 1), dt.date(2024, 7, 31)),
)


def receipt_required(
    type_: ReceiptType, on: dt.date, rules: Iterable[ReceiptRule] = RECEIPT_RULES
) -> bool:
    """Whether a receipt of this type is required for a mission on that day."""
    return any(rule.type == type_ and rule.applies_on(on) for rule in rules)


@dataclass(frozen=True)
class Receipt:
    """A supporting document the intervenant must upload for an amount claimed."""

    ref: ReceiptRef
    type: ReceiptType
    label: str


@dataclass(frozen=True)
class Link:
    """A document justifies a receipt; ``label`` is what the receipt was called then."""

    document_id: int
    ref: ReceiptRef
    label: str = ""


@dataclass(frozen=True)
class ReceiptCheck:
    """A receipt the claim needs, and the documents that justify it (none: missing)."""

    receipt: Receipt
    document_ids: tuple[int, ...]

    @property
    def provided(self) -> bool:
        return bool(self.document_ids)


def check_receipts(required: Sequence[Receipt], links: Iterable[Link]) -> list[ReceiptCheck]:
    """Each required receipt with the documents linked to it, in the order of the amounts."""
    by_ref: dict[ReceiptRef, list[int]] = {}
    for link in links:
        by_ref.setdefault(link.ref, []).append(link.document_id)
    return [
        ReceiptCheck(receipt, tuple(sorted(set(by_ref.get(receipt.ref, ())))))
        for receipt in required
    ]


class LinkState(StrEnum):
    """Whether what a document was linked to still asks for it."""

    NEEDED = "needed"  # the receipt is still asked for: the document justifies it
    NOT_NEEDED = "not_needed"  # the entry is still there, but asks for no receipt now
    DELETED = "deleted"  # the entry was deleted


@dataclass(frozen=True)
class DocumentLink:
    """One receipt a document was linked to, as the document's row shows it."""

    ref: ReceiptRef
    label: str
    state: LinkState


def document_links(
    links: Iterable[Link],
    required: Sequence[Receipt],
    entries: Iterable[ReceiptRef],
) -> dict[int, list[DocumentLink]]:
    """By document id, what each document justifies, still or no longer.

    ``entries`` are the references of every entry the claim still holds (legs,
    expenses, nights, meals), to tell an entry that was deleted from one that
    simply asks for no receipt any more (a fare of 0, a free meal).
    """
    needed: Mapping[ReceiptRef, Receipt] = {receipt.ref: receipt for receipt in required}
    existing = set(entries)
    order = {receipt.ref: index for index, receipt in enumerate(required)}
    result: dict[int, list[DocumentLink]] = {}
    for link in sorted(
        links, key=lambda link: (link.document_id, order.get(link.ref, len(order)), link.ref)
    ):
        if link.ref in needed:
            state, label = LinkState.NEEDED, needed[link.ref].label
        elif link.ref in existing:
            state, label = LinkState.NOT_NEEDED, link.label
        else:
            state, label = LinkState.DELETED, link.label
        result.setdefault(link.document_id, []).append(
            DocumentLink(link.ref, label or "un justificatif", state)
        )
    return result
