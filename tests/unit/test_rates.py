"""Rate tables and money helpers."""

import datetime as dt
from decimal import Decimal

import pytest

from imagin.domain.money import (
    format_duration,
    format_euros,
    from_cents,
    parse_euros,
    quantize,
    to_cents,
)
from imagin.domain.rates import (
    CODES,
    OFFICIAL_RATES,
    Rate,
    RateNotFound,
    RateTable,
    horsepower_class,
)

RATES = RateTable(OFFICIAL_RATES)


@pytest.mark.parametrize(
    ("code", "amount"),
    [("1", "0.75"), ("2", "1.10"), ("3", "1.73"), ("4", "2.47"), ("5", "5.00")],
)
def test_per_copy_rates_of_the_2012_decree(code, amount):
    assert RATES.amount("copy", code, dt.date(2022, 12, 2)) == Decimal(amount)


@pytest.mark.parametrize(
    ("code", "amount"), [("1", "4.11"), ("2", "5.49"), ("3", "9.60"), ("4", "13.72")]
)
def test_hourly_rates_of_the_2012_decree(code, amount):
    assert RATES.amount("hour", code, dt.date(2022, 12, 2)) == Decimal(amount)


def test_exam_pay_rates_start_on_13_april_2012():
    assert RATES.amount("hour", "3", dt.date(2012, 4, 13)) == Decimal("9.60")
    with pytest.raises(RateNotFound):
        RATES.amount("hour", "3", dt.date(2012, 4, 12))


def test_meal_rate_changes_on_22_september_2023():
    assert RATES.amount("meal", "repas", dt.date(2023, 9, 21)) == Decimal("17.50")
    assert RATES.amount("meal", "repas", dt.date(2023, 9, 22)) == Decimal("20.00")
    assert RATES.amount("meal", "repas", dt.date(2020, 1, 1)) == Decimal("17.50")


@pytest.mark.parametrize(
    ("day", "autre", "grande_ville", "paris"),
    [
        (dt.date(2022, 12, 2), "70", "90", "110"),
        (dt.date(2023, 9, 21), "70", "90", "110"),
        (dt.date(2023, 9, 22), "90", "120", "140"),
        (dt.date(2024, 3, 1), "90", "120", "140"),
    ],
)
def test_night_rates_by_zone(day, autre, grande_ville, paris):
    assert RATES.amount("night", "autre", day) == Decimal(autre)
    assert RATES.amount("night", "grande_ville", day) == Decimal(grande_ville)
    assert RATES.amount("night", "paris", day) == Decimal(paris)


@pytest.mark.parametrize(
    ("code", "amount"),
    [
        ("cv5:1", "0.32"),
        ("cv5:2", "0.40"),
        ("cv5:3", "0.23"),
        ("cv6_7:1", "0.41"),
        ("cv6_7:2", "0.51"),
        ("cv6_7:3", "0.30"),
        ("cv8:1", "0.45"),
        ("cv8:2", "0.55"),
        ("cv8:3", "0.32"),
    ],
)
def test_mileage_rates_from_2022(code, amount):
    assert RATES.amount("mileage", code, dt.date(2022, 1, 1)) == Decimal(amount)
    assert RATES.amount("mileage", code, dt.date(2025, 6, 1)) == Decimal(amount)


def test_every_code_has_an_official_rate_today():
    for kind, codes in CODES.items():
        for code in codes:
            assert RATES.amount(kind, code, dt.date(2024, 3, 1)) > 0


def test_official_amounts_are_decimals():
    assert all(isinstance(rate.amount, Decimal) for rate in OFFICIAL_RATES)


def test_missing_rate_is_refused_in_french():
    with pytest.raises(RateNotFound) as caught:
        RATES.amount("meal", "repas", dt.date(2019, 12, 31))
    assert caught.value.message == "Aucun taux de repas (repas) n'est en vigueur le 31/12/2019."
    assert isinstance(caught.value, LookupError)


def test_unknown_code_is_not_found():
    with pytest.raises(RateNotFound):
        RateTable([]).amount("copy", "1", dt.date(2022, 1, 1))


def test_overlapping_periods_are_rejected():
    rates = [
        Rate("meal", "repas", Decimal("17.50"), dt.date(2020, 1, 1), dt.date(2023, 9, 22)),
        Rate("meal", "repas", Decimal("20.00"), dt.date(2023, 9, 22)),
    ]
    with pytest.raises(ValueError, match="overlapping"):
        RateTable(rates)


def test_open_period_followed_by_another_is_rejected():
    rates = [
        Rate("meal", "repas", Decimal("17.50"), dt.date(2020, 1, 1)),
        Rate("meal", "repas", Decimal("20.00"), dt.date(2023, 9, 22)),
    ]
    with pytest.raises(ValueError, match="overlapping"):
        RateTable(rates)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Rate("meal", "dinner", Decimal("1"), dt.date(2020, 1, 1)),
        lambda: Rate("coffee", "1", Decimal("1"), dt.date(2020, 1, 1)),
        lambda: Rate("copy", "1", Decimal("-1"), dt.date(2020, 1, 1)),
        lambda: Rate("copy", "1", 1.5, dt.date(2020, 1, 1)),
        lambda: Rate("copy", "1", Decimal("1"), dt.date(2020, 1, 2), dt.date(2020, 1, 1)),
    ],
)
def test_invalid_rates_are_rejected(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize(
    ("cv", "expected"),
    [(1, "cv5"), (4, "cv5"), (5, "cv5"), (6, "cv6_7"), (7, "cv6_7"), (8, "cv8"), (15, "cv8")],
)
def test_horsepower_class(cv, expected):
    assert horsepower_class(cv) == expected


def test_horsepower_must_be_positive():
    with pytest.raises(ValueError):
        horsepower_class(0)


# --- money --------------------------------------------------------------------------------


def test_quantize_rounds_half_up():
    assert quantize(Decimal("0.125")) == Decimal("0.13")
    assert quantize(Decimal("-0.125")) == Decimal("-0.13")
    assert quantize(3) == Decimal("3.00")


def test_quantize_refuses_floats():
    with pytest.raises(TypeError):
        quantize(0.1)


def test_cents_round_trip():
    assert to_cents(Decimal("69.20")) == 6920
    assert to_cents(Decimal("0.005")) == 1
    assert from_cents(3360) == Decimal("33.60")


@pytest.mark.parametrize(
    ("minutes", "text"), [(210, "3 h 30"), (480, "8 h"), (45, "0 h 45"), (0, "0 h"), (65, "1 h 05")]
)
def test_format_duration(minutes, text):
    assert format_duration(minutes) == text


def test_format_euros_is_french():
    assert format_euros(Decimal("1234.56")) == "1\u202f234,56\u00a0€"


@pytest.mark.parametrize(
    ("text", "amount"),
    [("12,50", "12.50"), ("1 234.5 €", "1234.50"), ("0", "0.00"), ("7\u00a0€", "7.00")],
)
def test_parse_euros(text, amount):
    assert parse_euros(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "abc", "12,345", "NaN", "1,2,3"])
def test_parse_euros_refuses_bad_input(text):
    with pytest.raises(ValueError):
        parse_euros(text)
