"""Travel part: legs, meal and night entitlements, zones, mileage, amounts and their receipts."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from imagin.domain.communes import GRAND_PARIS, LARGE_CITIES, normalize_city, zone_for
from imagin.domain.errors import FieldError
from imagin.domain.rates import OFFICIAL_RATES, RateTable
from imagin.domain.receipts import Receipt, ReceiptType, receipt_required
from imagin.domain.refs import EntryKind, FieldRef, ReceiptRef, Section
from imagin.domain.travel import (
    Category,
    ExpenseKind,
    MealEntitlement,
    MealKind,
    MealTaken,
    NightStay,
    OtherExpense,
    TravelEntries,
    TravelProfile,
    absence_window,
    check_legs,
    compute_travel,
    meal_entitlements,
    mileage_amount,
    night_entitlements,
)
from tests.builders import at, car, leg, train

RATES = RateTable(OFFICIAL_RATES)
DAY = dt.date(2022, 12, 2)
LUNCH, DINNER = MealKind.LUNCH, MealKind.DINNER


def plain(text: str) -> str:
    """Babel's no-break spaces as plain spaces, to keep the expected strings readable."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def compute(legs, *, meals=None, nights=(), cv=None, km_before=0, other=(), on=None, home=None):
    mission_date = on or legs[0].departure.date()
    taken = {
        (meal.day, meal.kind) if isinstance(meal, MealEntitlement) else meal: how
        for meal, how in (meals or {}).items()
    }
    return compute_travel(
        TravelEntries(legs=legs, meals_taken=taken, nights=list(nights), others=list(other)),
        TravelProfile(family_commune=home or "", vehicle_cv=cv, km_before=km_before),
        mission_date=mission_date,
        rates=RATES,
    )


def at_leg(index: int, name: str = "") -> FieldRef:
    """Where a leg not stored yet (known by its position) is entered."""
    return FieldRef(Section.LEG, f"#{index}", name)


def day_trip(day, start="07:00", end="18:00"):
    """Out and back by train on one day, from start to end."""
    return [
        train(at(day, start), "Saint-Lô", at(day, "08:55"), "Alençon", "20"),
        train(at(day, "16:00"), "Alençon", at(day, end), "Saint-Lô", "20"),
    ]


# --- check_legs ---------------------------------------------------------------------------

LEG_621 = car(at(DAY, "07:00"), "ST LO", at(DAY, "18:00"), "ALENCON CEDEX", 150)


def test_leg_of_mission_621_is_valid():
    assert check_legs([LEG_621], {DAY}) == []


def test_arrival_must_be_after_departure():
    bad = car(at(DAY, "18:00"), "ST LO", at(DAY, "07:00"), "ALENCON", 150)
    assert check_legs([bad], {DAY}) == [
        FieldError(at_leg(0, "arrival"), "L'arrivée doit être après le départ.")
    ]


def test_dates_within_a_day_of_the_mission():
    day_before, two_days_after = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=2)
    ok = train(at(day_before, "18:00"), "Saint-Lô", at(day_before, "20:00"), "Alençon", "20")
    late = train(at(two_days_after, "08:00"), "Alençon", at(two_days_after, "10:00"), "Caen", "9")
    errors = check_legs([ok, late], {DAY})
    message = "Le trajet doit avoir lieu entre le 01/12/2022 et le 03/12/2022."
    assert errors == [FieldError(at_leg(1, "departure"), message)]


def test_arrival_out_of_range():
    late = train(at(DAY, "20:00"), "Alençon", at(DAY + dt.timedelta(days=2), "01:00"), "Nice", "9")
    assert [e.ref for e in check_legs([late], {DAY})] == [at_leg(0, "arrival")]


def test_overlapping_legs():
    first = train(at(DAY, "07:00"), "Saint-Lô", at(DAY, "09:00"), "Caen", "10")
    second = train(at(DAY, "08:30"), "Caen", at(DAY, "10:00"), "Alençon", "10")
    assert check_legs([first, second], {DAY}) == [
        FieldError(at_leg(1, "departure"), "Ce trajet chevauche celui du 02/12/2022 07:00–09:00.")
    ]


def test_connecting_legs_do_not_overlap():
    first = train(at(DAY, "07:00"), "Saint-Lô", at(DAY, "09:00"), "Caen", "10")
    second = train(at(DAY, "09:00"), "Caen", at(DAY, "10:00"), "Alençon", "10")
    assert check_legs([first, second], {DAY}) == []


def test_cities_are_required():
    blank = train(at(DAY, "07:00"), " ", at(DAY, "09:00"), "", "10")
    assert check_legs([blank], {DAY}) == [
        FieldError(at_leg(0, "departure_city"), "Saisissez la ville de départ."),
        FieldError(at_leg(0, "arrival_city"), "Saisissez la ville d'arrivée."),
    ]


@pytest.mark.parametrize(
    ("km", "message"),
    [
        (None, "Saisissez le nombre de kilomètres parcourus."),
        (0, "Le nombre de kilomètres doit être compris entre 1 et 2 000."),
        (2001, "Le nombre de kilomètres doit être compris entre 1 et 2 000."),
    ],
)
def test_km_for_own_vehicles(km, message):
    bad = leg(at(DAY, "07:00"), "Saint-Lô", at(DAY, "09:00"), "Alençon", "moto", km=km)
    errors = check_legs([bad], {DAY})
    assert [(e.ref, plain(e.message)) for e in errors] == [(at_leg(0, "km"), message)]


@pytest.mark.parametrize("km", [1, 2000])
def test_km_limits_are_inclusive(km):
    assert check_legs([car(at(DAY, "07:00"), "A", at(DAY, "09:00"), "B", km)], {DAY}) == []


@pytest.mark.parametrize(
    ("fare", "message"),
    [
        (None, "Saisissez le prix payé (0 si vous n'avez rien payé)."),
        (Decimal("-1"), "Le prix doit être compris entre 0 et 2 000,00 €."),
        (Decimal("2000.01"), "Le prix doit être compris entre 0 et 2 000,00 €."),
    ],
)
def test_fare_for_tickets_and_taxis(fare, message):
    bad = leg(at(DAY, "07:00"), "Saint-Lô", at(DAY, "09:00"), "Alençon", "taxi", fare=fare)
    errors = check_legs([bad], {DAY})
    assert [(e.ref, plain(e.message)) for e in errors] == [(at_leg(0, "fare"), message)]


def test_free_ticket_is_valid():
    free = train(at(DAY, "07:00"), "Saint-Lô", at(DAY, "09:00"), "Alençon", "0")
    assert check_legs([free], {DAY}) == []


def test_unknown_mode():
    bad = leg(at(DAY, "07:00"), "Saint-Lô", at(DAY, "09:00"), "Alençon", "trottinette")
    assert check_legs([bad], {DAY}) == [
        FieldError(at_leg(0, "mode"), "Choisissez un mode de transport.")
    ]


# --- absence window, meals and nights -----------------------------------------------------


def test_absence_window_from_first_departure_to_last_arrival():
    legs = list(reversed(day_trip(DAY)))
    assert absence_window(legs) == (at(DAY, "07:00"), at(DAY, "18:00"))
    assert absence_window([]) is None


def test_mission_621_gives_a_lunch():
    window = absence_window([LEG_621])
    assert meal_entitlements(window) == [MealEntitlement(DAY, LUNCH)]
    assert night_entitlements(window) == []


def test_leaving_at_11_05_gives_no_lunch():
    window = (at(DAY, "11:05"), at(DAY, "17:00"))
    assert meal_entitlements(window) == []


def test_lunch_window_is_inclusive():
    assert meal_entitlements((at(DAY, "11:00"), at(DAY, "14:00"))) == [MealEntitlement(DAY, LUNCH)]
    assert meal_entitlements((at(DAY, "11:00"), at(DAY, "13:59"))) == []


def test_from_7_to_21_gives_two_meals():
    window = (at(DAY, "07:00"), at(DAY, "21:00"))
    assert meal_entitlements(window) == [
        MealEntitlement(DAY, LUNCH),
        MealEntitlement(DAY, DINNER),
    ]
    assert meal_entitlements((at(DAY, "07:00"), at(DAY, "20:59"))) == [MealEntitlement(DAY, LUNCH)]


def test_overnight_stay_gives_a_night_and_the_next_days_meals():
    next_day = DAY + dt.timedelta(days=1)
    window = (at(DAY, "07:00"), at(next_day, "18:00"))
    assert night_entitlements(window) == [DAY]
    assert meal_entitlements(window) == [
        MealEntitlement(DAY, LUNCH),
        MealEntitlement(DAY, DINNER),
        MealEntitlement(next_day, LUNCH),
    ]


def test_night_needs_the_whole_of_midnight_to_five():
    next_day = DAY + dt.timedelta(days=1)
    assert night_entitlements((at(DAY, "20:00"), at(next_day, "04:59"))) == []
    assert night_entitlements((at(next_day, "00:00"), at(next_day, "05:00"))) == [DAY]
    assert night_entitlements(None) == []


# --- zones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("commune", "zone"),
    [
        ("Paris", "paris"),
        ("PARIS CEDEX 07", "paris"),
        ("Paris 15e", "paris"),
        ("75015 Paris", "paris"),
        ("Lyon", "grande_ville"),
        ("Lyon 3e arrondissement", "grande_ville"),
        ("Marseille", "grande_ville"),
        ("Boulogne-Billancourt", "grande_ville"),
        ("boulogne billancourt", "grande_ville"),
        ("L'Haÿ-les-Roses", "grande_ville"),
        ("SAINT DENIS", "grande_ville"),
        ("Argenteuil", "grande_ville"),
        ("Viry-Chatillon", "grande_ville"),
        ("Alençon", "autre"),
        ("ALENCON CEDEX", "autre"),
        ("Versailles", "autre"),
        ("Toulon", "autre"),
        ("", "autre"),
    ],
)
def test_zone_for(commune, zone):
    assert zone_for(commune) == zone


def test_grand_paris_list_has_130_communes_besides_paris():
    assert len(GRAND_PARIS) == len({normalize_city(name) for name in GRAND_PARIS}) == 130
    assert len(LARGE_CITIES) == 10


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("ST LO", "saint lo"),
        ("Saint-Lô", "saint lo"),
        ("ALENCON CEDEX", "alencon"),
        ("Alençon Cedex 2", "alencon"),
        ("  Ville-d'Avray ", "ville d avray"),
        ("Sainte-Anne", "sainte anne"),
    ],
)
def test_normalize_city(raw, normalized):
    assert normalize_city(raw) == normalized


# --- mileage ------------------------------------------------------------------------------


def test_mileage_across_the_2000_km_band():
    amount, reason = mileage_amount(300, 6, 1900, DAY, RATES)
    assert amount == Decimal("143.00")  # 100 × 0.41 + 200 × 0.51
    assert plain(reason) == (
        "100 km × 0,41 € + 200 km × 0,51 € = 143,00 € (6 CV, 1 900 km déjà déclarés en 2022)"
    )


def test_mileage_in_the_first_band():
    amount, reason = mileage_amount(150, 5, 0, DAY, RATES)
    assert amount == Decimal("48.00")
    assert plain(reason) == "150 km × 0,32 € = 48,00 € (5 CV)"


def test_mileage_starting_exactly_at_2000_km_is_in_the_second_band():
    assert mileage_amount(100, 8, 2000, DAY, RATES)[0] == Decimal("55.00")


def test_mileage_across_the_10000_km_band():
    amount, _ = mileage_amount(200, 8, 9900, DAY, RATES)
    assert amount == Decimal("87.00")  # 100 × 0.55 + 100 × 0.32


def test_mileage_over_all_three_bands():
    amount, _ = mileage_amount(12000, 4, 0, DAY, RATES)
    assert amount == Decimal("4300.00")  # 2000 × 0.32 + 8000 × 0.40 + 2000 × 0.23


def test_no_km_no_mileage():
    assert mileage_amount(0, 6, 0, DAY, RATES)[0] == Decimal("0")


# --- compute_travel -----------------------------------------------------------------------


def test_mission_621_by_car():
    taken = {MealEntitlement(DAY, LUNCH): MealTaken.OTHER}
    result = compute([LEG_621], meals=taken, cv=6, home="Saint-Lô")
    assert [(line.category, line.amount) for line in result.lines] == [
        (Category.MILEAGE, Decimal("61.50")),
        (Category.MEALS, Decimal("17.50")),
    ]
    assert plain(result.lines[1].text) == (
        "Déjeuner du 02/12/2022 — absence de 07:00 à 18:00 couvrant 11:00–14:00 — 17,50 €"
    )
    assert result.total == Decimal("79.00")
    assert result.applies
    assert result.meals == (MealEntitlement(DAY, LUNCH),)
    assert result.subtotal(Category.MEALS) == Decimal("17.50")


def test_meal_rate_is_20_in_2024():
    day = dt.date(2024, 3, 12)
    result = compute(day_trip(day), meals={(day, "dejeuner"): "autre"})
    meal = next(line for line in result.lines if line.category == Category.MEALS)
    assert meal.amount == Decimal("20.00")
    assert plain(meal.reason).endswith("— 20,00 €")


def test_meal_rates_straddle_the_change_of_22_september_2023():
    first, second = dt.date(2023, 9, 21), dt.date(2023, 9, 22)
    legs = [
        train(at(first, "07:00"), "Caen", at(first, "10:00"), "Paris", "40"),
        train(at(second, "21:30"), "Paris", at(second, "23:30"), "Caen", "40"),
    ]
    meals = {meal: MealTaken.OTHER for meal in meal_entitlements(absence_window(legs))}
    result = compute(legs, meals=meals)
    assert [
        (line.label, line.amount) for line in result.lines if line.category == Category.MEALS
    ] == [
        ("Déjeuner du 21/09/2023", Decimal("17.50")),
        ("Dîner du 21/09/2023", Decimal("17.50")),
        ("Déjeuner du 22/09/2023", Decimal("20.00")),
        ("Dîner du 22/09/2023", Decimal("20.00")),
    ]


@pytest.mark.parametrize(
    ("day", "amount", "text"),
    [
        (DAY, "8.75", "restaurant administratif, moitié de 17,50 € : 8,75 €"),
        (dt.date(2024, 3, 12), "10.00", "restaurant administratif, moitié de 20,00 € : 10,00 €"),
    ],
)
def test_administrative_restaurant_is_paid_half(day, amount, text):
    result = compute(day_trip(day), meals={(day, "dejeuner"): "administratif"})
    meal = next(line for line in result.lines if line.category == Category.MEALS)
    assert meal.amount == Decimal(amount)
    assert plain(meal.reason).endswith(text)


def test_free_meal_is_not_paid():
    result = compute(day_trip(DAY), meals={(DAY, "dejeuner"): "gratuit"})
    meal = next(line for line in result.lines if line.category == Category.MEALS)
    assert meal.amount == Decimal("0")
    assert plain(meal.reason).endswith("repas gratuit : 0,00 €")


def test_meal_not_yet_described_is_not_paid_and_says_why():
    meal = next(line for line in compute(day_trip(DAY)).lines if line.category == Category.MEALS)
    assert meal.amount == Decimal("0")
    assert meal.reason.endswith("indiquez comment ce repas a été pris")


def test_transport_at_the_fare_paid():
    result = compute(day_trip(DAY))
    transport = [line for line in result.lines if line.category == Category.TRANSPORT]
    assert [(line.label, line.amount, line.target) for line in transport] == [
        ("Train Saint-Lô → Alençon du 02/12/2022", Decimal("20.00"), at_leg(0)),
        ("Train Alençon → Saint-Lô du 02/12/2022", Decimal("20.00"), at_leg(1)),
    ]


def test_car_without_horsepower_asks_for_it():
    line = compute([LEG_621]).lines[0]
    assert line.amount == Decimal("0")
    assert "puissance fiscale" in line.reason


def test_km_already_claimed_push_into_the_next_band():
    line = compute([LEG_621], cv=6, km_before=1900).lines[0]
    assert line.amount == Decimal("66.50")  # 100 × 0.41 + 50 × 0.51


def overnight(day, city):
    next_day = day + dt.timedelta(days=1)
    return [
        train(at(day, "07:00"), "Caen", at(day, "10:00"), city, "40"),
        train(at(next_day, "15:00"), city, at(next_day, "18:00"), "Caen", "40"),
    ]


@pytest.mark.parametrize(
    ("day", "city", "ceiling"),
    [
        (dt.date(2024, 3, 12), "Paris", "140.00"),
        (dt.date(2024, 3, 12), "Lyon", "120.00"),
        (dt.date(2024, 3, 12), "Alençon", "90.00"),
        (DAY, "Paris", "110.00"),
        (DAY, "Lyon", "90.00"),
        (DAY, "Alençon", "70.00"),
    ],
)
def test_night_is_paid_up_to_the_ceiling_of_its_zone(day, city, ceiling):
    dear = compute(overnight(day, city), nights=[NightStay(day, city, Decimal("250"))])
    night = next(line for line in dear.lines if line.category == Category.NIGHTS)
    assert night.amount == Decimal(ceiling)
    assert night.receipt.type is ReceiptType.HOTEL
    assert night.receipt.ref == ReceiptRef.night(day)
    cheap = compute(overnight(day, city), nights=[NightStay(day, city, Decimal("65.40"))])
    assert cheap.subtotal(Category.NIGHTS) == Decimal("65.40")


def test_night_reason():
    day = dt.date(2024, 3, 12)
    result = compute(overnight(day, "Lyon"), nights=[NightStay(day, "Lyon", Decimal("150"))])
    night = next(line for line in result.lines if line.category == Category.NIGHTS)
    assert night.label == "Nuitée du 12/03/2024 au 13/03/2024 à Lyon"
    # What it is once, then why: no "Nuitée du … — Nuitée du …".
    assert plain(night.text) == (
        "Nuitée du 12/03/2024 au 13/03/2024 à Lyon — absence couvrant 00:00–05:00 — "
        "150,00 € payés, plafond grande ville ou Grand Paris 120,00 € : 120,00 €"
    )


def test_entitled_night_without_a_stay_pays_nothing():
    result = compute(overnight(DAY, "Lyon"))
    night = next(line for line in result.lines if line.category == Category.NIGHTS)
    assert night.amount == Decimal("0")
    assert "aucun hébergement payant déclaré" in night.reason


def test_stay_without_absence_over_the_night_is_not_paid():
    result = compute(day_trip(DAY), nights=[NightStay(DAY, "Alençon", Decimal("80"))])
    night = next(line for line in result.lines if line.category == Category.NIGHTS)
    assert night.amount == Decimal("0")
    assert "pas d'absence couvrant 00:00–05:00" in night.reason


def test_stay_without_amount_asks_for_it():
    result = compute(overnight(DAY, "Lyon"), nights=[NightStay(DAY, "Lyon", None)])
    night = next(line for line in result.lines if line.category == Category.NIGHTS)
    assert night.amount == Decimal("0")
    assert "indiquez le montant payé" in night.reason


def test_other_expenses():
    other = [
        OtherExpense(ExpenseKind.TOLL, Decimal("8.4"), "A28"),
        OtherExpense(ExpenseKind.PARKING, Decimal("6")),
    ]
    result = compute([LEG_621], cv=5, other=other)
    assert [(line.category, line.label, line.amount) for line in result.lines[1:]] == [
        (Category.MEALS, "Déjeuner du 02/12/2022", Decimal("0")),
        (Category.OTHER, "Péage — A28", Decimal("8.40")),
        (Category.OTHER, "Parking", Decimal("6.00")),
    ]
    assert result.total == Decimal("62.40")  # 150 × 0.32 + 8.40 + 6


def test_nothing_within_the_commune_of_residence():
    legs = [
        car(at(DAY, "07:00"), "Alençon", at(DAY, "07:20"), "ALENCON CEDEX", 8),
        car(at(DAY, "18:00"), "ALENCON CEDEX", at(DAY, "18:20"), "alencon", 8),
    ]
    result = compute(
        legs, cv=6, home="Alençon", other=[OtherExpense(ExpenseKind.PARKING, Decimal(5))]
    )
    assert result.lines == ()
    assert result.total == Decimal("0")
    assert not result.applies
    assert result.reason == "Pas de frais : le centre d'examen est dans votre commune de résidence."


def test_no_legs_yet():
    result = compute_travel(
        TravelEntries(), TravelProfile(family_commune="Saint-Lô"), mission_date=DAY, rates=RATES
    )
    assert result.lines == ()
    assert result.applies
    assert result.reason == "Saisissez vos trajets pour calculer vos frais de déplacement."


# --- receipts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "meal_receipt"),
    [
        (dt.date(2023, 3, 14), False),
        (dt.date(2023, 12, 31), False),
        (dt.date(2024, 1, 1), True),
        (dt.date(2024, 3, 14), True),
        (dt.date(2024, 7, 31), True),
        (dt.date(2024, 8, 1), False),
        (dt.date(2024, 8, 14), False),
    ],
)
def test_meal_receipts_only_from_january_to_july_2024(day, meal_receipt):
    result = compute(day_trip(day), meals={(day, "dejeuner"): "autre"})
    kinds = [receipt.type for receipt in result.receipts]
    ticket, meal = ReceiptType.TICKET, ReceiptType.MEAL
    assert kinds == ([ticket, ticket, meal] if meal_receipt else [ticket, ticket])
    assert receipt_required(ReceiptType.MEAL, day) is meal_receipt


def test_receipts_for_everything_paid_each_with_a_stable_reference():
    day = dt.date(2024, 3, 14)
    next_day = day + dt.timedelta(days=1)
    legs = [
        car(at(day, "07:00"), "Caen", at(day, "10:00"), "Paris", 240),
        leg(at(day, "10:30"), "Paris", at(day, "11:00"), "Paris 15e", "taxi", fare=Decimal(30)),
        leg(
            at(next_day, "15:00"),
            "Paris",
            at(next_day, "16:00"),
            "Caen",
            "covoiturage",
            None,
            Decimal(12),
        ),
        leg(at(next_day, "16:30"), "Caen", at(next_day, "17:00"), "Caen", "bus", fare=Decimal(0)),
    ]
    # Stored legs and expenses are known by their id, whatever their position.
    legs = [replace(item, key=str(40 + index)) for index, item in enumerate(legs)]
    meals = {
        (day, "dejeuner"): "autre",
        (day, "diner"): "gratuit",
        (next_day, "dejeuner"): "administratif",
    }
    other = [
        OtherExpense(ExpenseKind.TOLL, Decimal("21.60"), "A13", key="7"),
        OtherExpense(ExpenseKind.PARKING, Decimal(18), key="9"),
    ]
    result = compute(
        legs, meals=meals, cv=6, other=other, nights=[NightStay(day, "Paris", Decimal(180))]
    )
    receipts = [(r.type, plain(r.label), str(r.ref)) for r in result.receipts]
    assert receipts == [
        (ReceiptType.TAXI, "Facture de taxi — Taxi Paris → Paris 15e du 14/03/2024", "leg:41"),
        (
            ReceiptType.MEAL,
            "Justificatif de repas — Déjeuner du 14/03/2024",
            "meal:2024-03-14:dejeuner",
        ),
        (
            ReceiptType.MEAL,
            "Justificatif de repas — Déjeuner du 15/03/2024",
            "meal:2024-03-15:dejeuner",
        ),
        (
            ReceiptType.HOTEL,
            "Facture d'hôtel — Nuitée du 14/03/2024 au 15/03/2024 à Paris",
            "night:2024-03-14",
        ),
        (ReceiptType.TOLL, "Ticket de péage de 21,60 € — A13", "expense:7"),
        (ReceiptType.PARKING, "Ticket de parking de 18,00 €", "expense:9"),
    ]
    assert all(isinstance(receipt, Receipt) for receipt in result.receipts)
    # Every entry a receipt could justify is known, needed or not (the free bus, the car).
    assert {ReceiptRef.leg(key) for key in ("40", "41", "42", "43")} <= result.entries
    assert ReceiptRef.meal(day, "diner") in result.entries


def test_tickets_and_taxis_not_in_a_leg_are_other_expenses_with_their_receipt():
    day = dt.date(2024, 3, 14)
    other = [
        OtherExpense(ExpenseKind.TICKET, Decimal("12.50"), "RER B"),
        OtherExpense(ExpenseKind.TAXI, Decimal(30)),
    ]
    result = compute(day_trip(day), meals={(day, "dejeuner"): "gratuit"}, other=other)
    autres = [(line.label, line.amount) for line in result.lines if line.category == Category.OTHER]
    assert autres == [("Billet — RER B", Decimal("12.50")), ("Taxi", Decimal("30.00"))]
    receipts = [(r.type, plain(r.label), str(r.ref)) for r in result.receipts]
    assert receipts[-2:] == [
        (ReceiptType.TICKET, "Billet de 12,50 € — RER B", "expense:#0"),
        (ReceiptType.TAXI, "Facture de taxi de 30,00 €", "expense:#1"),
    ]


def test_night_lines_are_known_by_their_date():
    result = compute(overnight(DAY, "Lyon"), nights=[NightStay(DAY, "Lyon", Decimal(80))])
    night = next(line for line in result.lines if line.category == Category.NIGHTS)
    assert night.target == FieldRef(Section.NIGHT, "2022-12-02")
    assert night.receipt.ref == ReceiptRef(EntryKind.NIGHT, "2022-12-02")


def test_a_zero_amount_needs_no_receipt():
    free = compute(day_trip(DAY), meals={(DAY, "dejeuner"): "gratuit"}, on=dt.date(2024, 3, 1))
    assert [line.receipt for line in free.lines if line.category == Category.MEALS] == [None]
