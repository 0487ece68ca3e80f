"""For admins: how each account signs in (/admin/comptes) and the journal (/admin/connexions)."""

from __future__ import annotations

import pytest

from tests.conftest import GESTIONNAIRE, PAUL, count_queries, plain
from tests.integration.test_portal_headers import (  # noqa: F401  (the app fixture)
    OUTSIDE,
    app,
    through_portal,
)


def staff(n: int) -> dict:
    return {
        "ct-remote-user": f"agent{n}",
        "ctemail": f"agent{n}@ac-orleans-tours.fr",
        "ctfn": "Agent",
        "ctln": f"Numéro {n}",
        "FrEduRne": f"04507{n:02d}F$UAJ",
    }


@pytest.fixture
def admin(app):  # noqa: F811
    client = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(client).login("admin@example.fr")
    return client


@pytest.mark.parametrize("who", [None, PAUL, GESTIONNAIRE])
def test_only_admins_see_the_accounts(app, auth, client, who):  # noqa: F811
    if who:
        auth.login(who)
    for path in ("/admin/comptes", "/admin/connexions"):
        response = client.get(path)
        assert response.status_code == (302 if who is None else 404)


def test_accounts_say_how_each_signs_in(app, admin):  # noqa: F811
    through_portal(
        app.test_client(),
        "/missions",
        **{
            "ct-remote-user": "cmartin",
            "ctemail": "claire.martin@example.fr",
            "ctfn": "Claire",
            "ctln": "Martin",
            "FrEduRne": None,
        },
    )
    through_portal(app.test_client(), "/missions", ctgrps="IMAGIN-DEC2")
    html = plain(admin.get("/admin/comptes").get_data(as_text=True))
    assert "Comptes" in html
    # Claire: portal only now; Paul: password; Jeanne: portal, gestionnaire of DEC2.
    claire = html[html.index("Claire MARTIN") : html.index("</tr>", html.index("Claire MARTIN"))]
    assert "Portail (en-têtes) — identifiant « cmartin »" in claire
    assert "Mot de passe" not in claire
    assert "dernière connexion le" in claire
    paul = html[html.index("Paul DURAND") : html.index("</tr>", html.index("Paul DURAND"))]
    assert "Mot de passe" in paul and "Portail" not in paul
    jeanne = html[html.index("Jeanne DUPONT") : html.index("</tr>", html.index("Jeanne DUPONT"))]
    assert "Gestionnaire" in jeanne and "DEC2" in jeanne
    assert "0450782F, 0451067R" in jeanne and "Fonction : ENS" in jeanne

    portal_only = plain(admin.get("/admin/comptes?way=portail").get_data(as_text=True))
    assert "Claire MARTIN" in portal_only and "Paul DURAND" not in portal_only
    passwords = plain(admin.get("/admin/comptes?way=mot-de-passe").get_data(as_text=True))
    assert "Paul DURAND" in passwords and "Claire MARTIN" not in passwords
    found = plain(admin.get("/admin/comptes?q=dupont").get_data(as_text=True))
    assert "Jeanne DUPONT" in found and "Paul DURAND" not in found
    # A percent sign is searched for as itself.
    assert "Aucun compte" in plain(admin.get("/admin/comptes?q=%25").get_data(as_text=True))


def test_the_accounts_page_runs_the_same_queries_for_3_or_30_portal_accounts(app, admin):  # noqa: F811
    def queries() -> int:
        with count_queries(app) as statements:
            assert admin.get("/admin/comptes?way=portail").status_code == 200
        return len(statements)

    for n in range(3):
        through_portal(app.test_client(), "/missions", **staff(n))
    few = queries()
    for n in range(3, 30):
        through_portal(app.test_client(), "/missions", **staff(n))
    assert queries() == few


def test_accounts_are_paged(app, admin):  # noqa: F811
    for n in range(52):
        through_portal(app.test_client(), "/missions", **staff(n))
    first = plain(admin.get("/admin/comptes?way=portail").get_data(as_text=True))
    assert "Page suivante" in first and "Page précédente" not in first
    second = plain(admin.get("/admin/comptes?way=portail&page=2").get_data(as_text=True))
    assert second.count('data-label="Compte"') == 2
    assert "Page précédente" in second and "Page suivante" not in second
    assert admin.get("/admin/comptes?page=abc").status_code == 200


def test_the_journal_shows_sign_ins_and_refusals_with_their_reason(app, admin):  # noqa: F811
    through_portal(app.test_client(), "/missions", ctgrps="IMAGIN-DEC2")
    through_portal(app.test_client(), "/missions", address=OUTSIDE, **{"ct-remote-user": "pirate"})
    html = plain(admin.get("/admin/connexions").get_data(as_text=True))
    for words in (
        "Compte créé à la première connexion",
        "Droits de gestionnaire modifiés",
        "intervenant (aucun bureau) → gestionnaire (DEC2)",
        "Connexion par le portail",
        "Connexion par le portail refusée",
        "En-têtes d'identité venus d'une adresse non autorisée",
        "pirate",
        OUTSIDE,
    ):
        assert words in html, words
    refusals = plain(admin.get("/admin/connexions?refus=1").get_data(as_text=True))
    assert "pirate" in refusals and "Compte créé" not in refusals
