"""The current date and time in Europe/Paris, the académie's clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def now() -> dt.datetime:
    """Naive wall-clock time in Paris, as stored in the database."""
    return dt.datetime.now(PARIS).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()
