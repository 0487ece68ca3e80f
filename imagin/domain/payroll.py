"""The payroll file: one line per claim part sent to payment, as a French spreadsheet opens it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from imagin.domain.money import ZERO
from imagin.domain.status import Part
from imagin.domain.travel import Category

PART_LABELS = {Part.PAY: "Rémunération", Part.TRAVEL: "Déplacement"}
HEADER = (
    "Lot",
    "Date d'export",
    "Bureau",
    "N° de mission",
    "Examen",
    "Session",
    "Nom",
    "Prénom",
    "Adresse électronique",
    "Partie",
    "Rémunération",
    *(category.label for category in Category),
    "Total",
    # What payroll pays to: the dossier financier verified by the DEC.
    "Bénéficiaire",
    "NIR",
    "IBAN",
    "BIC",
    "Trajets",
    "Précisions",
)
# What a spreadsheet takes for the start of a formula (or of a cell to split).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, kw_only=True)
class PayrollLine:
    """One part sent to payment; travel amounts by category as frozen at validation."""

    batch_id: int
    exported_on: dt.date
    bureau_code: str
    mission_number: int
    exam: str
    session: str
    last_name: str
    first_name: str
    email: str
    part: Part
    total: Decimal
    categories: Mapping[Category, Decimal] = field(default_factory=dict)
    # What the intervenant typed that the DEC may want to read: cities, precisions.
    legs: str = ""
    precisions: str = ""
    # From the verified dossier financier: the account holder, and the numbers in clear.
    beneficiary: str = field(default="", repr=False)
    nir: str = field(default="", repr=False)
    iban: str = field(default="", repr=False)
    bic: str = field(default="", repr=False)


def amount_cell(value: Decimal | None) -> str:
    """French decimals without thousands separator: what spreadsheets read as a number."""
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def text_cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula.

    Cells come from what people typed (cities, precisions, imported names): one
    starting like a formula is kept as text by a leading apostrophe.
    """
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def category_amounts(line: PayrollLine) -> list[Decimal]:
    """The travel amounts in the order of the columns; whatever the frozen categories do
    not explain (a claim validated before they were kept) still reaches payroll, as "other"."""
    amounts = [line.categories.get(category, ZERO) for category in Category]
    amounts[-1] += line.total - sum(line.categories.values(), ZERO)
    return amounts


def payroll_csv(lines: list[PayrollLine]) -> str:
    """The export as text: UTF-8 with BOM, ";" separated, French decimal commas."""
    output = io.StringIO()
    writer = csv.writer(output, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for line in lines:
        travel = line.part is Part.TRAVEL
        by_category = category_amounts(line) if travel else [None] * len(Category)
        writer.writerow(
            [
                line.batch_id,
                line.exported_on.strftime("%d/%m/%Y"),
                text_cell(line.bureau_code),
                line.mission_number,
                text_cell(line.exam),
                text_cell(line.session),
                text_cell(line.last_name),
                text_cell(line.first_name),
                text_cell(line.email),
                PART_LABELS[line.part],
                amount_cell(None if travel else line.total),
                *(amount_cell(amount) for amount in by_category),
                amount_cell(line.total),
                text_cell(line.beneficiary),
                text_cell(line.nir),
                text_cell(line.iban),
                text_cell(line.bic),
                text_cell(line.legs),
                text_cell(line.precisions),
            ]
        )
    return "\ufeff" + output.getvalue()
