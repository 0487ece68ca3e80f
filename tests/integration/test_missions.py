"""The mission list, the mission page, its tabs, and who may see what."""

import re

import pytest
from flask import url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from imagin.domain.status import PartStatus
from imagin.models import Mission
from tests.conftest import (
    CLAIRE,
    PAUL,
    AuthActions,
    add_missions,
    count_queries,
    database,
)

HEADERS = (
    "Examen",
    "Type de mission",
    "N° de mission",
    "Début de mission",
    "Centre d'examen",
    "Statut frais de rémunération",
    "Statut frais de déplacement",
)


def row_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'aria-label="Mission N° (\d+)"', html)]


def test_list_shows_the_seven_columns_to_do_first(client, auth):
    auth.login()
    html = client.get("/missions").get_data(as_text=True)
    positions = [html.index(f'<th scope="col">{h}</th>') for h in HEADERS]
    assert positions == sorted(positions)
    numbers = row_numbers(html)
    assert 621 in numbers and 640 not in numbers  # Paul's mission is not Claire's
    # 621 (December 2022, "Non validé") waits for Claire: it comes before the newer
    # missions that do not (issue 16, "to do first").
    assert set(numbers[:2]) == {621, 1004}  # 1004 waits too: "À corriger"
    assert "PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX (06112932)" in html
    assert "02/12/2022" in html


def test_list_status_is_text_and_reflects_time(client, auth):
    auth.login()
    html = client.get("/missions").get_data(as_text=True)
    for label in (
        "Non validé",
        "Mis en paiement",
        "Pas de frais",
        "À corriger",
        "Validé par gestionnaire",
        "Annulé",
        "Mission non effectuée",
        "Mission en cours",
    ):
        assert label in html, label


def test_filter_by_status_and_session(app, client, auth):
    auth.login()
    html = client.get("/missions?status=en_cours").get_data(as_text=True)
    assert sorted(row_numbers(html)) == [1120, 1201]
    html = client.get("/missions?status=non_valide").get_data(as_text=True)
    assert row_numbers(html) == [621]
    with database(app) as db:
        session_id = db.scalar(select(Mission.session_id).where(Mission.number == 621))
    html = client.get(f"/missions?session={session_id}").get_data(as_text=True)
    assert row_numbers(html) == [621]
    assert f'<option selected value="{session_id}">' in html or "selected" in html


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "session=999999",
        "session=abc",
        "page=-3",
        "page=zz",
        "page=99999999999999999999",
        "session=%00",
    ],
)
def test_unknown_filter_values_are_ignored_never_500(client, auth, query):
    auth.login()
    response = client.get(f"/missions?{query}")
    assert response.status_code == 200
    assert 621 in row_numbers(response.get_data(as_text=True))


def test_filters_fragment_is_only_the_rows(client, auth):
    auth.login()
    response = client.get("/missions?status=en_cours", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="mission-results"')
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_history_restore_gets_the_full_page(client, auth):
    auth.login()
    html = client.get(
        "/missions", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" in html


def test_empty_state(client, auth, app):
    auth.login()
    html = client.get("/missions?status=mis_en_paiement&session=1").get_data(as_text=True)
    assert "Aucune mission ne correspond à ces filtres." in html


def test_paging_25_per_page_keeps_filters(app, client, auth):
    add_missions(app, CLAIRE, 45, first_number=50_000)  # 55 in all
    auth.login()
    first = client.get("/missions").get_data(as_text=True)
    assert len(row_numbers(first)) == 25
    assert "page 1 sur 3" in first
    second = client.get("/missions?page=2").get_data(as_text=True)
    assert len(row_numbers(second)) == 25
    assert not set(row_numbers(first)) & set(row_numbers(second))
    filtered = client.get("/missions?status=non_valide").get_data(as_text=True)
    assert "status=non_valide" in filtered and "page=2" in filtered


def test_list_queries_do_not_grow_with_rows(app, client, auth):
    auth.login()
    with count_queries(app) as few:
        client.get("/missions")
    add_missions(app, CLAIRE, 60, first_number=50_000)
    with count_queries(app) as many:
        client.get("/missions")
    assert len(many) == len(few)
    assert len(few) <= 5


@pytest.mark.parametrize("url", ["/missions?status=non_valide", "/missions?page=2"])
def test_filtered_and_paged_list_queries_do_not_grow_with_rows(app, client, auth, url):
    auth.login()
    with count_queries(app) as few:
        client.get(url)
    add_missions(app, CLAIRE, 60, first_number=50_000)
    with count_queries(app) as many:
        client.get(url)
    # page=2 of 10 missions is past the end: counted apart, then the last page read.
    assert len(many) <= len(few)


def test_a_page_past_the_end_shows_the_last_page(app, client, auth):
    add_missions(app, CLAIRE, 45, first_number=50_000)  # 55 in all: 25, 25 and 5
    auth.login()
    html = client.get("/missions?page=99").get_data(as_text=True)
    assert "55 missions — page 3 sur 3" in html
    assert len(row_numbers(html)) == 5
    assert 'rel="prev"' in html and 'rel="next"' not in html
    empty = client.get("/missions?status=mis_en_paiement&session=1&page=4")
    assert "Aucune mission ne correspond à ces filtres." in empty.get_data(as_text=True)


def test_the_page_and_its_total_come_from_one_query(app, client, auth):
    add_missions(app, CLAIRE, 45, first_number=50_000)
    auth.login()
    with count_queries(app) as queries:
        html = client.get("/missions?page=2").get_data(as_text=True)
    assert "55 missions — page 2 sur 3" in html and len(row_numbers(html)) == 25
    on_missions = [q for q in queries if "FROM mission" in q]
    assert len(on_missions) == 2  # the sessions of the filter, then the page with its total
    assert "OVER ()" in on_missions[1]


FILTER_URLS = [
    "/missions",
    "/missions?session=",
    "/missions?status=a_valider",
    "/missions?status=en_cours&page=1",
    "/missions?session=&status=&page=",
    "/missions?page=2",
    "/missions?page=007",
    "/missions?status=bogus",
    "/missions?session=999",
    "/missions?page=0",
    "/missions?page=%203",
]


@pytest.mark.parametrize("fragment", [False, True])
def test_filters_read_without_the_form_show_what_the_form_shows(
    app, client, auth, monkeypatch, fragment
):
    """Valid filters skip WTForms: the page must be the one the form would have given."""
    from imagin.missions import forms, views

    add_missions(app, CLAIRE, 30, first_number=50_000)
    auth.login()
    with database(app) as db:
        session_id = db.scalar(select(Mission.session_id).where(Mission.number == 621))
    urls = [
        *FILTER_URLS,
        f"/missions?session={session_id}",
        f"/missions?session={session_id}&page=2",
    ]
    headers = {"HX-Request": "true"} if fragment else {}
    direct = {url: client.get(url, headers=headers).get_data(as_text=True) for url in urls}

    def with_the_form(args, sessions):
        form = forms.MissionFilterForm(args)
        form.set_sessions(sessions)
        return form

    monkeypatch.setattr(views, "read_filters", with_the_form)
    for url in urls:
        assert client.get(url, headers=headers).get_data(as_text=True) == direct[url], url
    valid = MultiDict({"status": PartStatus.IN_PROGRESS.value, "page": "2"})
    assert isinstance(forms.read_filters(valid, []), forms.ValidFilters)
    for wrong in ({"status": "x"}, {"session": "1"}, {"page": "0"}, {"page": "٣"}):
        assert isinstance(forms.read_filters(MultiDict(wrong), []), forms.MissionFilterForm)


def test_each_row_links_to_the_mission_suivi(app, client, auth):
    auth.login()
    html = client.get("/missions").get_data(as_text=True)
    with app.test_request_context():
        for number in row_numbers(html):
            assert f'href="{url_for("missions.suivi", number=number)}"' in html


def test_statuses_are_the_status_badges_with_the_reason_to_correct(app, client, auth):
    auth.login()
    html = client.get("/missions").get_data(as_text=True)
    # Status as words in a badge, never colour alone.
    for shown in (PartStatus.IN_PROGRESS, PartStatus.TO_CORRECT, PartStatus.IN_PAYMENT):
        assert f'<span class="status status--{shown.value}">{shown.label}</span>' in html
    row = next(r for r in html.split('<tr class="missions__row">') if "Mission N° 1004" in r)
    assert re.search(
        r'<span class="status status--a_corriger">À corriger</span>'
        r'<span class="status-reason">Motif : Les horaires du 04/07/2025',
        row,
    )
    assert html.count('<span class="status-reason">') == 1  # only the part to correct


def test_each_request_sees_its_own_missions_and_filters(app, client, auth):
    auth.login()
    with database(app) as db:
        first, other = db.scalars(
            select(Mission.session_id)
            .where(Mission.number.in_([621, 1120]))
            .order_by(Mission.number)
        ).all()
    assert row_numbers(client.get(f"/missions?session={first}").get_data(as_text=True)) == [621]
    assert 621 not in row_numbers(client.get(f"/missions?session={other}").get_data(as_text=True))
    paul = app.test_client()
    AuthActions(paul).login(PAUL)
    assert sorted(row_numbers(paul.get("/missions").get_data(as_text=True))) == [640, 1102, 1300]
    assert 640 not in row_numbers(client.get("/missions").get_data(as_text=True))


def test_mission_page_header(client, auth):
    auth.login()
    html = client.get("/missions/621").get_data(as_text=True)
    assert "Mission N° 621" in html
    assert "CERTIFICAT DE FORMATION GENERALE" in html
    assert "Session décembre 2022" in html
    assert "Interrogation orale" in html
    assert "PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX (06112932)" in html
    assert "1-001, ENTretien AVEC LE JURY" in html
    assert "Le vendredi 02/12/2022 à 09:00 Durée : 1 journée(s)" in html
    assert "dec2@example.fr" in html and "02 38 79 40 12" in html
    assert html.count("Non validé") >= 2


@pytest.mark.parametrize(
    ("tab", "heading"),
    [
        ("suivi", "Suivi de votre état de frais"),
        ("remuneration", "Frais de rémunération"),
        ("deplacement", "Frais de déplacement"),
        ("recapitulatif", "Récapitulatif"),
    ],
)
def test_each_tab_is_a_full_page_and_a_fragment(client, auth, tab, heading):
    auth.login()
    page = client.get(f"/missions/621/{tab}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<html" in html and heading in html
    assert f'id="tab-{tab}"' in html
    assert re.search(rf'id="tab-{tab}"[^>]*aria-selected="true"', html)
    fragment = client.get(f"/missions/621/{tab}", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and heading in body
    assert body.lstrip().startswith('<div id="mission-tabs"')
    assert 'role="tablist"' in body and 'role="tabpanel"' in body


def test_suivi_shows_meaning_next_step_and_history(client, auth):
    auth.login()
    html = client.get("/missions/1004/suivi").get_data(as_text=True)
    assert "À corriger" in html
    assert "Motif de la DEC" in html and "feuille d&#39;émargement" in html
    assert "Renvoyé pour correction par la DEC" in html
    # newest first
    assert html.index("Renvoyé pour correction") < html.index("Convocation enregistrée")


def test_mission_page_queries_are_constant(app, client, auth):
    auth.login()
    with count_queries(app) as queries:
        client.get("/missions/1004/suivi")
    # The signed-in account's read (imagin.db.Reads) is counted since it reports to the
    # engine's listeners: it was run, unseen, before.
    assert len(queries) <= 6


@pytest.mark.parametrize(
    "number",
    ["640", "1300", "999999", "-1", "0", "99999999999999999999", "abc", "621abc", "6%2021"],
)
def test_other_or_bad_mission_numbers_are_404(client, auth, number):
    auth.login()
    response = client.get(f"/missions/{number}")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)
    assert client.get(f"/missions/{number}/remuneration").status_code == 404


def test_paul_sees_his_own_missions_only(client, auth):
    auth.login(PAUL)
    html = client.get("/missions").get_data(as_text=True)
    assert sorted(row_numbers(html)) == [640, 1102, 1300]
    assert client.get("/missions/621").status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in_with_next(client):
    response = client.get("/missions/621/suivi")
    assert response.status_code == 302
    assert response.location.startswith("/intervenant?next=")


def test_html_in_mission_text_is_escaped(app, client, auth):
    with database(app) as db:
        mission = db.scalar(select(Mission).where(Mission.number == 621))
        mission.specialite = '<script>alert("x")</script>'
        mission.epreuve_option = "<img src=x onerror=alert(1)>"
        db.commit()
    auth.login()
    for url in ("/missions/621", "/missions"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;" in client.get("/missions/621").get_data(as_text=True)


def test_a_changed_row_shows_at_once_though_rows_are_kept_rendered(app, client, auth):
    """The rows' HTML is kept per content (missions/rows.py): what changes is a new row."""
    from imagin.models import Claim

    auth.login()
    before = client.get("/missions").get_data(as_text=True)
    assert "Motif : Pièce illisible, à renvoyer" not in before
    with database(app) as db:
        mission = db.scalar(select(Mission).where(Mission.number == 621))
        claim = db.scalar(select(Claim).where(Claim.mission_id == mission.id))
        claim.pay_status = PartStatus.TO_CORRECT
        claim.pay_reason = "Pièce illisible, à renvoyer"
        db.commit()
    after = client.get("/missions").get_data(as_text=True)
    assert "Motif : Pièce illisible, à renvoyer" in after
    assert after.count('class="missions__row"') == before.count('class="missions__row"')
