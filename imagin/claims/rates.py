"""The official rate tables as the domain reads them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from imagin.domain.rates import Rate, RateTable
from imagin.models import RateRow


def load_rates(db: Session) -> RateTable:
    """The whole rate table (a few dozen rows), in one query."""
    return RateTable(
        Rate(r.kind, r.code, Decimal(r.amount_cents) / 100, r.valid_from, r.valid_to)
        for r in db.scalars(select(RateRow))
    )
