"""Typed references: what a receipt justifies, and where an entry of the claim is made.

Modules hand these to each other instead of strings such as ``"legs-0-departure"``
or ``"expense-7"`` that another module would have to parse back. The web maps
them to pages and anchors in one place (``imagin.anchors``); a form carries a
receipt reference as ``str(ref)`` and reads it back with ``ReceiptRef.parse``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class EntryKind(StrEnum):
    """What a receipt can justify: a leg's fare, another expense, a night, a meal."""

    LEG = "leg"
    EXPENSE = "expense"
    NIGHT = "night"
    MEAL = "meal"


@dataclass(frozen=True, order=True)
class ReceiptRef:
    """The stable identity of a receipt: the entry it justifies, and that entry's key.

    Keys survive edits of the claim: a leg's or another expense's row id (rows are
    changed in place, and ids are never given again), a night's date (its evening),
    a meal's day and kind (``2024-06-12:dejeuner``).
    """

    kind: EntryKind
    key: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"

    @classmethod
    def parse(cls, text: str) -> ReceiptRef | None:
        """The reference a form sent as ``str(ref)``; None for anything else."""
        kind, _, key = (text or "").partition(":")
        if not key or kind not in {k.value for k in EntryKind}:
            return None
        return cls(EntryKind(kind), key)

    @classmethod
    def leg(cls, key: int | str) -> ReceiptRef:
        return cls(EntryKind.LEG, str(key))

    @classmethod
    def expense(cls, key: int | str) -> ReceiptRef:
        return cls(EntryKind.EXPENSE, str(key))

    @classmethod
    def night(cls, night: dt.date) -> ReceiptRef:
        return cls(EntryKind.NIGHT, night.isoformat())

    @classmethod
    def meal(cls, day: dt.date, meal: str) -> ReceiptRef:
        return cls(EntryKind.MEAL, f"{day.isoformat()}:{meal}")


class Section(StrEnum):
    """Where an entry of the claim is made."""

    PAY = "pay"  # the pay part's own fields: done, copies, candidates
    HOURS = "hours"  # key: the hours line's position; field: day, start or end
    LEGS = "legs"  # the legs table as a whole
    LEG = "leg"  # key: the leg's key; field: departure, arrival, mode, km, fare, cities
    MEAL = "meal"  # key: day and kind, as in ReceiptRef.meal
    NIGHT = "night"  # key: the night's date
    EXPENSE = "expense"  # key: the other expense's key; field: kind, detail, amount
    PROFILE = "profile"  # field: vehicle_cv, the communes
    DOCUMENTS = "documents"  # the supporting documents of the travel part
    DOSSIER = "dossier"  # the intervenant's dossier financier (bank details, NIR)


@dataclass(frozen=True)
class FieldRef:
    """Where something is entered: a section, the entry in it (``key``) and its field."""

    section: Section
    key: str = ""
    field: str = ""

    @classmethod
    def of_receipt(cls, ref: ReceiptRef) -> FieldRef:
        """Where the entry a receipt justifies is typed (a leg's row, a night's lines…)."""
        return cls(Section(ref.kind.value), ref.key)
