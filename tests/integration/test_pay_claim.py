"""The pay part of a claim: entering, estimating, saving, validating, and every refusal."""

import re
import threading

import pytest
from sqlalchemy import select

from imagin.models import Mission
from tests.builders import PAY_621, claim_of, post_pay
from tests.conftest import PAUL, count_queries, csrf_from, database, plain

MISSION_621 = PAY_621


def test_pay_tab_asks_what_the_mission_type_needs(signed_in):
    oral = plain(signed_in.get("/missions/621/remuneration").get_data(as_text=True))
    assert "Mission effectuée ?" in oral
    assert "Nombre de candidats examinés" in oral and 'name="hours-0-start"' in oral
    assert "Nombre de copies corrigées" not in oral
    copies = plain(signed_in.get("/missions/1120/remuneration").get_data(as_text=True))
    assert "Nombre de copies corrigées" in copies and "hours-0-start" not in copies


def test_not_remunerated_exam_asks_nothing(signed_in):
    html = plain(signed_in.get("/missions/903/remuneration").get_data(as_text=True))
    assert "Pas de frais" in html
    assert '<form id="pay-form"' not in html


def test_live_estimate_fragment_shows_the_formula(signed_in):
    query = "&".join(f"{k}={v}" for k, v in MISSION_621.items())
    response = signed_in.get(
        f"/missions/621/remuneration/estimation?{query}", headers={"HX-Request": "true"}
    )
    html = plain(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "3 h 30 × 9,60 € = 33,60 €" in html
    assert "Total des horaires : <strong>3 h 30</strong>" in html
    assert "<html" not in html
    assert len(response.get_data()) < 6 * 1024


def test_estimate_of_copies(signed_in):
    html = plain(
        signed_in.get("/missions/1120/remuneration/estimation?done=oui&copies=40").get_data(
            as_text=True
        )
    )
    assert "40 copies × 1,73 € = 69,20 €" in html


def test_save_keeps_entries_and_says_when(app, signed_in):
    response = post_pay(signed_in, **MISSION_621)
    assert response.status_code == 303
    assert response.location == "/missions/621/remuneration"
    html = plain(signed_in.get(response.location).get_data(as_text=True))
    assert re.search(r"Enregistré à \d\d:\d\d", html)
    assert 'value="12:30"' in html and 'value="8"' in html
    assert "3 h 30 × 9,60 € = 33,60 €" in html
    stored = claim_of(app, 621)
    assert stored["done"] is True and stored["candidates"] == 8
    assert stored["hours"] == [("2022-12-02", "09:00", "12:30")]
    assert stored["pay"] == "non_valide" and stored["version"] == 2


def test_htmx_save_returns_the_tab_fragment(app, signed_in):
    response = post_pay(signed_in, headers={"HX-Request": "true"}, **MISSION_621)
    assert response.status_code == 200
    html = plain(response.get_data(as_text=True))
    assert html.lstrip().startswith('<div id="mission-tabs"')
    assert re.search(r"Enregistré à \d\d:\d\d", html)
    assert 'name="version" type="hidden" value="2"' in html
    assert len(response.get_data()) < 6 * 1024


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"candidates": "-1"}, "candidates", "Saisissez un nombre entre 0 et 500."),
        ({"candidates": "abc"}, "candidates", "Saisissez un nombre entier"),
        ({"candidates": "3,5"}, "candidates", "Saisissez un nombre entier"),
        ({"candidates": "100000"}, "candidates", "Saisissez un nombre entre 0 et 500."),
        (
            {"hours-0-end": "08:00"},
            "hours-0-end",
            "L'heure de fin doit être après l'heure de début.",
        ),
        ({"hours-0-end": ""}, "hours-0-end", "Saisissez l'heure de début et l'heure de fin."),
        ({"hours-0-start": "25:00"}, "hours-0-start", "Saisissez une heure au format 09:00."),
        ({"hours-0-day": "2022-12-03"}, "hours-0-day", "n'est pas un jour de la mission."),
        ({"hours-0-start": "00:00", "hours-0-end": "23:00"}, "hours-0-end", "Pas plus de 12 h"),
        ({"done": "peut-être"}, "done", ""),
    ],
)
def test_bad_input_is_explained_next_to_the_field_and_kept(app, signed_in, fields, field, message):
    response = post_pay(signed_in, **{**MISSION_621, **fields})
    assert response.status_code == 422
    html = plain(response.get_data(as_text=True))
    assert message in html
    assert (
        re.search(
            rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"'
            rf'|<fieldset id="{field}"',
            html,
        )
        or field == "hours-0-day"
    )
    for value in fields.values():
        if value and field != "hours-0-day":
            assert f'value="{value}"' in html or value == "peut-être"
    assert claim_of(app, 621)["version"] == 1  # nothing saved


def test_overlapping_lines_sent_by_hand_are_refused(app, signed_in):
    response = post_pay(
        signed_in,
        **MISSION_621,
        **{"hours-1-day": "2022-12-02", "hours-1-start": "12:00", "hours-1-end": "13:00"},
    )
    assert response.status_code == 422
    assert "chevauchent ceux de 09:00–12:30" in plain(response.get_data(as_text=True))


def test_posted_fields_that_are_not_on_the_form_are_ignored(app, signed_in):
    response = post_pay(
        signed_in,
        **MISSION_621,
        pay_status="mis_en_paiement",
        intervenant_id="2",
        pay_amount_cents="999999",
        mission_id="5",
        version_id="9",
    )
    assert response.status_code == 303
    stored = claim_of(app, 621)
    assert stored["pay"] == "non_valide" and stored["amount"] is None
    with database(app) as db:
        assert db.scalar(select(Mission.intervenant_id).where(Mission.number == 621)) == 1


def test_stale_form_is_refused_and_both_values_are_shown(app, signed_in):
    assert post_pay(signed_in, **MISSION_621).status_code == 303
    stale = post_pay(signed_in, **{**MISSION_621, "candidates": "12"}, version="1")
    assert stale.status_code == 409
    html = plain(stale.get_data(as_text=True))
    assert "Cette mission a été modifiée dans un autre onglet" in html
    assert 'value="12"' in html  # what the user typed
    assert "Candidats examinés</dt><dd>8</dd>" in html  # what is stored
    assert 'name="version" type="hidden" value="2"' in html
    assert claim_of(app, 621)["candidates"] == 8
    # Saving again from that page is a deliberate overwrite.
    assert (
        post_pay(signed_in, **{**MISSION_621, "candidates": "12"}, version="2").status_code == 303
    )
    assert claim_of(app, 621)["candidates"] == 12


def test_validate_needs_the_certification(app, signed_in):
    response = post_pay(signed_in, action="validate", **MISSION_621)
    assert response.status_code == 422
    assert "Cochez cette case pour certifier" in plain(response.get_data(as_text=True))
    assert claim_of(app, 621)["pay"] == "non_valide"


def test_validate_lists_what_is_missing_with_links(app, signed_in):
    response = post_pay(signed_in, action="validate", certify="y", done="oui")
    assert response.status_code == 422
    html = plain(response.get_data(as_text=True))
    assert "Saisissez le nombre de candidats examinés" in html
    assert "Saisissez vos horaires du 02/12/2022" in html
    assert 'href="/missions/621/remuneration#hours"' in html
    # What was typed is saved all the same: only the validation waits.
    assert "Vos saisies sont enregistrées, mais la validation attend encore" in html
    assert (claim_of(app, 621)["pay"], claim_of(app, 621)["done"]) == ("non_valide", True)
    recap = plain(signed_in.get("/missions/621/recapitulatif").get_data(as_text=True))
    assert "Saisissez le nombre de candidats examinés" in recap
    assert 'href="/missions/621/remuneration#candidates"' in recap


def test_validate_from_the_pay_tab_validates_the_pay_part_alone(app, signed_in):
    response = post_pay(signed_in, action="validate", certify="y", **MISSION_621)
    assert response.status_code == 303
    stored = claim_of(app, 621)
    # Each part on its own: the travel part still waits for the intervenant.
    assert (stored["pay"], stored["travel"]) == ("valide", "non_valide")
    assert stored["amount"] == 3360
    assert stored["events"] == 1
    html = plain(signed_in.get(response.location).get_data(as_text=True))
    assert "Vos frais de rémunération sont validés et transmis à la DEC." in html
    assert 'name="candidates"' not in html and "ils ne peuvent plus être modifiés" in html
    assert "3 h 30 × 9,60 € = 33,60 €" in html
    listing = plain(signed_in.get("/missions").get_data(as_text=True))
    row = listing[listing.index('aria-label="Mission N° 621"') :]
    assert row[: row.index("</tr>")].count(">Validé<") == 1
    suivi = plain(signed_in.get("/missions/621/suivi").get_data(as_text=True))
    text = " ".join(re.sub(r"<[^>]+>", "", suivi).split())  # as the history reads
    line = "État de frais validé par l'intervenant (rémunération) : Validé — par Claire MARTIN"
    assert line in text


def test_htmx_validation_reloads_the_whole_page(app, signed_in):
    response = post_pay(
        signed_in, action="validate", certify="y", headers={"HX-Request": "true"}, **MISSION_621
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/missions/621/remuneration"


def test_mission_not_done_makes_both_parts_not_done(app, signed_in):
    response = post_pay(
        signed_in, action="validate", certify="y", done="non", **{"hours-0-day": "2022-12-02"}
    )
    assert response.status_code == 303
    stored = claim_of(app, 621)
    assert (stored["pay"], stored["travel"]) == ("non_effectuee", "non_effectuee")
    assert stored["amount"] == 0


def test_after_validation_every_change_is_refused_with_409(app, signed_in):
    post_pay(signed_in, **MISSION_621)
    token = csrf_from(signed_in.get("/missions/621/recapitulatif").get_data(as_text=True))
    data = {"csrf_token": token, "version": str(claim_of(app, 621)["version"]), "certify": "y"}
    assert signed_in.post("/missions/621/valider", data=data).status_code == 303
    before = claim_of(app, 621)
    assert (before["pay"], before["travel"]) == ("valide", "valide")
    response = post_pay(
        signed_in, version=str(before["version"]), **{**MISSION_621, "candidates": "1"}
    )
    assert response.status_code == 409
    assert "ne peut plus être modifié" in plain(response.get_data(as_text=True))
    token = csrf_from(signed_in.get("/missions/621/recapitulatif").get_data(as_text=True))
    again = signed_in.post(
        "/missions/621/valider",
        data={"csrf_token": token, "version": str(before["version"]), "certify": "y"},
    )
    assert again.status_code == 409
    assert claim_of(app, 621) == before


def test_double_click_gives_one_transition(app, signed_in):
    post_pay(signed_in, **MISSION_621)
    token = csrf_from(signed_in.get("/missions/621/recapitulatif").get_data(as_text=True))
    data = {"csrf_token": token, "version": "2", "certify": "y"}
    cookie = signed_in.get_cookie("session").value
    statuses = []

    def click():
        other = app.test_client()
        other.set_cookie("session", cookie)
        statuses.append(other.post("/missions/621/valider", data=data).status_code)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303, 409]
    assert claim_of(app, 621)["events"] == 2  # one per part, once


def test_mission_in_progress_saves_but_cannot_be_validated(app, signed_in):
    html = plain(signed_in.get("/missions/1201/remuneration").get_data(as_text=True))
    assert "la validation sera possible à partir du" in html
    assert "Valider mon état de frais" not in html
    token = csrf_from(html)
    days = re.findall(r'name="(hours-\d-day)" value="([^"]+)"', html)
    fields = {"done": "oui"}
    for name, day in days:
        prefix = name[: -len("day")]
        fields.update({name: day, prefix + "start": "09:00", prefix + "end": "17:00"})
    saved = signed_in.post(
        "/missions/1201/remuneration", data={"csrf_token": token, "version": "1", **fields}
    )
    assert saved.status_code == 303
    refused = signed_in.post(
        "/missions/1201/valider", data={"csrf_token": token, "version": "2", "certify": "y"}
    )
    assert refused.status_code == 409
    message = plain(refused.get_data(as_text=True))
    assert re.search(r"la validation sera possible à partir du \d\d/\d\d/\d{4}", message)
    assert claim_of(app, 1201)["pay"] == "non_valide"


def test_correction_sent_back_can_be_validated_again(app, signed_in):
    html = plain(signed_in.get("/missions/1004/remuneration").get_data(as_text=True))
    assert 'value="17:00"' in html  # entries kept after "À corriger"
    token = csrf_from(html)
    fields = {
        "done": "oui",
        "hours-0-day": "2025-07-03",
        "hours-0-start": "09:00",
        "hours-0-end": "17:00",
        "hours-1-day": "2025-07-04",
        "hours-1-start": "08:30",
        "hours-1-end": "12:30",
        "action": "validate",
        "certify": "y",
    }
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    response = signed_in.post(
        "/missions/1004/remuneration", data={"csrf_token": token, "version": version, **fields}
    )
    assert response.status_code == 303
    stored = claim_of(app, 1004)
    assert (stored["pay"], stored["travel"]) == ("valide", "valide_gestionnaire")
    assert stored["amount"] == 12 * 1372


def test_other_intervenant_cannot_post(app, client, auth):
    auth.login(PAUL)
    token = csrf_from(client.get("/missions").get_data(as_text=True))
    response = client.post(
        "/missions/621/remuneration", data={"csrf_token": token, "version": "1", **MISSION_621}
    )
    assert response.status_code == 404
    assert client.post("/missions/621/valider", data={"csrf_token": token}).status_code == 404
    assert client.get("/missions/621/remuneration/estimation").status_code == 404
    assert claim_of(app, 621)["version"] == 1


def test_saving_and_validating_take_a_constant_number_of_queries(app, signed_in):
    with count_queries(app) as save_queries:
        post_pay(signed_in, **MISSION_621)
    # 16, and one for the dossier financier (does it block validating? issue 15).
    assert len([q for q in save_queries if not q.startswith("SELECT user_account")]) <= 17
    token = csrf_from(signed_in.get("/missions/621/recapitulatif").get_data(as_text=True))
    with count_queries(app) as validate_queries:
        signed_in.post(
            "/missions/621/valider", data={"csrf_token": token, "version": "2", "certify": "y"}
        )
    assert len(validate_queries) <= 14


def test_travel_tab_validates_too(app, signed_in):
    assert post_pay(signed_in, **MISSION_621).status_code == 303
    html = plain(signed_in.get("/missions/621/deplacement").get_data(as_text=True))
    assert 'action="/missions/621/valider"' in html
    assert "Valider mes frais de déplacement" in html
    version = re.search(r'class="claim-version" name="version" value="(\d+)"', html).group(1)
    response = signed_in.post(
        "/missions/621/valider",
        data={"csrf_token": csrf_from(html), "version": version, "certify": "y", "part": "travel"},
    )
    assert response.status_code == 303
    assert response.location == "/missions/621/deplacement"
    # The travel part alone: the pay part, ready too, is validated from its own tab.
    assert (claim_of(app, 621)["travel"], claim_of(app, 621)["pay"]) == ("valide", "non_valide")
