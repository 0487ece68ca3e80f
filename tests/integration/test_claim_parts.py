"""Each part on its own, no silent loss, every error at once (issue 10, items 4, 6 and 7),
without JavaScript (plain posts) and under HTMX."""

from __future__ import annotations

import re

import pytest

from tests.builders import (
    HX,
    LEG_621,
    LUNCH_621,
    PAY_621,
    TRAIN_621,
    claim_of,
    documents,
    post_expenses,
    post_leg,
    post_pay,
    pypdf_pdf,
    send,
    token,
)
from tests.conftest import CLAIRE, AuthActions, plain


@pytest.fixture
def claire(client):
    AuthActions(client).login(CLAIRE)
    return client


def summary_links(html: str) -> list[tuple[str, str]]:
    """The error summary at the top of the page: (href, text) of each of its links."""
    start = html.index('class="error-summary"')
    block = html[start : html.index("</div>", start)]
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', block)


# --- 4. Each part on its own -------------------------------------------------------------------


def test_a_missing_travel_receipt_never_blocks_the_pay_part(app, claire):
    post_leg(app, claire, **TRAIN_621)  # a ticket to provide, never sent
    post_expenses(app, claire, **{LUNCH_621: "autre"})
    version = str(claim_of(app, 621)["version"])
    response = post_pay(claire, action="validate", certify="y", version=version, **PAY_621)
    assert response.status_code == 303
    assert (claim_of(app, 621)["pay"], claim_of(app, 621)["travel"]) == ("valide", "non_valide")
    # The travel part says what it still waits for, on the Récapitulatif.
    recap = plain(claire.get("/missions/621/recapitulatif").get_data(as_text=True))
    assert "Ajoutez le justificatif : Billet — Train ST LO → ALENCON CEDEX" in recap


def test_missing_pay_entries_never_block_the_travel_part(app, claire):
    post_leg(app, claire, **LEG_621)
    post_expenses(app, claire, **{LUNCH_621: "autre"})
    html = claire.get("/missions/621/deplacement").get_data(as_text=True)
    version = re.search(r'class="claim-version" name="version" value="(\d+)"', html).group(1)
    response = claire.post(
        "/missions/621/valider",
        data={"csrf_token": token(claire), "version": version, "certify": "y", "part": "travel"},
    )
    assert response.status_code == 303
    assert (claim_of(app, 621)["travel"], claim_of(app, 621)["pay"]) == ("valide", "non_valide")


def test_the_recapitulatif_validates_the_ready_part_and_says_what_the_other_waits_for(app, claire):
    post_leg(app, claire, **TRAIN_621)
    post_expenses(app, claire, **{LUNCH_621: "autre"})
    post_pay(claire, version=str(claim_of(app, 621)["version"]), **PAY_621)
    recap = plain(claire.get("/missions/621/recapitulatif").get_data(as_text=True))
    assert "Seront validés : les frais de rémunération." in recap
    response = claire.post(
        "/missions/621/valider",
        data={
            "csrf_token": token(claire),
            "version": str(claim_of(app, 621)["version"]),
            "certify": "y",
        },
    )
    assert response.status_code == 303
    page = plain(claire.get(response.location).get_data(as_text=True))
    assert "Vos frais de rémunération sont validés et transmis à la DEC." in page
    assert "Frais de déplacement non validés, il manque encore : Ajoutez le justificatif" in page
    assert (claim_of(app, 621)["pay"], claim_of(app, 621)["travel"]) == ("valide", "non_valide")


# --- 6. No silent loss -----------------------------------------------------------------------


@pytest.mark.parametrize("hx", [False, True])
def test_mission_not_done_with_travel_entries_asks_then_keeps_them(app, claire, hx):
    post_leg(app, claire, **LEG_621)
    post_expenses(app, claire, **{LUNCH_621: "autre"})
    send(claire, ("billet.pdf", pypdf_pdf()))
    headers = HX if hx else {}
    version = str(claim_of(app, 621)["version"])
    fields = {"done": "non", "hours-0-day": "2022-12-02"}
    asked = post_pay(claire, version=version, headers=headers, **fields)
    assert asked.status_code == 422
    html = plain(asked.get_data(as_text=True))
    assert (
        "Vous avez saisi des frais de déplacement (1 trajet, 1 frais et 1 document) : si la "
        "mission n'a pas été effectuée, ils ne seront pas remboursés." in html
    )
    assert 'name="confirm_not_done"' in html
    assert claim_of(app, 621)["done"] is None  # nothing saved before confirming

    confirmed = post_pay(claire, version=version, headers=headers, confirm_not_done="y", **fields)
    assert confirmed.status_code == (200 if hx else 303)
    stored = claim_of(app, 621)
    assert stored["done"] is False
    # Kept: the travel tab says so, and a later "Oui" brings them back.
    assert len(stored["legs"]) == 1 and len(stored["expenses"]) == 1 and len(documents(app)) == 1
    tab = plain(claire.get("/missions/621/deplacement").get_data(as_text=True))
    assert "Mission non effectuée : aucun frais de déplacement n'est remboursé." in tab
    assert "Vos trajets et frais saisis sont conservés" in tab
    post_pay(claire, version=str(stored["version"]), **PAY_621)
    tab = plain(claire.get("/missions/621/deplacement").get_data(as_text=True))
    assert "ST LO" in tab and "150 km × 0,32 € = 48,00 € (5 CV)" in tab


def test_not_done_is_not_asked_again_nor_without_travel_entries(app, claire):
    response = post_pay(claire, done="non", **{"hours-0-day": "2022-12-02"})
    assert response.status_code == 303  # nothing would be lost: no question
    assert claim_of(app, 621)["done"] is False


def test_validating_not_done_keeps_the_entries(app, claire):
    post_leg(app, claire, **LEG_621)
    response = post_pay(
        claire,
        version=str(claim_of(app, 621)["version"]),
        action="validate",
        certify="y",
        confirm_not_done="y",
        done="non",
        **{"hours-0-day": "2022-12-02"},
    )
    assert response.status_code == 303
    stored = claim_of(app, 621)
    assert (stored["pay"], stored["travel"]) == ("non_effectuee", "non_effectuee")
    assert len(stored["legs"]) == 1


# --- 7. Every error at once, in view -----------------------------------------------------------


def test_a_leg_form_with_several_bad_fields_shows_all_of_them_first_thing(app, claire):
    bad = {
        **LEG_621,
        "departure_city": "",
        "arrival_time": "06:00",  # before the departure
        "km": "0",
    }
    response = post_leg(app, claire, **bad)
    assert response.status_code == 422
    html = plain(response.get_data(as_text=True))
    links = summary_links(html)
    texts = [text for _href, text in links]
    assert "Ville de départ : Saisissez la ville de départ." in texts
    assert "Heure d'arrivée : L'arrivée doit être après le départ." in texts
    assert "Kilomètres parcourus : Le nombre de kilomètres doit être compris entre 1 et 2 000." in (
        texts
    )
    # The summary comes first in the page (before the form), each link to its field.
    assert html.index('class="error-summary"') < html.index('class="leg-form"')
    for href, _text in links:
        assert f'id="{href[1:]}"' in html
    # Under HTMX the row shows the same messages beside their fields, all at once.
    row = plain(post_leg(app, claire, headers=HX, **bad).get_data(as_text=True))
    assert row.count('class="field__error"') == 3 and "error-summary" not in row


def test_a_pay_form_with_several_bad_fields_shows_all_of_them(app, claire):
    fields = {
        "done": "oui",
        "candidates": "12,5",
        "hours-0-day": "2022-12-02",
        "hours-0-start": "14:00",
        "hours-0-end": "09:00",
    }
    response = post_pay(claire, **fields)
    assert response.status_code == 422
    texts = [text for _href, text in summary_links(plain(response.get_data(as_text=True)))]
    assert texts == [
        "Nombre de candidats examinés : Saisissez un nombre entier, sans virgule (par exemple 40).",
        "Fin : L'heure de fin doit être après l'heure de début.",
    ]


def test_a_refused_upload_without_javascript_lands_on_its_message(app, claire):
    response = send(claire, ("virus.exe", b"MZ"), hx=False)
    assert response.status_code == 303
    assert response.location.endswith("#pieces-messages")
    html = plain(claire.get(response.location).get_data(as_text=True))
    section = html[html.index('id="pieces-messages"') :]
    assert "« virus.exe » n'a pas été enregistré : Format non accepté" in section.split("</div>")[0]
    # Not at the top of the page, 3 000 px away from the form.
    alerts = html[html.index('id="alerts"') : html.index("</div>", html.index('id="alerts"'))]
    assert "virus.exe" not in alerts
