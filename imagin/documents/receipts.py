"""Which receipt of the computed list each document covers, and which are still missing.

A document records the receipt it justifies as a key chosen by the intervenant.
The key must survive changes elsewhere in the claim: it is the anchor of the
amount line (``leg-12``, ``night-2022-12-02``, ``meal-2024-06-12-dejeuner``),
except for other expenses, which the domain numbers by position
(``expenses-0``) and which are keyed by their row id instead (``expense-7``),
so deleting one expense does not move the others' documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from imagin.domain.errors import Missing
from imagin.domain.travel import Receipt
from imagin.models import Document
from imagin.travel.service import TravelView

# "Autre": a document that justifies nothing of the computed list (a letter, a second page…).
OTHER = "autre"
OTHER_LABEL = "Autre pièce"
NO_LONGER_NEEDED = "un justificatif qui n'est plus demandé"
# Where the missing receipts are fixed: the documents section of the Frais déplacement tab.
ANCHOR = "pieces"
MISSING_MESSAGE = "Ajoutez le justificatif : {label}"


@dataclass(frozen=True)
class NeededReceipt:
    """A receipt the claim needs, and whether a document already covers it."""

    key: str
    label: str
    covered: bool


def receipt_key(receipt: Receipt, travel: TravelView) -> str:
    """The key a document stores for this receipt (see the module's docstring)."""
    prefix, _, index = receipt.anchor.partition("-")
    if prefix == "expenses" and index.isdigit() and int(index) < len(travel.others):
        return f"expense-{travel.others[int(index)].id}"
    return receipt.anchor or receipt.kind


def receipt_choices(travel: TravelView) -> list[tuple[str, str]]:
    """(key, label) of every receipt the claim needs, in the order of the amounts, then Autre."""
    choices: dict[str, str] = {}
    for receipt in travel.receipts:
        choices.setdefault(receipt_key(receipt, travel), receipt.label)
    return [*choices.items(), (OTHER, OTHER_LABEL)]


def needed_receipts(travel: TravelView, documents: Iterable[Document]) -> list[NeededReceipt]:
    """The receipts the claim needs, each marked covered when a document names it."""
    covered = {document.receipt_key for document in documents}
    return [
        NeededReceipt(key, label, key in covered)
        for key, label in receipt_choices(travel)
        if key != OTHER
    ]


def missing_receipts(receipts: Iterable[NeededReceipt]) -> list[Missing]:
    """One Missing, linking to the documents section, per needed receipt without a document."""
    return [
        Missing(MISSING_MESSAGE.format(label=receipt.label), ANCHOR)
        for receipt in receipts
        if not receipt.covered
    ]
