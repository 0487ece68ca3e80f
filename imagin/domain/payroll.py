"""The payroll file: one line per claim part sent to payment, as a French spreadsheet opens it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

# Travel categories in the order of the file's columns.
TRAVEL_CATEGORIES = (
    ("transport", "Transport"),
    ("indemnites_kilometriques", "Indemnités kilométriques"),
    ("repas", "Repas"),
    ("nuitees", "Nuitées"),
    ("autres", "Autres frais"),
)
PART_LABELS = {"pay": "Rémunération", "travel": "Déplacement"}


@dataclass(frozen=True)
class PayrollLine:
    batch_id: int
    exported_on: dt.date
    bureau_code: str
    mission_number: int
    exam: str
    session: str
    last_name: str
    first_name: str
    email: str
    part: str
    total: Decimal
    # Travel only: amounts by category code; what is not known goes to "autres".
    categories: dict[str, Decimal] = field(default_factory=dict)


def _amount(value: Decimal | None) -> str:
    """French decimals without thousands separator: what spreadsheets read as a number."""
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def _text(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (names come from imports)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def payroll_csv(lines: list[PayrollLine]) -> str:
    """The export as text: UTF-8 with BOM, ";" separated, French decimal commas."""
    output = io.StringIO()
    writer = csv.writer(output, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
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
            *(label for _, label in TRAVEL_CATEGORIES),
            "Total",
        ]
    )
    for line in lines:
        if line.part == "pay":
            by_category = [None] * len(TRAVEL_CATEGORIES)
            pay = line.total
        else:
            known = sum(line.categories.values(), Decimal("0.00"))
            by_category = [
                line.categories.get(code, Decimal("0.00")) for code, _ in TRAVEL_CATEGORIES
            ]
            # Whatever the categories do not explain still reaches payroll, as "autres".
            by_category[-1] += line.total - known
            pay = None
        writer.writerow(
            [
                line.batch_id,
                line.exported_on.strftime("%d/%m/%Y"),
                line.bureau_code,
                line.mission_number,
                line.exam,
                line.session,
                line.last_name,
                line.first_name,
                line.email,
                PART_LABELS[line.part],
                _amount(pay),
                *(_amount(amount) for amount in by_category),
                _amount(line.total),
            ]
        )
    return "\ufeff" + output.getvalue()
