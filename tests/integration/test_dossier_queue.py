"""The DEC's queue of dossiers financiers: 50 a page, by status, by name, never a 500.

Its SQL queries do not grow with the dossiers it holds (3 against 60), and it answers
the same with JavaScript off (plain GET links and form) and as an HTMX fragment.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from imagin.models import Claim, Dossier, Mission, MissionDay, User
from tests.conftest import GESTIONNAIRE, count_queries, database

URL = "/gestion/dossiers"


def add_dossiers(app, count: int, *, status: str = "transmis", first: int = 0, name="Agent"):
    """``count`` intervenants of the DEC's bureau (a mission like 621), each with a dossier
    of ``status``, transmitted one day after the other (the first the oldest)."""
    with database(app) as db:
        model = db.scalar(select(Mission).where(Mission.number == 621))
        for n in range(first, first + count):
            user = User(
                email=f"agent{n}@example.fr",
                role="intervenant",
                first_name=f"{name}{n:03d}",
                last_name=f"NOM{n:03d}",
            )
            on = dt.date(2024, 1, 1) + dt.timedelta(days=n)
            db.add(
                Mission(
                    number=70_000 + n,
                    intervenant=user,
                    exam_id=model.exam_id,
                    session_id=model.session_id,
                    mission_type_id=model.mission_type_id,
                    centre_id=model.centre_id,
                    bureau_id=model.bureau_id,
                    starts_on=on,
                    ends_on=on,
                    days=[MissionDay(day=on, start_time=dt.time(9))],
                    claim=Claim(),
                )
            )
            db.add(
                Dossier(
                    user=user,
                    status=status,
                    submitted_at=dt.datetime(2025, 1, 1) + dt.timedelta(days=n),
                )
            )
        db.commit()


def names(html: str) -> list[str]:
    """The intervenants listed, in the queue's order."""
    return re.findall(r'<a href="/gestion/dossiers/\d+">([^<]+)</a>', html)


@pytest.fixture
def manager(client, auth):
    auth.login(GESTIONNAIRE)
    return client


def test_fifty_a_page_oldest_transmitted_first_and_the_pager_keeps_the_filters(app, manager):
    add_dossiers(app, 60, name="Agent")
    first = manager.get(URL).get_data(as_text=True)
    listed = names(first)
    assert len(listed) == 50
    assert listed[:2] == ["Agent000 NOM000", "Agent001 NOM001"]  # the longest waiting first
    assert "60 dossier(s) « Transmis » — page 1 sur 2" in first
    assert 'href="/gestion/dossiers?page=2&amp;statut=transmis"' in first
    second = manager.get(URL + "?page=2&statut=transmis").get_data(as_text=True)
    assert names(second) == [f"Agent{n:03d} NOM{n:03d}" for n in range(50, 60)]
    assert 'rel="prev"' in second and 'rel="next"' not in second
    # Past the end: the last page, not an empty one.
    assert names(manager.get(URL + "?page=99").get_data(as_text=True)) == names(second)


def test_filter_by_status_and_all_statuses_puts_what_needs_the_dec_first(app, manager):
    add_dossiers(app, 2, status="a_corriger", first=0, name="Corr")
    add_dossiers(app, 2, status="transmis", first=10, name="Trans")
    add_dossiers(app, 1, status="a_fournir", first=20, name="Four")
    corriger = manager.get(URL + "?statut=a_corriger").get_data(as_text=True)
    assert names(corriger) == ["Corr000 NOM000", "Corr001 NOM001"]
    assert "2 dossier(s) « À corriger »" in corriger
    fournir = names(manager.get(URL + "?statut=a_fournir").get_data(as_text=True))
    assert fournir == ["Four020 NOM020"]
    everything = names(manager.get(URL + "?statut=tous").get_data(as_text=True))
    # Transmitted first even though sent back ones are older; Claire's verified one last.
    assert everything[:5] == [
        "Trans010 NOM010",
        "Trans011 NOM011",
        "Corr000 NOM000",
        "Corr001 NOM001",
        "Four020 NOM020",
    ]
    assert everything[5:] == ["Claire MARTIN"]
    # The counts by status, as links that filter.
    assert 'href="/gestion/dossiers?statut=a_fournir">À fournir : 1</a>' in corriger
    assert 'statut=a_corriger" aria-current="page">À corriger : 2</a>' in corriger


def test_search_by_name_any_word_in_any_order_and_literal_wildcards(app, manager):
    add_dossiers(app, 30, name="Agent")
    html = manager.get(URL + "?nom=nom017").get_data(as_text=True)
    assert names(html) == ["Agent017 NOM017"]
    assert "1 dossier(s) « Transmis » pour « nom017 »" in html
    assert names(manager.get(URL + "?nom=NOM017+agent017").get_data(as_text=True)) == [
        "Agent017 NOM017"
    ]
    # The e-mail too, and across statuses.
    everyone = manager.get(URL + "?statut=tous&nom=claire.martin").get_data(as_text=True)
    assert names(everyone) == ["Claire MARTIN"]
    # "%" and "_" are letters, not SQL wildcards.
    for wildcard in ("%", "_", "NOM0_7"):
        assert names(manager.get(URL, query_string={"nom": wildcard}).get_data(as_text=True)) == []
    # The pager keeps the search.
    add_dossiers(app, 60, name="Suite", first=100)
    paged = manager.get(URL + "?nom=suite").get_data(as_text=True)
    assert "page 1 sur 2" in paged and "nom=suite" in paged


@pytest.mark.parametrize(
    "query",
    [
        "?page=abc",
        "?page=-1",
        "?page=0",
        "?page=99999999999999999999",
        "?status=%20",
        "?statut=%20",
        "?statut=inconnu",
        "?statut=tous&statut=transmis",
        "?nom=%00",
        "?nom=" + "x" * 500,
        "?nom=%27%3B--",
        "?page=%20&statut=&nom=%20",
    ],
)
def test_bad_query_values_fall_back_never_a_500(app, manager, query):
    add_dossiers(app, 3)
    response = manager.get(URL + query)
    assert response.status_code == 200
    assert "dossier(s)" in response.get_data(as_text=True)


def test_bad_values_mean_the_default_view(app, manager):
    add_dossiers(app, 3)
    for query in ("?page=abc", "?statut=%20", "?status=%20", "?statut=inconnu"):
        html = manager.get(URL + query).get_data(as_text=True)
        assert "3 dossier(s) « Transmis »" in html
        assert '<option value="transmis" selected>' in html
        assert "choix valide" not in html


@pytest.mark.parametrize(
    "query", ["", "?statut=tous", "?page=2", "?nom=nom0", "?statut=a_corriger&nom=a"]
)
def test_queries_do_not_grow_with_the_dossiers(app, manager, query):
    add_dossiers(app, 3)
    manager.get(URL + query)  # warm: the session's first request loads the user
    with count_queries(app) as few:
        assert manager.get(URL + query).status_code == 200
    add_dossiers(app, 60, first=3)
    with count_queries(app) as many:
        page = manager.get(URL + query)
        assert page.status_code == 200
    assert len(many) == len(few), (few, many)
    assert len(few) <= 6
    if "statut" not in query or query == "?page=2":
        assert len(names(page.get_data(as_text=True))) == (50 if query != "?page=2" else 13)


def test_an_htmx_search_gets_only_the_results(app, manager):
    add_dossiers(app, 60)
    fragment = manager.get(URL + "?nom=nom05", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert html.lstrip().startswith('<div id="dossier-results"')
    assert "<html" not in html and len(fragment.data) < 6_000
    assert names(html) == [f"Agent{n:03d} NOM{n:03d}" for n in range(50, 60)]
    # Without JavaScript: the whole page, with its GET form.
    page = manager.get(URL + "?nom=nom05").get_data(as_text=True)
    assert '<form class="filters" method="get" action="/gestion/dossiers"' in page
    assert names(page) == names(html)


def test_only_the_bureaus_gestionnaires_see_the_queue(app, client, auth):
    from tests.conftest import PAUL

    add_dossiers(app, 3)
    auth.login(PAUL)
    assert client.get(URL + "?statut=tous&page=2").status_code == 404
    auth.logout()
    assert client.get(URL).status_code in (302, 303)
