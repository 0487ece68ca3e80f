"""The travel part of a claim: legs edited inline, expenses, allowances, and every refusal."""

import gzip
import re

import brotli
import pytest
from sqlalchemy import func, select, update

from imagin.models import AuditEvent, Claim, Expense, Mission, User
from tests.builders import (
    HX,
    LEG_621,
    LUNCH_621,
    RETURN_621,
    add_621,
    claim_of,
    post_expenses,
    post_leg,
    set_travel_status,
    token,
    validate,
)
from tests.conftest import CLAIRE, PAUL, count_queries, csrf_from, database, plain

KB = 1024


# --- The tab -------------------------------------------------------------------------------------


def test_tab_has_the_legs_table_with_its_headers_and_no_leg_for_621(signed_in):
    html = plain(signed_in.get("/missions/621/deplacement").get_data(as_text=True))
    headers = re.findall(r'<th scope="col">([^<]+)</th>', html)
    assert headers == [
        "Date de départ",
        "Heure de départ",
        "Ville de départ",
        "Date d'arrivée",
        "Heure d'arrivée",
        "Ville d'arrivée",
        "Transport",
        "Km ou prix",
        "Actions",
    ]
    assert "Aucun trajet saisi." in html
    assert 'href="/missions/621/deplacement/trajets/nouveau"' in html
    assert (
        'hx-trigger="legsChanged from:body, expensesChanged from:body, documentsChanged from:body"'
        in html
    )
    assert 'href="/profil?number=621"' in html


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (702, "Pas de frais : cette mission ne donne pas droit au remboursement"),
        (903, "Pas de frais : cette mission ne donne pas droit au remboursement"),
        (1120, "Pas de frais : cette mission ne donne pas droit au remboursement"),
        (1050, "Mission annulée : aucun frais de déplacement n'est remboursé."),
        (1088, "Mission non effectuée : aucun frais de déplacement n'est remboursé."),
    ],
)
def test_mission_without_travel_costs_says_why(signed_in, number, reason):
    html = plain(signed_in.get(f"/missions/{number}/deplacement").get_data(as_text=True))
    assert reason in html
    assert "<table" not in html


def test_centre_in_the_commune_of_residence_gives_no_travel_costs(app, signed_in):
    profile = signed_in.get("/profil").get_data(as_text=True)
    response = signed_in.post(
        "/profil",
        data={
            "csrf_token": csrf_from(profile),
            "family_commune": "Alençon",
            "admin_commune": "SAINT-LO",
            "vehicle_cv": "5",
        },
    )
    assert response.status_code == 303
    html = plain(signed_in.get("/missions/621/deplacement").get_data(as_text=True))
    assert "Pas de frais : le centre d'examen est à ALENCON, votre commune de résidence." in html
    assert "<table" not in html
    assert post_leg(app, signed_in, **LEG_621).status_code == 303  # a leg may still be kept…
    refused = post_expenses(app, signed_in, **{LUNCH_621: "autre"})
    assert refused.status_code == 409  # …but there is nothing to claim


def test_the_leg_of_mission_621_is_entered_exactly_as_written(app, signed_in):
    response = post_leg(app, signed_in, **LEG_621)
    assert response.status_code == 303
    stored = claim_of(app, 621)
    assert response.location == f"/missions/621/deplacement#leg-{stored['leg_ids'][0]}"
    assert stored["legs"] == [
        ("02/12/2022 07:00", "ST LO", "02/12/2022 18:00", "ALENCON CEDEX", "voiture", 150, None)
    ]
    assert stored["version"] == 2
    html = plain(signed_in.get(response.location).get_data(as_text=True))
    assert "Trajet enregistré." in html
    row = html[html.index(f'<tr id="leg-{stored["leg_ids"][0]}"') :]
    row = row[: row.index("</tr>")]
    for cell in ("02/12/2022", "07:00", "ST LO", "18:00", "ALENCON CEDEX", "150 km"):
        assert f">{cell}<" in row
    assert "Voiture personnelle" in row


def test_the_date_picker_format_is_accepted_too(app, signed_in):
    leg = {**LEG_621, "departure_date": "2022-12-02", "arrival_date": "2022-12-02"}
    assert post_leg(app, signed_in, **leg).status_code == 303
    assert claim_of(app, 621)["legs"][0][0] == "02/12/2022 07:00"


@pytest.mark.parametrize("typed", ["25,40", "25.40", "25,4", " 25,40 € "])
def test_fares_typed_with_a_comma_or_a_point(app, signed_in, typed):
    leg = {**LEG_621, "mode": "train", "km": "", "fare": typed}
    assert post_leg(app, signed_in, **leg).status_code == 303
    assert claim_of(app, 621)["legs"][0][5:] == (None, 2540)
    html = plain(signed_in.get("/missions/621/deplacement").get_data(as_text=True))
    assert ">25,40 €<" in html


def test_only_what_the_mode_is_paid_on_is_kept(app, signed_in):
    assert post_leg(app, signed_in, **{**LEG_621, "fare": "trente"}).status_code == 303
    assert claim_of(app, 621)["legs"][0][5:] == (150, None)
    train = {**LEG_621, "mode": "train", "km": "12,5", "fare": "30"}
    leg_id = claim_of(app, 621)["leg_ids"][0]
    assert post_leg(app, signed_in, leg_id=leg_id, **train).status_code == 303
    assert claim_of(app, 621)["legs"][0][5:] == (None, 3000)


# --- Amounts -------------------------------------------------------------------------------------


def amounts(client, number=621) -> str:
    response = client.get(f"/missions/{number}/deplacement/montants", headers=HX)
    assert response.status_code == 200
    return plain(response.get_data(as_text=True))


def test_amounts_of_mission_621_at_the_2022_rates_with_their_reasons(app, signed_in):
    add_621(app, signed_in)
    before = amounts(signed_in)
    assert "Indiquez comment vous avez pris le déjeuner du 02/12/2022" in before
    assert f'href="/missions/621/deplacement#{LUNCH_621}"' in before
    response = post_expenses(app, signed_in, **{LUNCH_621: "autre"})
    assert response.status_code == 303
    assert response.location == "/missions/621/deplacement#frais"
    html = amounts(signed_in)
    assert (
        "Déjeuner du 02/12/2022 — absence de 07:00 à 18:00 couvrant 11:00–14:00 — 17,50 €" in html
    )
    assert "150 km × 0,32 € = 48,00 € (5 CV)" in html
    assert "Total des frais de déplacement : <strong>65,50 €</strong>" in html
    assert "À compléter" not in html
    # Meals need no receipt in 2022, nor does mileage.
    assert "Aucune pièce justificative n'est demandée" in html
    recap = plain(signed_in.get("/missions/621/recapitulatif").get_data(as_text=True))
    assert 'Indemnités kilométriques <span class="amounts__subtotal">48,00 €</span>' in recap
    assert 'Repas <span class="amounts__subtotal">17,50 €</span>' in recap
    assert "02/12/2022 07:00 ST LO → 02/12/2022 18:00 ALENCON CEDEX" in recap
    assert "Total estimé (rémunération et déplacement) : <strong>65,50 €</strong>" in recap


def test_administrative_restaurant_is_paid_half(app, signed_in):
    add_621(app, signed_in)
    assert post_expenses(app, signed_in, **{LUNCH_621: "administratif"}).status_code == 303
    assert "restaurant administratif, moitié de 17,50 € : 8,75 €" in amounts(signed_in)
    assert claim_of(app, 621)["expenses"] == [
        ("meal", "2022-12-02", "dejeuner", "administratif", None, None)
    ]


def test_2024_mission_gets_the_2024_meal_rate_and_needs_meal_receipts(app, signed_in):
    set_travel_status(app, 815, "non_valide")
    assert (
        post_expenses(app, signed_in, 815, **{"meal-2024-06-12-dejeuner": "autre"}).status_code
        == 303
    )
    html = amounts(signed_in, 815)
    assert (
        "Déjeuner du 12/06/2024 — absence de 06:45 à 14:10 couvrant 11:00–14:00 — 20,00 €" in html
    )
    # The demo's receipt of that lunch is still linked to it.
    tab = plain(signed_in.get("/missions/815/deplacement").get_data(as_text=True))
    assert re.search(
        r'id="receipt-meal-2024-06-12-dejeuner"[^>]*>\s*Justificatif de repas — '
        r"Déjeuner du 12/06/2024 —\s*<strong>fourni</strong>",
        tab,
    )
    assert "Toutes les pièces justificatives demandées sont fournies." in html


def test_mileage_counts_the_km_already_claimed_that_year(app, signed_in):
    # Mission 1010 (20/06/2025, validated by the DEC) claimed 124 km by car.
    set_travel_status(app, 1004, "non_valide")
    leg = {
        "departure_date": "03/07/2025",
        "departure_time": "07:00",
        "departure_city": "ORLEANS",
        "arrival_date": "03/07/2025",
        "arrival_time": "07:40",
        "arrival_city": "ORLEANS LA SOURCE",
        "mode": "voiture",
        "km": "20",
    }
    assert post_leg(app, signed_in, 1004, **leg).status_code == 303
    assert "20 km × 0,32 € = 6,40 € (5 CV, 124 km déjà déclarés en 2025)" in amounts(
        signed_in, 1004
    )


def test_nights_and_other_expenses_with_their_receipts(app, signed_in):
    set_travel_status(app, 1004, "non_valide")
    html = plain(signed_in.get("/missions/1004/deplacement").get_data(as_text=True))
    assert "Nuit du 02/07/2025 au 03/07/2025" in html and "Nuit du 03/07/2025 au 04/07/2025" in html
    fields = {
        "nights-0-night": "2025-07-02",
        "nights-0-commune": "Orléans",
        "nights-0-paid": "95,00",
        "nights-1-night": "2025-07-03",
        "nights-1-commune": "Orléans",
        "nights-1-paid": "",
        "expenses-0-kind": "parking",
        "expenses-0-detail": "Gare de Saint-Lô",
        "expenses-0-amount": "12",
    }
    assert post_expenses(app, signed_in, 1004, **fields).status_code == 303
    html = amounts(signed_in, 1004)
    assert "95,00 € payés, plafond autres communes 90,00 € : 90,00 €" in html
    assert "Indiquez le montant payé pour la nuitée du 03/07/2025 au 04/07/2025" in html
    assert 'href="/missions/1004/deplacement#night-2025-07-03"' in html
    assert "Parking — Gare de Saint-Lô — montant payé : 12,00 €" in html
    # Still to provide: the parking ticket; the demo's hotel invoice covers the first night.
    assert "<h4>Pièces justificatives à fournir</h4>" in html
    assert "Ticket de parking de 12,00 € — Gare de Saint-Lô" in html
    assert "Facture d'hôtel — Nuitée du 02/07/2025 au 03/07/2025 à Orléans" not in html
    tab = plain(signed_in.get("/missions/1004/deplacement").get_data(as_text=True))
    assert "Facture d'hôtel — Nuitée du 02/07/2025 au 03/07/2025 à Orléans —" in tab
    stored = claim_of(app, 1004)["expenses"]
    assert ("night", "2025-07-03", None, None, "Orléans", None) in stored
    assert ("parking", None, None, None, None, 1200) in stored


# --- Checks: 422 with the message in the row and the input kept ----------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"arrival_time": "06:00"}, "arrival_time", "L'arrivée doit être après le départ."),
        (
            {"departure_date": "05/12/2022", "arrival_date": "05/12/2022"},
            "departure_date",
            "Le trajet doit avoir lieu entre le 01/12/2022 et le 03/12/2022.",
        ),
        (
            {"arrival_date": "04/12/2022"},
            "arrival_date",
            "Le trajet doit avoir lieu entre le 01/12/2022 et le 03/12/2022.",
        ),
        ({"departure_city": "  "}, "departure_city", "Saisissez la ville de départ."),
        ({"arrival_city": ""}, "arrival_city", "Saisissez la ville d'arrivée."),
        ({"km": "0"}, "km", "Le nombre de kilomètres doit être compris entre 1 et 2 000."),
        ({"km": "2001"}, "km", "Le nombre de kilomètres doit être compris entre 1 et 2 000."),
        ({"km": ""}, "km", "Saisissez le nombre de kilomètres parcourus."),
        ({"km": "12,5"}, "km", "Saisissez un nombre entier"),
        (
            {"mode": "train", "fare": "2000,01"},
            "fare",
            "Le prix doit être compris entre 0 et 2 000,00 €.",
        ),
        (
            {"mode": "train", "fare": "-1"},
            "fare",
            "Le prix doit être compris entre 0 et 2 000,00 €",
        ),
        ({"mode": "train", "fare": "douze"}, "fare", "Saisissez un montant en euros"),
        ({"mode": "train", "fare": "1,234"}, "fare", "au plus deux chiffres après la virgule"),
        ({"mode": "train", "fare": ""}, "fare", "Saisissez le prix payé"),
        ({"mode": ""}, "mode", "Choisissez un mode de transport."),
        ({"mode": "trottinette"}, "mode", ""),
        ({"departure_date": "31/02/2022"}, "departure_date", "Saisissez une date au format"),
        ({"departure_date": ""}, "departure_date", "Saisissez la date de départ."),
        ({"arrival_time": "25:00"}, "arrival_time", "Saisissez une heure au format 09:00."),
        ({"departure_time": ""}, "departure_time", "Saisissez l'heure de départ."),
    ],
)
def test_bad_leg_is_refused_in_the_row_with_what_was_typed(app, signed_in, fields, field, message):
    typed = {**LEG_621, **fields}
    response = post_leg(app, signed_in, headers=HX, **typed)
    assert response.status_code == 422
    html = plain(response.get_data(as_text=True))
    assert html.lstrip().startswith('<tr id="leg-new-')
    assert message in html
    assert re.search(rf'<[^>]*aria-invalid="true"[^>]*id="leg-new-[0-9a-f]+-{field}"', html) or (
        re.search(rf'id="leg-new-[0-9a-f]+-{field}"[^>]*aria-invalid="true"', html)
    )
    for name, value in typed.items():
        if value.strip() and name != "mode":
            assert f'value="{value}"' in html, name
    assert claim_of(app, 621)["legs"] == []
    assert claim_of(app, 621)["version"] == 1


def test_bad_leg_without_javascript_is_a_page_of_its_own(app, signed_in):
    response = post_leg(app, signed_in, **{**LEG_621, "arrival_time": "06:00"})
    assert response.status_code == 422
    html = plain(response.get_data(as_text=True))
    assert "<html" in html and "<h1>Ajouter un trajet</h1>" in html
    assert "L'arrivée doit être après le départ." in html


def test_overlapping_legs_are_refused(app, signed_in):
    add_621(app, signed_in)
    overlap = {**RETURN_621, "departure_time": "17:00"}
    response = post_leg(app, signed_in, headers=HX, **overlap)
    assert response.status_code == 422
    html = plain(response.get_data(as_text=True))
    assert "Ce trajet chevauche celui du 02/12/2022 07:00–18:00." in html
    assert re.search(r'aria-invalid="true"[^>]*id="leg-new-[0-9a-f]+-departure_time"', html)
    assert len(claim_of(app, 621)["legs"]) == 1
    # Changing a leg is checked against the others, never against itself.
    leg_id = claim_of(app, 621)["leg_ids"][0]
    changed = post_leg(app, signed_in, leg_id=leg_id, **{**LEG_621, "arrival_time": "18:30"})
    assert changed.status_code == 303


def test_cities_are_compared_without_case_or_accents_but_stored_as_typed(app, signed_in):
    add_621(app, signed_in, LEG_621, {**RETURN_621, "departure_city": "Alençon cedex"})
    assert claim_of(app, 621)["legs"][1][1] == "Alençon cedex"


# --- HTMX: rows swapped in place -----------------------------------------------------------------


def test_new_row_edit_row_save_and_cancel_under_htmx(app, signed_in):
    new = signed_in.get("/missions/621/deplacement/trajets/nouveau", headers=HX)
    html = plain(new.get_data(as_text=True))
    assert new.status_code == 200 and "<html" not in html
    assert re.match(r'\s*<tr id="leg-new-[0-9a-f]{6}" class="legs__row legs__row--edit">', html)
    assert 'value="2022-12-02"' in html and 'value="SAINT-LO"' in html  # a helpful start
    assert 'hx-post="/missions/621/deplacement/trajets/nouveau"' in html
    assert 'hx-get="/missions/621/deplacement/trajets/annuler"' in html

    saved = post_leg(app, signed_in, headers=HX, **LEG_621)
    assert saved.status_code == 200
    assert saved.headers["HX-Trigger"] == "legsChanged"
    leg_id = claim_of(app, 621)["leg_ids"][0]
    row = plain(saved.get_data(as_text=True))
    assert row.lstrip().startswith(f'<tr id="leg-{leg_id}" class="legs__row">')
    assert 'value="2" hx-swap-oob="true"' in row  # the page's version, out of band
    assert 'hx-swap-oob="outerHTML:.claim-version:not(#claim-version)"' in row

    edit = signed_in.get(f"/missions/621/deplacement/trajets/{leg_id}/modifier", headers=HX)
    edit_html = plain(edit.get_data(as_text=True))
    assert edit_html.lstrip().startswith(
        f'<tr id="leg-{leg_id}" class="legs__row legs__row--edit">'
    )
    assert f'id="leg-{leg_id}-departure_city"' in edit_html and 'value="ST LO"' in edit_html
    assert 'name="version" value="2"' in edit_html
    # Focus goes to the first field, and only there.
    assert edit_html.count("autofocus") == 1
    assert re.search(rf'autofocus[^>]*id="leg-{leg_id}-departure_date"', edit_html)

    cancel = signed_in.get(f"/missions/621/deplacement/trajets/{leg_id}", headers=HX)
    assert plain(cancel.get_data(as_text=True)).lstrip().startswith(f'<tr id="leg-{leg_id}"')
    assert "<input" not in cancel.get_data(as_text=True)
    nothing = signed_in.get("/missions/621/deplacement/trajets/annuler", headers=HX)
    assert nothing.status_code == 200 and nothing.get_data(as_text=True).strip() == ""

    changed = post_leg(app, signed_in, leg_id=leg_id, headers=HX, **{**LEG_621, "km": "160"})
    assert changed.status_code == 200 and ">160 km<" in changed.get_data(as_text=True)
    assert claim_of(app, 621)["legs"][0][5] == 160


def test_without_javascript_every_action_is_a_small_page_then_back_to_the_tab(app, signed_in):
    [leg_id] = add_621(app, signed_in)
    for path, heading in [
        ("nouveau", "Ajouter un trajet"),
        (f"{leg_id}/modifier", "Modifier le trajet"),
        (f"{leg_id}/retour", "Ajouter le retour"),
        (f"{leg_id}/supprimer", "Supprimer un trajet"),
    ]:
        page = plain(
            signed_in.get(f"/missions/621/deplacement/trajets/{path}").get_data(as_text=True)
        )
        assert f"<h1>{heading}</h1>" in page and "<html" in page
        assert 'href="/missions/621/deplacement#trajets"' in page
    back = signed_in.get(f"/missions/621/deplacement/trajets/{leg_id}")
    assert back.status_code == 303 and back.location == f"/missions/621/deplacement#leg-{leg_id}"


def test_add_the_return_is_prefilled_with_the_reverse_leg(app, signed_in):
    [leg_id] = add_621(app, signed_in)
    response = signed_in.get(f"/missions/621/deplacement/trajets/{leg_id}/retour", headers=HX)
    html = plain(response.get_data(as_text=True))
    assert re.match(r'\s*<tr id="leg-new-', html)
    city = re.search(r'id="leg-new-[0-9a-f]+-departure_city"[^>]*value="([^"]*)"', html)
    assert city.group(1) == "ALENCON CEDEX"
    city = re.search(r'id="leg-new-[0-9a-f]+-arrival_city"[^>]*value="([^"]*)"', html)
    assert city.group(1) == "ST LO"
    assert re.search(r'<option value="voiture" selected data-paid-by="km">', html)
    assert 'value="150"' in html
    assert post_leg(app, signed_in, **RETURN_621).status_code == 303
    assert [leg[1] for leg in claim_of(app, 621)["legs"]] == ["ST LO", "ALENCON CEDEX"]


def test_delete_asks_then_removes_the_leg(app, signed_in):
    [leg_id] = add_621(app, signed_in)
    url = f"/missions/621/deplacement/trajets/{leg_id}/supprimer"
    page = plain(signed_in.get(url).get_data(as_text=True))
    assert "Voulez-vous supprimer le trajet 02/12/2022 07:00 ST LO → 02/12/2022 18:00" in page
    response = signed_in.post(url, data={"csrf_token": csrf_from(page), "version": "2"})
    assert response.status_code == 303 and response.location == "/missions/621/deplacement#trajets"
    assert claim_of(app, 621)["legs"] == [] and claim_of(app, 621)["version"] == 3


def test_delete_under_htmx_empties_the_row_and_renews_the_version(app, signed_in):
    [leg_id] = add_621(app, signed_in)
    response = signed_in.post(
        f"/missions/621/deplacement/trajets/{leg_id}/supprimer",
        data={"version": "2"},
        headers={**HX, "X-CSRFToken": token(signed_in)},
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "legsChanged"
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith("<template>") and "<tr" not in body
    assert 'value="3" hx-swap-oob="true"' in body
    assert claim_of(app, 621)["legs"] == []


# --- Expenses: 422 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"expenses-0-kind": "toll", "expenses-0-amount": "2000,50"},
            "expenses-0-amount",
            "Le montant doit être compris entre 0 et 2 000,00 €.",
        ),
        (
            {"expenses-0-kind": "toll", "expenses-0-amount": "-3"},
            "expenses-0-amount",
            "Le montant doit être compris entre 0 et 2 000,00 €.",
        ),
        (
            {"expenses-0-kind": "toll", "expenses-0-amount": "huit"},
            "expenses-0-amount",
            "Saisissez un montant en euros",
        ),
        (
            {"expenses-0-amount": "8,40"},
            "expenses-0-kind",
            "Choisissez la nature de cette dépense.",
        ),
        ({LUNCH_621: "peut-être"}, LUNCH_621, ""),
    ],
)
def test_bad_expense_is_refused_next_to_the_field_and_kept(app, signed_in, fields, field, message):
    add_621(app, signed_in)
    version = claim_of(app, 621)["version"]
    response = post_expenses(app, signed_in, headers=HX, **fields)
    assert response.status_code == 422
    html = plain(response.get_data(as_text=True))
    assert html.lstrip().startswith('<section id="frais"')
    assert message in html
    assert re.search(
        rf'aria-invalid="true"[^>]*id="{field}"|id="{field}"[^>]*aria-invalid="true"'
        rf'|<fieldset id="{field}"',
        html,
    )
    for value in fields.values():
        if value != "peut-être" and value in ("2000,50", "-3", "huit", "8,40"):
            assert f'value="{value}"' in html
    assert claim_of(app, 621)["expenses"] == [] and claim_of(app, 621)["version"] == version


def test_night_paid_without_its_commune(app, signed_in):
    set_travel_status(app, 1004, "non_valide")
    fields = {"nights-0-night": "2025-07-02", "nights-0-commune": "", "nights-0-paid": "80"}
    response = post_expenses(app, signed_in, 1004, **fields)
    assert response.status_code == 422
    html = plain(response.get_data(as_text=True))
    assert "<html" in html  # without JavaScript, the whole tab
    assert "Indiquez la commune de l'hébergement." in html
    assert 'value="80"' in html


def test_expenses_saved_under_htmx_return_the_section_and_announce_it(app, signed_in):
    add_621(app, signed_in)
    response = post_expenses(app, signed_in, headers=HX, **{LUNCH_621: "gratuit"})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "expensesChanged"
    html = plain(response.get_data(as_text=True))
    assert html.lstrip().startswith('<section id="frais"')
    assert re.search(r"Frais enregistrés à \d\d:\d\d", html)
    assert f'id="{LUNCH_621}-0" name="{LUNCH_621}" type="radio" value="gratuit"' in html
    assert 'hx-swap-oob="true"' in html


# --- Locked, stale, someone else's ---------------------------------------------------------------


def test_after_validation_every_change_is_refused_with_409(app, signed_in):
    [leg_id] = add_621(app, signed_in)
    assert post_expenses(app, signed_in, **{LUNCH_621: "autre"}).status_code == 303
    assert validate(app, signed_in).status_code == 303
    before = claim_of(app, 621)
    assert before["travel"] == "valide" and before["travel_amount"] == 6550
    version = before["version"]
    assert post_leg(app, signed_in, version=version, **RETURN_621).status_code == 409
    changed = post_leg(app, signed_in, leg_id=leg_id, version=version, **{**LEG_621, "km": "9"})
    assert changed.status_code == 409
    assert "ne peut plus être modifié" in plain(changed.get_data(as_text=True))
    assert (
        post_expenses(app, signed_in, version=version, **{LUNCH_621: "gratuit"}).status_code == 409
    )
    deleted = signed_in.post(
        f"/missions/621/deplacement/trajets/{leg_id}/supprimer",
        data={"csrf_token": token(signed_in), "version": str(version)},
    )
    assert deleted.status_code == 409
    edit = signed_in.get(f"/missions/621/deplacement/trajets/{leg_id}/modifier", headers=HX)
    assert edit.status_code == 409 and "<input" not in edit.get_data(as_text=True)
    assert claim_of(app, 621) == before
    html = plain(signed_in.get("/missions/621/deplacement").get_data(as_text=True))
    assert "ils ne peuvent plus être modifiés" in html and "/modifier" not in html
    assert "Total des frais de déplacement : <strong>65,50 €</strong>" in html


def test_validated_amounts_do_not_follow_a_later_change_of_profile(app, signed_in):
    add_621(app, signed_in)
    post_expenses(app, signed_in, **{LUNCH_621: "autre"})
    assert validate(app, signed_in).status_code == 303
    with database(app) as db:
        event = db.scalar(
            select(AuditEvent)
            .join(Mission)
            .where(
                Mission.number == 621, AuditEvent.part == "travel", AuditEvent.action == "validate"
            )
        )
        assert event.detail["vehicle_cv"] == 5 and event.detail["amount_cents"] == 6550
        db.execute(update(User).where(User.email == CLAIRE).values(vehicle_cv=8))
        db.commit()
    assert "150 km × 0,32 € = 48,00 € (5 CV)" in amounts(signed_in)


def test_validation_needs_every_meal_described(app, signed_in):
    add_621(app, signed_in)
    response = validate(app, signed_in, part="travel")
    assert response.status_code == 422
    html = plain(response.get_data(as_text=True))
    assert "Indiquez comment vous avez pris le déjeuner du 02/12/2022" in html
    assert f'href="/missions/621/deplacement#{LUNCH_621}"' in html
    assert claim_of(app, 621)["travel"] == "non_valide"


def test_validation_needs_the_horsepower_for_the_car(app, signed_in):
    add_621(app, signed_in)
    post_expenses(app, signed_in, **{LUNCH_621: "autre"})
    with database(app) as db:
        db.execute(update(User).where(User.email == CLAIRE).values(vehicle_cv=None))
        db.commit()
    html = plain(validate(app, signed_in, part="travel").get_data(as_text=True))
    assert "Indiquez la puissance fiscale (CV) de votre véhicule dans votre profil" in html
    assert 'href="/profil?number=621#vehicle_cv"' in html


def test_validation_records_the_travel_transition(app, signed_in):
    add_621(app, signed_in)
    post_expenses(app, signed_in, **{LUNCH_621: "autre"})
    assert validate(app, signed_in).status_code == 303
    with database(app) as db:
        events = db.scalars(
            select(AuditEvent.part).where(AuditEvent.action == "validate").order_by(AuditEvent.id)
        ).all()
    assert events[-2:] == ["pay", "travel"]


def test_stale_leg_form_is_refused_with_both_values(app, signed_in):
    [leg_id] = add_621(app, signed_in)
    # Another tab changed the claim since version 2 was displayed.
    assert post_leg(app, signed_in, leg_id=leg_id, **{**LEG_621, "km": "155"}).status_code == 303
    stale = post_leg(
        app, signed_in, leg_id=leg_id, version=2, headers=HX, **{**LEG_621, "km": "170"}
    )
    assert stale.status_code == 409
    html = plain(stale.get_data(as_text=True))
    assert "Cette mission a été modifiée dans un autre onglet" in html
    assert 'value="170"' in html  # what was typed
    assert "Valeurs enregistrées actuellement :</strong> 02/12/2022 07:00 ST LO" in html
    assert "155 km" in html  # what is stored
    assert 'name="version" value="3"' in html
    assert claim_of(app, 621)["legs"][0][5] == 155
    again = post_leg(app, signed_in, leg_id=leg_id, version=3, **{**LEG_621, "km": "170"})
    assert again.status_code == 303 and claim_of(app, 621)["legs"][0][5] == 170


def test_stale_delete_and_expenses_are_refused(app, signed_in):
    [leg_id] = add_621(app, signed_in)
    deleted = signed_in.post(
        f"/missions/621/deplacement/trajets/{leg_id}/supprimer",
        data={"version": "1"},
        headers={**HX, "X-CSRFToken": token(signed_in)},
    )
    assert deleted.status_code == 409
    body = plain(deleted.get_data(as_text=True))
    assert body.lstrip().startswith(f'<tr id="leg-{leg_id}"')
    assert "modifiée dans un autre onglet" in body and 'value="2" hx-swap-oob="true"' in body
    stale = post_expenses(app, signed_in, version=1, headers=HX, **{LUNCH_621: "autre"})
    assert stale.status_code == 409
    assert 'name="version" value="2"' in stale.get_data(as_text=True)
    assert claim_of(app, 621)["legs"] and claim_of(app, 621)["expenses"] == []


def test_same_second_changes_still_move_the_version(app, signed_in):
    [leg_id] = add_621(app, signed_in)
    for km in ("151", "152", "153"):
        post_leg(app, signed_in, leg_id=leg_id, **{**LEG_621, "km": km})
    assert claim_of(app, 621)["version"] == 5


def test_posted_fields_that_are_not_on_the_form_are_ignored(app, signed_in):
    with database(app) as db:
        other_claim = db.scalar(select(Claim.id).join(Mission).where(Mission.number == 640))
    response = post_leg(
        app,
        signed_in,
        **LEG_621,
        claim_id=str(other_claim),
        id="1",
        fare_cents="99999",
        travel_status="mis_en_paiement",
        travel_amount_cents="999999",
    )
    assert response.status_code == 303
    stored = claim_of(app, 621)
    assert stored["legs"][0][5:] == (150, None)
    assert stored["travel"] == "non_valide" and stored["travel_amount"] is None
    assert claim_of(app, 640)["legs"] == []
    post_expenses(app, signed_in, **{LUNCH_621: "autre", "claim_id": str(other_claim)})
    assert claim_of(app, 640)["expenses"] == []


def test_other_intervenant_gets_404_everywhere(app, client, auth):
    auth.login()
    [leg_id] = add_621(app, client)
    auth.logout()
    auth.login(PAUL)
    paul_token = csrf_from(client.get("/missions").get_data(as_text=True))
    base = "/missions/621/deplacement"
    for url in (
        base,
        f"{base}/frais",
        f"{base}/montants",
        f"{base}/trajets/nouveau",
        f"{base}/trajets/{leg_id}",
        f"{base}/trajets/{leg_id}/modifier",
        f"{base}/trajets/{leg_id}/retour",
        f"{base}/trajets/{leg_id}/supprimer",
    ):
        assert client.get(url, headers=HX).status_code == 404, url
    for url in (
        f"{base}/frais",
        f"{base}/trajets/nouveau",
        f"{base}/trajets/{leg_id}/modifier",
        f"{base}/trajets/{leg_id}/supprimer",
    ):
        data = {"csrf_token": paul_token, "version": "2", **LEG_621}
        assert client.post(url, data=data).status_code == 404, url
    # Paul's own mission, with Claire's leg in the address: 404 too.
    url = f"/missions/640/deplacement/trajets/{leg_id}/modifier"
    assert client.get(url).status_code == 404
    assert (
        client.post(url, data={"csrf_token": paul_token, "version": "1", **LEG_621}).status_code
        == 404
    )
    assert len(claim_of(app, 621)["legs"]) == 1


# --- Budgets: fragment sizes and SQL queries -----------------------------------------------------


def test_fragments_fit_in_6_kb(app, signed_in):
    leg_ids = add_621(app, signed_in, LEG_621, RETURN_621)
    post_expenses(app, signed_in, **{LUNCH_621: "autre"})
    urls = [
        "/missions/621/deplacement",
        "/missions/621/deplacement/frais",
        "/missions/621/deplacement/montants",
        "/missions/621/deplacement/trajets/nouveau",
        f"/missions/621/deplacement/trajets/{leg_ids[0]}",
        f"/missions/621/deplacement/trajets/{leg_ids[0]}/modifier",
        f"/missions/621/deplacement/trajets/{leg_ids[0]}/retour",
        "/missions/621/recapitulatif",
    ]
    sizes = {}
    for url in urls:
        # The budget is what travels: compressed bytes, as browsers ask for them.
        response = signed_in.get(url, headers={**HX, "Accept-Encoding": "br, gzip"})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "br"
        body = response.get_data()
        assert b"<html" not in brotli.decompress(body)
        sizes[url] = len(body)
    assert max(sizes.values()) < 6 * KB, sizes
    saved = post_leg(app, signed_in, leg_id=leg_ids[0], headers=HX, **LEG_621)
    assert len(saved.get_data()) < 6 * KB


def test_tab_fragment_with_many_legs_fits_in_6_kb_on_the_wire(app, signed_in):
    for hour in range(6, 22, 2):
        leg = {**LEG_621, "departure_time": f"{hour:02d}:00", "arrival_time": f"{hour:02d}:50"}
        assert post_leg(app, signed_in, **leg).status_code == 303
    response = signed_in.get("/missions/621/deplacement", headers=HX)
    assert response.get_data(as_text=True).count('class="legs__row"') == 8
    assert len(gzip.compress(response.get_data())) < 6 * KB


def queries_for(app, action) -> int:
    with count_queries(app) as queries:
        action()
    return len(queries)


def test_queries_do_not_grow_with_the_number_of_legs(app, signed_in):
    def page():
        signed_in.get("/missions/621/deplacement")

    def fragments():
        signed_in.get("/missions/621/deplacement/montants", headers=HX)
        signed_in.get("/missions/621/deplacement/frais", headers=HX)
        signed_in.get("/missions/621/recapitulatif", headers=HX)

    first = post_leg(app, signed_in, **LEG_621)
    assert first.status_code == 303
    counts = [queries_for(app, page), queries_for(app, fragments)]
    with count_queries(app) as save_one:
        post_leg(
            app, signed_in, **{**RETURN_621, "departure_time": "18:10", "arrival_time": "18:20"}
        )
    for hour in range(19, 23):
        leg = {**RETURN_621, "departure_time": f"{hour}:00", "arrival_time": f"{hour}:30"}
        assert post_leg(app, signed_in, **leg).status_code == 303
    assert len(claim_of(app, 621)["legs"]) == 6
    assert [queries_for(app, page), queries_for(app, fragments)] == counts
    with count_queries(app) as save_again:
        post_leg(
            app, signed_in, **{**RETURN_621, "departure_time": "23:00", "arrival_time": "23:30"}
        )
    assert len(save_again) == len(save_one)
    # 9, and one for the dossier financier's notice and blocker (issue 15).
    assert counts[0] <= 10, counts
    data = {"csrf_token": token(signed_in), "version": str(claim_of(app, 621)["version"])}
    with count_queries(app) as expenses:
        response = signed_in.post(
            "/missions/621/deplacement/frais", data={**data, LUNCH_621: "autre"}
        )
    assert response.status_code == 303
    assert len(expenses) <= 12, expenses


def test_profile_is_shown_saved_and_checked(app, signed_in):
    html = plain(signed_in.get("/profil?number=621").get_data(as_text=True))
    assert 'value="SAINT-LO"' in html and 'value="5"' in html
    assert 'href="/missions/621/deplacement"' in html
    bad = signed_in.post(
        "/profil",
        data={
            "csrf_token": csrf_from(html),
            "family_commune": "Caen",
            "admin_commune": "",
            "vehicle_cv": "0",
            "role": "admin",
            "email": "pirate@example.fr",
        },
    )
    assert bad.status_code == 422
    page = plain(bad.get_data(as_text=True))
    assert "Saisissez un nombre entre 1 et 50." in page and 'value="Caen"' in page
    good = signed_in.post(
        "/profil",
        data={
            "csrf_token": csrf_from(html),
            "family_commune": " Caen ",
            "admin_commune": "Hérouville-Saint-Clair",
            "vehicle_cv": "7",
            "role": "admin",
            "email": "pirate@example.fr",
        },
    )
    assert good.status_code == 303
    with database(app) as db:
        user = db.scalar(select(User).where(User.email == CLAIRE))
        assert (user.family_commune, user.admin_commune, user.vehicle_cv, user.role) == (
            "Caen",
            "Hérouville-Saint-Clair",
            7,
            "intervenant",
        )
        assert (
            db.scalar(select(func.count()).select_from(User).where(User.email.like("pirate%"))) == 0
        )


def test_expense_rows_are_replaced_not_accumulated(app, signed_in):
    add_621(app, signed_in)
    for taken in ("autre", "gratuit", "administratif"):
        post_expenses(app, signed_in, **{LUNCH_621: taken})
    claim_id = claim_of(app, 621)["id"]
    with database(app) as db:
        count = select(func.count()).select_from(Expense).where(Expense.claim_id == claim_id)
        assert db.scalar(count) == 1


@pytest.mark.parametrize("number", [815, 1004, 1010])
def test_demo_claims_show_the_amounts_they_were_validated_with(app, signed_in, number):
    html = amounts(signed_in, number)
    cents = claim_of(app, number)["travel_amount"]
    total = f"{cents // 100},{cents % 100:02d} €"
    assert f"Total des frais de déplacement : <strong>{total}</strong>" in html
