"""Money as Decimal rounded to the cent, and the French wording of amounts, durations and dates."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize(amount: Decimal | int) -> Decimal:
    """Round an amount to the cent, halves away from zero (the rule of public accounting)."""
    # A float has already lost the cents: refuse it rather than hide the error.
    if isinstance(amount, float) or not isinstance(amount, Decimal | int):
        raise TypeError(f"amount must be Decimal or int, not {type(amount).__name__}")
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(amount: Decimal | int) -> int:
    """Amount in euros to integer cents."""
    return int(quantize(amount) * 100)


def from_cents(cents: int) -> Decimal:
    """Integer cents to an amount in euros."""
    return quantize(Decimal(cents) / 100)


def parse_euros(text: str) -> Decimal:
    """Read an amount typed by a user ("12,50", "1 234.5 €"); ValueError with a French message."""
    cleaned = text.replace("€", "").replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    cleaned = cleaned.replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("Saisissez un montant en euros, par exemple 12,50.") from None
    if not amount.is_finite():
        raise ValueError("Saisissez un montant en euros, par exemple 12,50.")
    # Beyond a billion euros it is a typing error (and 1e308 would not even round to cents).
    if amount.adjusted() >= 9:
        raise ValueError("Ce montant est trop grand : vérifiez le nombre de chiffres.")
    if amount.is_zero():
        amount = Decimal(0)  # "-0" is nothing, not a negative amount
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError("Un montant a au plus deux chiffres après la virgule.")
    return quantize(amount)


def format_euros(amount: Decimal) -> str:
    """French amount as Babel writes it: "1 234,56 €" (with no-break spaces)."""
    return format_currency(amount, "EUR", locale="fr_FR")


def format_number(value: int | Decimal) -> str:
    """French number: "1 900", "3,5"."""
    return format_decimal(value, locale="fr_FR")


def format_duration(minutes: int) -> str:
    """Duration in minutes as French users write it: "3 h 30", "8 h", "0 h 45"."""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"


def format_date(day: dt.date) -> str:
    """Date as dd/mm/yyyy."""
    # By hand: strftime costs 16 k instructions a call (callgrind), the mission list asks
    # once per row; the same text for every year (no padding, as glibc's %Y).
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def format_time(moment: dt.time | dt.datetime) -> str:
    """Time as 09:00."""
    return moment.strftime("%H:%M")
