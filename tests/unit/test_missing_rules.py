"""Issue 16, rules still missing: an optional test at 75 % of the hourly rate, mileage across
the yearly bands, the €150 night of a disabled worker with reduced mobility, nothing in a
commune of residence. Official figures throughout."""

import datetime as dt
from decimal import Decimal

import pytest

from imagin.domain.pay import HoursLine, PayEntry, estimate_pay
from imagin.domain.rates import OFFICIAL_RATES, RateTable
from imagin.domain.travel import (
    Category,
    NightStay,
    TravelEntries,
    TravelProfile,
    compute_travel,
    residence_reason,
)
from tests.builders import at, car, train

RATES = RateTable(OFFICIAL_RATES)
JUNE_2026 = dt.date(2026, 6, 22)


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def hours(day, start, end):
    return HoursLine(day, dt.time.fromisoformat(start), dt.time.fromisoformat(end))


# --- optional test (arrêté du 13 avril 2012): 75 % of the hourly rate -------------------------


@pytest.mark.parametrize(
    ("rate_class", "start", "end", "amount"),
    [
        ("hour:3", "09:00", "10:00", "7.20"),  # 9.60 × 0.75
        ("hour:3", "09:00", "12:30", "25.20"),  # 3.5 × 9.60 × 0.75
        ("hour:4", "09:00", "11:00", "20.58"),  # 2 × 13.72 × 0.75
        ("hour:1", "09:00", "11:00", "6.17"),  # 2 × 4.11 × 0.75 = 6.165, half-up once
        ("hour:2", "08:00", "12:00", "16.47"),  # 4 × 5.49 × 0.75
    ],
)
def test_an_optional_test_is_paid_75_percent_of_the_hourly_rate(rate_class, start, end, amount):
    entry = PayEntry(True, hours=(hours(JUNE_2026, start, end),))
    estimate = estimate_pay(entry, rate_class, JUNE_2026, RATES, optional_test=True)
    assert estimate.amount == Decimal(amount)
    full = estimate_pay(entry, rate_class, JUNE_2026, RATES)
    assert full.amount > estimate.amount


def test_the_formula_says_75_percent_and_why():
    entry = PayEntry(True, hours=(hours(JUNE_2026, "09:00", "12:30"),))
    estimate = estimate_pay(entry, "hour:3", JUNE_2026, RATES, optional_test=True)
    assert plain(estimate.formula) == (
        "3 h 30 × 9,60 € × 75 % = 25,20 € "
        "(épreuve facultative ou ponctuelle : 75 % du taux horaire)"
    )


def test_copies_of_an_optional_test_keep_their_rate():
    # The 75 % share is of the hourly rate: a per-copy exam is paid its copy rate.
    estimate = estimate_pay(PayEntry(True, 100), "copy:3", JUNE_2026, RATES, optional_test=True)
    assert estimate.amount == Decimal("173.00")


def test_before_the_arrete_of_13_april_2012_there_is_no_share():
    # No hourly rate existed then either: the estimate says so instead of guessing.
    entry = PayEntry(True, hours=(hours(dt.date(2012, 4, 12), "09:00", "10:00"),))
    estimate = estimate_pay(entry, "hour:3", dt.date(2012, 4, 12), RATES, optional_test=True)
    assert estimate.amount == Decimal("0")
    assert "Aucun taux" in estimate.reason


# --- mileage across a yearly band: each km at its band's rate -------------------------------


def compute(legs, profile, centre=""):
    return compute_travel(
        TravelEntries(legs=legs),
        profile,
        mission_date=legs[0].departure.date(),
        rates=RATES,
        centre_commune=centre,
    )


def test_a_claim_crossing_2000_km_pays_each_km_at_its_band():
    day = JUNE_2026
    legs = [
        car(at(day, "07:00"), "Caen", at(day, "09:00"), "Rouen", 130),
        car(at(day, "17:00"), "Rouen", at(day, "19:00"), "Caen", 130),
    ]
    line = compute(legs, TravelProfile(vehicle_cv=5, km_before=1950)).lines[0]
    # 50 km × 0.32 + 210 km × 0.40 = 16.00 + 84.00
    assert line.amount == Decimal("100.00")
    assert plain(line.reason).startswith("50 km × 0,32 € + 210 km × 0,40 € = 100,00 €")


def test_a_claim_crossing_10000_km_pays_each_km_at_its_band():
    day = JUNE_2026
    legs = [car(at(day, "07:00"), "Caen", at(day, "12:00"), "Orléans", 300)]
    line = compute(legs, TravelProfile(vehicle_cv=8, km_before=9800)).lines[0]
    # 200 km × 0.55 + 100 km × 0.32 = 110.00 + 32.00
    assert line.amount == Decimal("142.00")


# --- the night of a disabled worker with reduced mobility (arrêté du 20 septembre 2023) ------


def overnight(day, city):
    next_day = day + dt.timedelta(days=1)
    return [
        train(at(day, "07:00"), "Caen", at(day, "10:00"), city, "40"),
        train(at(next_day, "15:00"), city, at(next_day, "18:00"), "Caen", "40"),
    ]


def night_of(day, city, paid, reduced_mobility):
    result = compute_travel(
        TravelEntries(legs=overnight(day, city), nights=[NightStay(day, city, Decimal(paid))]),
        TravelProfile(family_commune="Caen", reduced_mobility=reduced_mobility),
        mission_date=day,
        rates=RATES,
        centre_commune=city,
    )
    return next(line for line in result.lines if line.category == Category.NIGHTS)


@pytest.mark.parametrize(
    ("city", "paid", "ordinary", "reduced"),
    [
        ("Paris", "250", "140.00", "150.00"),
        ("Lyon", "250", "120.00", "150.00"),
        ("Alençon", "250", "90.00", "150.00"),
        ("Alençon", "130", "90.00", "130.00"),
    ],
)
def test_150_euros_wherever_the_night_is(city, paid, ordinary, reduced):
    day = dt.date(2024, 3, 12)
    assert night_of(day, city, paid, False).amount == Decimal(ordinary)
    line = night_of(day, city, paid, True)
    assert line.amount == Decimal(reduced)
    assert "plafond travailleur handicapé à mobilité réduite 150,00 €" in plain(line.reason)


def test_the_150_euros_ceiling_starts_on_22_september_2023():
    assert night_of(dt.date(2023, 9, 21), "Alençon", "250", True).amount == Decimal("70.00")
    assert night_of(dt.date(2023, 9, 22), "Alençon", "250", True).amount == Decimal("150.00")


# --- nothing in a commune of residence ------------------------------------------------------


def test_no_night_in_the_commune_of_administrative_residence():
    day = dt.date(2024, 3, 12)
    result = compute_travel(
        TravelEntries(legs=overnight(day, "Rouen"), nights=[NightStay(day, "ROUEN", Decimal(80))]),
        TravelProfile(family_commune="Caen", admin_commune="Rouen"),
        mission_date=day,
        rates=RATES,
        centre_commune="Le Havre",
    )
    night = next(line for line in result.lines if line.category == Category.NIGHTS)
    assert night.amount == Decimal("0")
    assert night.reason == "nuitée dans votre commune de résidence : non remboursée"
    assert night.receipt is None


@pytest.mark.parametrize(
    ("family", "admin"), [("Alençon", ""), ("", "ALENCON"), ("Caen", "Alençon")]
)
def test_no_travel_part_at_all_when_the_centre_is_in_a_commune_of_residence(family, admin):
    day = dt.date(2024, 3, 12)
    profile = TravelProfile(family_commune=family, admin_commune=admin, vehicle_cv=6)
    result = compute_travel(
        TravelEntries(legs=overnight(day, "Alençon"), nights=[NightStay(day, "Alençon", None)]),
        profile,
        mission_date=day,
        rates=RATES,
        centre_commune="Alençon",
    )
    # Said, not computed as zero: no line at all and the reason.
    assert not result.applies
    assert result.lines == ()
    assert result.reason == (
        "Pas de frais : le centre d'examen est à Alençon, votre commune de résidence."
    )
    assert residence_reason("Alençon", profile) == result.reason


def test_a_centre_elsewhere_keeps_its_travel_part():
    profile = TravelProfile(family_commune="Caen", admin_commune="Saint-Lô")
    assert residence_reason("Alençon", profile) == ""
    assert residence_reason("Alençon", TravelProfile()) == ""
