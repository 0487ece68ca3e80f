"""The official rate tables, date-effective, loaded by the migrations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from imagin.db import Base


class RateRow(Base):
    """One rate: kind ("copy", "hour", "meal", "night", "mileage"), code, cents, validity."""

    __tablename__ = "rate"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int]
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]
