"""What blocks validating a part: the one home of the answer (imagin.domain.validation), with
the receipts it counts (imagin.domain.receipts). Each part is judged on its own."""

import datetime as dt
from decimal import Decimal

import pytest

from imagin.domain.errors import Missing
from imagin.domain.pay import HoursLine, PayBasis, PayEntry
from imagin.domain.rates import OFFICIAL_RATES, RateTable
from imagin.domain.receipts import (
    Link,
    LinkState,
    Receipt,
    ReceiptType,
    check_receipts,
    document_links,
)
from imagin.domain.refs import FieldRef, ReceiptRef, Section
from imagin.domain.status import PartStatus as S
from imagin.domain.travel import (
    MealTaken,
    NightStay,
    TravelEntries,
    TravelProfile,
    absence_window,
    compute_travel,
    meal_entitlements,
)
from imagin.domain.validation import (
    approval_refusal,
    blockers,
    pay_missing,
    receipts_missing,
    travel_missing,
)
from tests.builders import at, car, leg, train

RATES = RateTable(OFFICIAL_RATES)
DAY = dt.date(2022, 12, 2)
NEXT_DAY = dt.date(2022, 12, 3)
LEG_621 = car(at(DAY, "07:00"), "ST LO", at(DAY, "18:00"), "ALENCON CEDEX", 150, key="12")
LUNCH = FieldRef(Section.MEAL, "2022-12-02:dejeuner")


def hours(day, start, end):
    return HoursLine(day, dt.time.fromisoformat(start), dt.time.fromisoformat(end))


# --- The pay part ---------------------------------------------------------------------------


def test_nothing_missing_for_not_remunerated_or_not_done():
    assert pay_missing(PayEntry(), PayBasis.HOURS, "NR", {DAY}) == []
    assert pay_missing(PayEntry(False), PayBasis.HOURS, "hour:3", {DAY}) == []


def test_everything_missing_on_an_empty_candidates_hours_entry():
    missing = pay_missing(PayEntry(), PayBasis.CANDIDATES_HOURS, "hour:3", {NEXT_DAY, DAY})
    assert missing == [
        Missing("Indiquez si la mission a été effectuée", FieldRef(Section.PAY, field="done")),
        Missing(
            "Saisissez le nombre de candidats examinés", FieldRef(Section.PAY, field="candidates")
        ),
        Missing("Saisissez vos horaires du 02/12/2022", FieldRef(Section.HOURS)),
        Missing("Saisissez vos horaires du 03/12/2022", FieldRef(Section.HOURS)),
    ]


def test_only_days_without_hours_are_missing():
    entry = PayEntry(True, candidates=5, hours=(hours(DAY, "09:00", "12:30"),))
    missing = pay_missing(entry, "candidates_hours", "hour:3", {DAY, NEXT_DAY})
    assert missing == [Missing("Saisissez vos horaires du 03/12/2022", FieldRef(Section.HOURS))]


def test_copies_missing_then_complete():
    assert pay_missing(PayEntry(True), PayBasis.COPIES, "copy:3", {DAY}) == [
        Missing("Saisissez le nombre de copies corrigées", FieldRef(Section.PAY, field="copies"))
    ]
    assert pay_missing(PayEntry(True, 40), PayBasis.COPIES, "copy:3", {DAY}) == []
    line = (hours(DAY, "09:00", "12:30"),)
    assert pay_missing(PayEntry(True, hours=line), PayBasis.HOURS, "hour:3", {DAY}) == []


# --- The travel part ------------------------------------------------------------------------


def missing(legs, *, meals=None, nights=(), cv=None, days=None, home=""):
    entries = TravelEntries(legs=legs, meals_taken=meals or {}, nights=list(nights))
    profile = TravelProfile(family_commune=home, vehicle_cv=cv)
    travel = compute_travel(entries, profile, mission_date=legs[0].departure.date(), rates=RATES)
    return travel_missing(entries, travel, profile, days or {legs[0].departure.date()})


def test_nothing_missing_when_everything_is_entered():
    assert missing([LEG_621], meals={(DAY, "dejeuner"): "autre"}, cv=5) == []


def test_meal_without_a_choice_and_car_without_horsepower_are_missing():
    assert missing([LEG_621]) == [
        Missing(
            "Indiquez la puissance fiscale (CV) de votre véhicule dans votre profil",
            FieldRef(Section.PROFILE, field="vehicle_cv"),
        ),
        Missing("Indiquez comment vous avez pris le déjeuner du 02/12/2022", LUNCH),
    ]


def test_night_without_amount_is_missing_but_no_stay_at_all_is_not():
    legs = [
        train(at(DAY, "07:00"), "Caen", at(DAY, "10:00"), "Lyon", "40"),
        train(at(NEXT_DAY, "15:00"), "Lyon", at(NEXT_DAY, "18:00"), "Caen", "40"),
    ]
    meals = {meal.key: MealTaken.FREE for meal in meal_entitlements(absence_window(legs))}
    assert missing(legs, meals=meals) == []
    assert missing(legs, meals=meals, nights=[NightStay(DAY, "Lyon", None)]) == [
        Missing(
            "Indiquez le montant payé pour la nuitée du 02/12/2022 au 03/12/2022",
            FieldRef(Section.NIGHT, "2022-12-02"),
        )
    ]


def test_stored_leg_that_no_longer_passes_the_checks_is_missing_with_its_key():
    no_fare = leg(at(DAY, "07:00"), "Saint-Lô", at(DAY, "09:00"), "Alençon", "train", key="31")
    assert missing([no_fare]) == [
        Missing(
            "Trajet Train Saint-Lô → Alençon du 02/12/2022 : "
            "Saisissez le prix payé (0 si vous n'avez rien payé).",
            FieldRef(Section.LEG, "31"),
        )
    ]


def test_nothing_is_missing_when_travel_does_not_apply():
    legs = [car(at(DAY, "07:00"), "Alençon", at(DAY, "07:20"), "Alençon", 8)]
    assert missing(legs, home="Alençon") == []


# --- Receipts -------------------------------------------------------------------------------

TICKET = Receipt(ReceiptRef.leg(12), ReceiptType.TICKET, "Billet — Train ST LO → ALENCON")
BACK = Receipt(ReceiptRef.leg(13), ReceiptType.TICKET, "Billet — Train ALENCON → ST LO")
HOTEL = Receipt(ReceiptRef.night(DAY), ReceiptType.HOTEL, "Facture d'hôtel — Nuitée du 02/12")


def test_one_document_may_justify_several_receipts_and_a_receipt_several_documents():
    links = [
        Link(1, TICKET.ref),
        Link(1, BACK.ref),  # one e-ticket for the way there and back
        Link(2, HOTEL.ref),
        Link(3, HOTEL.ref),  # the invoice in two photos
    ]
    checks = check_receipts([TICKET, BACK, HOTEL], links)
    assert [(c.receipt, c.document_ids, c.provided) for c in checks] == [
        (TICKET, (1,), True),
        (BACK, (1,), True),
        (HOTEL, (2, 3), True),
    ]
    assert receipts_missing(checks) == []


def test_a_receipt_without_document_is_missing_and_links_to_itself():
    checks = check_receipts([TICKET, HOTEL], [Link(1, TICKET.ref)])
    assert receipts_missing(checks) == [
        Missing("Ajoutez le justificatif : Facture d'hôtel — Nuitée du 02/12", HOTEL.ref)
    ]
    assert "Facture d'hôtel — Nuitée du 02/12" in approval_refusal(checks)
    assert approval_refusal(check_receipts([TICKET], [Link(1, TICKET.ref)])) is None


def test_a_document_says_what_it_no_longer_justifies():
    links = [
        Link(1, TICKET.ref, "Billet — ancien libellé"),
        Link(1, ReceiptRef.leg(99), "Billet — Train supprimé"),  # its leg was deleted
        Link(2, ReceiptRef.meal(DAY, "dejeuner"), "Justificatif de repas"),  # now free
    ]
    entries = {TICKET.ref, ReceiptRef.meal(DAY, "dejeuner")}
    states = document_links(links, [TICKET], entries)
    assert [(link.label, link.state) for link in states[1]] == [
        # Needed: named as the receipt is called today.
        ("Billet — Train ST LO → ALENCON", LinkState.NEEDED),
        ("Billet — Train supprimé", LinkState.DELETED),
    ]
    assert [(link.label, link.state) for link in states[2]] == [
        ("Justificatif de repas", LinkState.NOT_NEEDED)
    ]


# --- The answer, part by part ---------------------------------------------------------------

LOST = Missing("Ajoutez le justificatif : Billet", TICKET.ref)


@pytest.mark.parametrize("status", [S.NOT_VALIDATED, S.TO_CORRECT])
def test_a_part_waiting_for_the_intervenant_is_blocked_only_by_what_it_lacks(status):
    assert not blockers(status, mission_end=DAY, today=NEXT_DAY)
    blocked = blockers(status, mission_end=DAY, today=NEXT_DAY, missing=[LOST])
    assert blocked and blocked.refusal is None and blocked.missing == (LOST,)
    assert blocked.messages == ["Ajoutez le justificatif : Billet"]


def test_a_part_is_blocked_until_the_day_after_the_mission():
    blocked = blockers(S.NOT_VALIDATED, mission_end=DAY, today=DAY)
    assert blocked.refusal == (
        "La mission n'est pas terminée : la validation sera possible à partir du 03/12/2022."
    )


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        (S.VALIDATED, "Cet état de frais est validé : il ne peut plus être modifié."),
        (S.IN_PAYMENT, "Cet état de frais est mis en paiement : il ne peut plus être modifié."),
        (S.CANCELLED, "La mission a été annulée : l'état de frais ne peut plus être modifié."),
        (S.NO_COSTS, "Cette partie ne donne lieu à aucun frais : il n'y a rien à valider."),
    ],
)
def test_a_part_no_longer_waiting_is_refused_for_its_status(status, refusal):
    assert blockers(status, mission_end=DAY, today=NEXT_DAY).refusal == refusal


def test_each_part_is_judged_on_its_own():
    # The travel part's missing receipt is the travel part's: the pay part may go.
    pay = blockers(S.NOT_VALIDATED, mission_end=DAY, today=NEXT_DAY, missing=[])
    travel = blockers(S.NOT_VALIDATED, mission_end=DAY, today=NEXT_DAY, missing=[LOST])
    assert not pay and travel


def test_decimal_amounts_are_what_receipts_are_asked_for():
    # A zero fare asks for nothing; a fare of one cent does.
    free = train(at(DAY, "07:00"), "A", at(DAY, "08:00"), "B", "0", key="1")
    paid = train(at(DAY, "09:00"), "B", at(DAY, "10:00"), "A", "0.01", key="2")
    travel = compute_travel(
        TravelEntries(legs=[free, paid]), TravelProfile(), mission_date=DAY, rates=RATES
    )
    assert [receipt.ref for receipt in travel.receipts] == [ReceiptRef.leg(2)]
    assert travel.total == Decimal("0.01")
