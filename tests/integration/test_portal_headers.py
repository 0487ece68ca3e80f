"""Headers mode: the portal's proxy names the user in ClearTrust headers; nobody else can."""

from __future__ import annotations

import html
import logging
import re

import pytest
from sqlalchemy import func, select

from imagin import create_app
from imagin.auth.sso import SsoConfigError
from imagin.demo import DEMO_PASSWORD
from imagin.models import AuthEvent, Mission, PortalIdentity, User
from tests.conftest import CLAIRE, PAUL, base_config, csrf_from, database, plain
from tests.integration.test_password_link import ask_link, sent_links

PROXY = "10.20.0.5"  # the portal's reverse proxy
OUTSIDE = "203.0.113.9"  # anyone else
SECRET = "secret-partage-du-portail-de-test"

JEANNE = {
    "ct-remote-user": "jdupont",
    "ctemail": "jeanne.dupont@ac-orleans-tours.fr",
    "ctfn": "Jeanne",
    "ctln": "Dupont",
    "ctgrps": "ENSEIGNANTS,IMAGIN-CORRECTEURS",
    "FrEduRne": "0450782F$UAJ$PU$N$T3$LYC$340,0451067R$UAJ$PU$N$T3$CLG$340",
    "FrEduFonctAdm": "ENS",
    "codaca": "18",
    "FrEduUrlRetour": "https://portail.ac-orleans-tours.fr/arena/logout",
    "X-Imagin-Portal-Secret": SECRET,
}


def portal_config(database_url, tmp_path, **extra) -> dict:
    config = base_config(database_url, tmp_path)
    config.update(
        SSO_MODE="headers",
        SSO_TRUSTED_PROXIES=["10.20.0.0/24"],
        SSO_SHARED_SECRET=SECRET,
        SSO_GROUP_BUREAUS={"IMAGIN-DEC2": "DEC2", "imagin-dec3": "DEC3"},
        SSO_PORTAL_URL="https://portail.ac-orleans-tours.fr/arena/",
        SSO_LOGOUT_URL="https://portail.ac-orleans-tours.fr/login/ct_logout.jsp",
    )
    config.update(extra)
    return config


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(portal_config(database_url, tmp_path))
    yield app
    app.extensions["imagin.engine"].dispose()


def through_portal(client, path="/", headers=None, address=PROXY, **identity):
    """A request as the portal's proxy sends it (from ``address``), with Jeanne's headers."""
    values = {**JEANNE, **identity}
    values = {k: v for k, v in values.items() if v is not None}
    return client.get(
        path, headers={**values, **(headers or {})}, environ_base={"REMOTE_ADDR": address}
    )


def signed_out_to(client, response) -> str:
    """Where sign-out sends a portal user: a page of ours that goes on (meta refresh, link)."""
    assert response.status_code == 303
    assert response.location == "/au-revoir"
    page = client.get("/au-revoir")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Vous êtes déconnecté d'IMAG'IN" in plain(text)
    refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', text)
    link = re.search(r'<a class="button" href="([^"]+)">Continuer vers le portail</a>', text)
    assert refresh and link and refresh.group(1) == link.group(1)
    return html.unescape(link.group(1))


def account(app, email):
    with database(app) as db:
        user = db.scalar(select(User).where(func.lower(User.email) == email.lower()))
        if user is not None:
            user.bureaus, user.identities  # noqa: B018  (loaded before the session closes)
            for identity in user.identities:
                identity.establishments  # noqa: B018
        return user


def events(app, action=None):
    with database(app) as db:
        query = select(AuthEvent).order_by(AuthEvent.id)
        if action:
            query = query.where(AuthEvent.action == action)
        return list(db.scalars(query))


def test_a_portal_request_from_the_proxy_signs_in_and_creates_the_account(app, client):
    response = through_portal(client, "/")
    assert response.status_code == 302
    assert response.location == "/missions"
    page = through_portal(client, "/missions")
    assert page.status_code == 200
    assert "Jeanne DUPONT" in plain(page.get_data(as_text=True))

    jeanne = account(app, "jeanne.dupont@ac-orleans-tours.fr")
    assert (jeanne.first_name, jeanne.last_name, jeanne.role) == ("Jeanne", "Dupont", "intervenant")
    assert jeanne.password_hash is None
    [identity] = jeanne.identities
    assert (identity.method, identity.subject, identity.academy) == ("headers", "jdupont", "18")
    assert identity.functions == ["ENS"]
    assert identity.groups == ["ENSEIGNANTS", "IMAGIN-CORRECTEURS"]
    assert [(e.uai, e.responsible) for e in identity.establishments] == [
        ("0450782F", False),
        ("0451067R", False),
    ]
    assert [e.action for e in events(app)] == ["account_created", "sign_in"]
    created = events(app, "account_created")[0]
    assert (created.subject, created.address, created.user_id) == ("jdupont", PROXY, jeanne.id)


def test_the_same_person_later_signs_into_the_same_account(app, client):
    through_portal(client, "/missions")
    first = account(app, "jeanne.dupont@ac-orleans-tours.fr")
    # Another browser, another day: the portal names her again, in another letter case.
    other = app.test_client()
    response = through_portal(other, "/missions", **{"ct-remote-user": "JDupont"})
    assert response.status_code == 200
    with database(app) as db:
        assert (
            db.scalar(
                select(func.count())
                .select_from(User)
                .where(User.email == "jeanne.dupont@ac-orleans-tours.fr")
            )
            == 1
        )
        assert db.scalar(select(func.count()).select_from(PortalIdentity)) == 1
    assert account(app, "jeanne.dupont@ac-orleans-tours.fr").id == first.id
    assert [e.action for e in events(app)] == ["account_created", "sign_in", "sign_in"]


def test_pages_of_a_signed_in_session_do_not_sign_in_again(app, client):
    through_portal(client, "/missions")
    for _ in range(3):
        assert through_portal(client, "/missions").status_code == 200
    assert [e.action for e in events(app)] == ["account_created", "sign_in"]


def test_names_and_email_are_refreshed_at_each_sign_in(app, client):
    through_portal(client, "/missions")
    later = app.test_client()
    through_portal(
        later,
        "/missions",
        ctfn="Jeanne-Marie",
        ctln="Dupont-Moreau",
        ctemail="jm.dupont-moreau@ac-orleans-tours.fr",
    )
    jeanne = account(app, "jm.dupont-moreau@ac-orleans-tours.fr")
    assert (jeanne.first_name, jeanne.last_name) == ("Jeanne-Marie", "Dupont-Moreau")
    assert account(app, "jeanne.dupont@ac-orleans-tours.fr") is None


def test_an_email_another_account_uses_is_not_taken_over(app, client):
    through_portal(client, "/missions")
    later = app.test_client()
    # The portal now gives Paul's address (a mistake in the directory): Jeanne keeps hers.
    assert through_portal(later, "/missions", ctemail="paul.durand@example.fr").status_code == 200
    assert account(app, "jeanne.dupont@ac-orleans-tours.fr") is not None
    assert account(app, "paul.durand@example.fr").identities == []
    assert events(app, "sign_in")[-1].detail["email_kept"]["portal"] == "paul.durand@example.fr"


def test_the_first_time_an_imported_intervenant_is_found_by_email_and_keeps_his_missions(
    app, client
):
    claire_before = account(app, CLAIRE)
    assert claire_before.password_hash is not None
    response = through_portal(
        client, "/missions", **{"ct-remote-user": "cmartin", "ctemail": "Claire.Martin@example.fr"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "621" in html  # her mission from the demo
    claire = account(app, "claire.martin@example.fr")
    assert claire.id == claire_before.id
    assert [i.subject for i in claire.identities] == ["cmartin"]
    # A portal account has no local password.
    assert claire.password_hash is None
    with database(app) as db:
        assert db.scalar(select(func.count()).where(Mission.intervenant_id == claire.id)) >= 10
    [linked] = events(app, "account_linked")
    assert linked.detail == {"password_removed": True}
    # Her former password no longer opens the account.
    outside = app.test_client()
    token = csrf_from(outside.get("/intervenant").get_data(as_text=True))
    refused = outside.post(
        "/intervenant", data={"csrf_token": token, "email": CLAIRE, "password": DEMO_PASSWORD}
    )
    assert refused.status_code == 422


def test_a_portal_account_gets_no_password_link_and_old_links_stop_working(app, client):
    outside = app.test_client()
    ask_link(outside, CLAIRE)  # asked before she first came through the portal
    [(_, old_link)] = sent_links(app)
    through_portal(client, "/missions", **{"ct-remote-user": "cmartin", "ctemail": CLAIRE})

    assert ask_link(outside, CLAIRE).status_code == 303  # the same answer as for anyone…
    assert ask_link(outside, PAUL).status_code == 303
    assert [to for to, _ in sent_links(app)] == [CLAIRE, PAUL]  # …but no new link for her
    page = outside.get(old_link)
    assert page.status_code == 400
    assert "Ce lien n'est plus valable" in plain(page.get_data(as_text=True))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (OUTSIDE, "untrusted_address"),
        ("10.20.1.5", "untrusted_address"),
        ("::1", "untrusted_address"),
    ],
)
def test_headers_from_an_untrusted_address_do_nothing_and_are_logged(
    app, client, caplog, address, reason
):
    with caplog.at_level(logging.WARNING, logger="imagin.auth.portal"):
        response = through_portal(client, "/missions", address=address)
    # Not signed in: sent to the sign-in page like any visitor.
    assert response.status_code == 302
    assert response.location.startswith("/intervenant")
    assert account(app, "jeanne.dupont@ac-orleans-tours.fr") is None
    assert any(
        "ignored (untrusted_address)" in r.getMessage() and address in r.getMessage()
        for r in caplog.records
    )
    [refused] = events(app)
    assert (refused.action, refused.reason, refused.subject) == ("refused", reason, "jdupont")
    assert address in refused.address


def test_forged_headers_repeated_are_logged_each_time_and_journaled_once_a_minute(
    app, client, caplog
):
    with caplog.at_level(logging.WARNING, logger="imagin.auth.portal"):
        for _ in range(5):
            through_portal(client, "/intervenant", address=OUTSIDE)
    assert sum("ignored" in r.getMessage() for r in caplog.records) == 5
    assert len(events(app, "refused")) == 1


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-of-the-same-length!!", SECRET + "x"])
def test_a_wrong_or_missing_shared_secret_does_nothing(app, client, caplog, secret):
    with caplog.at_level(logging.WARNING, logger="imagin.auth.portal"):
        response = through_portal(client, "/missions", **{"X-Imagin-Portal-Secret": secret})
    assert response.status_code == 302
    assert account(app, "jeanne.dupont@ac-orleans-tours.fr") is None
    assert any("ignored (wrong_secret)" in r.getMessage() for r in caplog.records)
    assert [(e.action, e.reason) for e in events(app)] == [("refused", "wrong_secret")]


def test_forwarded_for_the_proxy_address_does_not_make_a_request_trusted(app, client):
    """X-Forwarded-For is written by whoever sends the request: never a proof of the peer."""
    response = through_portal(
        client, "/missions", address=OUTSIDE, headers={"X-Forwarded-For": PROXY}
    )
    assert response.status_code == 302
    assert account(app, "jeanne.dupont@ac-orleans-tours.fr") is None


def test_behind_proxyfix_the_check_is_on_the_peer_not_the_forwarded_client(database_url, tmp_path):
    """IMAGIN_PROXY_COUNT=1 rewrites REMOTE_ADDR to the client: the peer is still the proxy."""
    app = create_app(portal_config(database_url, tmp_path, PROXY_COUNT=1))
    client = app.test_client()
    # Through the proxy, for a client outside: signed in.
    ok = through_portal(client, "/missions", headers={"X-Forwarded-For": "192.0.2.44"})
    assert ok.status_code == 200
    # Straight from outside, claiming to be forwarded by the proxy: ignored.
    forged = app.test_client()
    response = through_portal(
        forged,
        "/missions",
        address=OUTSIDE,
        headers={"X-Forwarded-For": PROXY},
        **{"ct-remote-user": "pirate", "ctemail": "pirate@example.fr"},
    )
    assert response.status_code == 302
    assert account(app, "pirate@example.fr") is None
    journal = {e.action: e for e in events(app)}
    assert journal["sign_in"].address == f"{PROXY} → 192.0.2.44"
    assert journal["refused"].address == f"{OUTSIDE} → {PROXY}"
    app.extensions["imagin.engine"].dispose()


def test_group_mapping_grants_then_removes_gestionnaire_rights(app):
    first = app.test_client()
    response = through_portal(first, "/", ctgrps="ENSEIGNANTS, imagin-dec2,Imagin-DEC3")
    assert response.location == "/gestion"
    jeanne = account(app, "jeanne.dupont@ac-orleans-tours.fr")
    assert jeanne.role == "gestionnaire"
    assert sorted(b.code for b in jeanne.bureaus) == ["DEC2", "DEC3"]
    assert through_portal(first, "/gestion", ctgrps="IMAGIN-DEC2").status_code == 200

    # Next sign-in: only DEC3 left.
    second = app.test_client()
    through_portal(second, "/", ctgrps="IMAGIN-DEC3")
    assert [b.code for b in account(app, "jeanne.dupont@ac-orleans-tours.fr").bureaus] == ["DEC3"]

    # The group is gone: the right goes at the next sign-in, and the back office is closed.
    third = app.test_client()
    response = through_portal(third, "/", ctgrps="ENSEIGNANTS")
    assert response.location == "/missions"
    jeanne = account(app, "jeanne.dupont@ac-orleans-tours.fr")
    assert (jeanne.role, jeanne.bureaus) == ("intervenant", [])
    assert through_portal(third, "/gestion").status_code == 404
    changes = [e.detail for e in events(app, "rights_changed")]
    assert changes == [
        {
            "before": {"role": "intervenant", "bureaus": []},
            "after": {"role": "gestionnaire", "bureaus": ["DEC2", "DEC3"]},
        },
        {
            "before": {"role": "gestionnaire", "bureaus": ["DEC2", "DEC3"]},
            "after": {"role": "gestionnaire", "bureaus": ["DEC3"]},
        },
        {
            "before": {"role": "gestionnaire", "bureaus": ["DEC3"]},
            "after": {"role": "intervenant", "bureaus": []},
        },
    ]


def test_an_existing_gestionnaire_linked_by_email_follows_the_portal_groups(app, client):
    response = through_portal(
        client,
        "/",
        ctgrps="IMAGIN-DEC2",
        **{"ct-remote-user": "nlefevre", "ctemail": "dec.orleans@example.fr"},
    )
    assert response.location == "/gestion"
    nadia = account(app, "dec.orleans@example.fr")
    assert (nadia.role, [b.code for b in nadia.bureaus]) == ("gestionnaire", ["DEC2"])


def test_header_names_are_matched_in_any_letter_case(app, client):
    shouting = {k.upper(): v for k, v in JEANNE.items()}
    response = client.get("/missions", headers=shouting, environ_base={"REMOTE_ADDR": PROXY})
    assert response.status_code == 200
    jeanne = account(app, "jeanne.dupont@ac-orleans-tours.fr")
    assert jeanne.first_name == "Jeanne"
    assert len(jeanne.identities[0].establishments) == 2


def test_a_header_sent_twice_is_read_as_several_values(app, client):
    headers = [(k, v) for k, v in JEANNE.items() if k != "FrEduRne"]
    headers += [("FrEduRne", "0450782F$UAJ$PU$N$T3$LYC$340"), ("fredurne", "0180777C$UAJ$PU")]
    headers += [("FrEduRneResp", "0180777C$UAJ$PU$N$T3$CLG$340")]
    response = client.get("/missions", headers=headers, environ_base={"REMOTE_ADDR": PROXY})
    assert response.status_code == 200
    identity = account(app, "jeanne.dupont@ac-orleans-tours.fr").identities[0]
    assert [(e.uai, e.responsible, e.raw) for e in identity.establishments] == [
        ("0180777C", True, "0180777C$UAJ$PU$N$T3$CLG$340"),
        ("0180777C", False, "0180777C$UAJ$PU"),
        ("0450782F", False, "0450782F$UAJ$PU$N$T3$LYC$340"),
    ]


def test_utf8_names_sent_in_headers_are_read_back(app, client):
    # Servers decode header bytes as Latin-1; the portal sends UTF-8.
    mangled = "Hélène".encode().decode("latin-1")
    through_portal(client, "/missions", ctfn=mangled, ctln="Lefèvre".encode().decode("latin-1"))
    helene = account(app, "jeanne.dupont@ac-orleans-tours.fr")
    assert (helene.first_name, helene.last_name) == ("Hélène", "Lefèvre")


@pytest.mark.parametrize("login", ["jdupont,admin", "jdupont admin", "   "])
def test_a_login_that_is_several_values_is_refused_with_a_french_page(app, client, login):
    response = through_portal(client, "/missions", **{"ct-remote-user": login})
    if not login.strip():
        # A blank header is no identity at all.
        assert response.status_code == 302
        return
    assert response.status_code == 403
    html = plain(response.get_data(as_text=True))
    assert "Connexion refusée" in html
    assert "identifiant vide ou multiple" in html
    assert account(app, "jeanne.dupont@ac-orleans-tours.fr") is None


def test_a_new_staff_member_without_email_is_refused_with_a_french_page(app, client):
    response = through_portal(client, "/missions", ctemail=None)
    assert response.status_code == 403
    assert "n'a pas transmis d'adresse électronique" in plain(response.get_data(as_text=True))
    assert [(e.action, e.reason) for e in events(app)] == [("refused", "no_email")]


def test_a_deactivated_account_is_refused(app, client):
    through_portal(client, "/missions")
    with database(app) as db:
        db.scalar(select(User).where(User.email == JEANNE["ctemail"])).active = False
        db.commit()
    response = through_portal(app.test_client(), "/missions")
    assert response.status_code == 403
    assert "Votre compte IMAG'IN est désactivé" in plain(response.get_data(as_text=True))


def test_a_different_portal_user_on_the_same_browser_replaces_the_session(app, client):
    through_portal(client, "/missions")
    response = through_portal(
        client,
        "/missions",
        **{
            "ct-remote-user": "pmoreau",
            "ctemail": "pierre.moreau@ac-test.fr",
            "ctfn": "Pierre",
            "ctln": "Moreau",
        },
    )
    assert "Pierre MOREAU" in plain(response.get_data(as_text=True))


def test_a_form_sent_before_the_portal_named_someone_else_is_not_carried_out(app, client):
    page = through_portal(client, "/profil")
    token = csrf_from(page.get_data(as_text=True))
    # Jeanne's page, sent while the portal now names Pierre (a shared computer).
    pierre = {
        "ct-remote-user": "pmoreau",
        "ctemail": "pierre.moreau@ac-test.fr",
        "ctfn": "Pierre",
        "ctln": "Moreau",
    }
    response = client.post(
        "/profil",
        data={
            "csrf_token": token,
            "family_commune": "ORLEANS",
            "admin_commune": "ORLEANS",
            "vehicle_cv": "5",
        },
        headers={**JEANNE, **pierre},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert response.status_code == 303
    assert response.location == "/missions"
    html = plain(through_portal(client, "/missions", **pierre).get_data(as_text=True))
    assert "Pierre MOREAU" in html
    assert "l'action demandée n'a pas été faite" in html
    assert account(app, "pierre.moreau@ac-test.fr").family_commune == ""


def test_sign_out_goes_back_to_the_portal_and_revokes_the_cookie(app, client):
    page = through_portal(client, "/missions")
    token = csrf_from(page.get_data(as_text=True))
    cookie = client.get_cookie("session").value
    response = client.post(
        "/deconnexion", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": OUTSIDE}
    )
    assert signed_out_to(client, response) == JEANNE["FrEduUrlRetour"]
    # The old cookie, replayed, opens nothing.
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/missions").status_code == 302


def test_sign_out_without_frEduUrlRetour_goes_to_the_configured_address(app, client):
    page = through_portal(client, "/missions", FrEduUrlRetour=None)
    token = csrf_from(page.get_data(as_text=True))
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert signed_out_to(client, response) == (
        "https://portail.ac-orleans-tours.fr/login/ct_logout.jsp"
    )


def test_a_return_address_that_is_not_a_web_address_is_not_followed(app, client):
    page = through_portal(client, "/missions", FrEduUrlRetour="javascript:alert(1)")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert signed_out_to(client, response) == (
        "https://portail.ac-orleans-tours.fr/login/ct_logout.jsp"
    )


def test_after_sign_out_the_portal_does_not_sign_in_again_until_asked(app, client):
    page = through_portal(client, "/missions", FrEduUrlRetour=None)
    through_portal(client, "/missions")
    client.post("/deconnexion", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    # Back through the portal (still signed in there): the sign-in page, not her missions…
    assert through_portal(client, "/missions").status_code == 302
    assert through_portal(client, "/intervenant").status_code == 200
    # …another person on this browser is signed in as usual…
    other = {"ct-remote-user": "pmoreau", "ctemail": "pierre.moreau@ac-test.fr"}
    assert through_portal(client, "/missions", **other).status_code == 200
    client.post(
        "/deconnexion",
        data={
            "csrf_token": csrf_from(
                through_portal(client, "/missions", **other).get_data(as_text=True)
            )
        },
    )
    # …and "se connecter avec le portail" signs her in again.
    response = through_portal(client, "/portail")
    assert response.status_code == 303 and response.location == "/missions"
    assert through_portal(client, "/missions").status_code == 200
    assert [e.action for e in events(app)].count("sign_in") == 3


def test_outside_intervenants_sign_in_and_out_as_before(app, client, auth):
    assert auth.login().status_code == 303
    response = auth.logout()
    assert response.location == "/intervenant"


def test_sign_in_page_explains_which_way_is_whose(app, client):
    html = plain(client.get("/intervenant").get_data(as_text=True))
    assert "Personnel de l'académie : se connecter avec le portail" in html
    assert "Vous êtes intervenant extérieur" in html
    assert "adresse électronique indiquée sur votre convocation" in html
    assert 'href="/portail"' in html
    # "/" sends a visitor there.
    assert client.get("/").location == "/intervenant"


def test_the_portal_link_sends_a_direct_visitor_to_the_portal(app, client):
    response = client.get("/portail", environ_base={"REMOTE_ADDR": OUTSIDE})
    assert response.status_code == 303
    assert response.location == "https://portail.ac-orleans-tours.fr/arena/"
    # Through the portal, the same link lands on one's missions (and keeps "next").
    response = through_portal(client, "/portail?next=/missions/621")
    assert response.status_code == 303
    assert response.location == "/missions/621"
    # …but never outside the site.
    response = through_portal(client, "/portail?next=https://evil.example/")
    assert response.location == "/missions"


def test_without_a_portal_address_the_link_explains_in_french(database_url, tmp_path):
    app = create_app(portal_config(database_url, tmp_path, SSO_PORTAL_URL=None))
    html = plain(app.test_client().get("/portail").get_data(as_text=True))
    assert "IMAG'IN n'a pas reçu votre identité du portail" in html
    app.extensions["imagin.engine"].dispose()


def test_static_files_do_not_touch_the_accounts(app, client):
    response = through_portal(client, "/static/app.css")
    assert response.status_code == 200
    assert events(app) == []


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("SSO_MODE", "ldap", "IMAGIN_SSO_MODE"),
        ("SSO_TRUSTED_PROXIES", [], "IMAGIN_SSO_TRUSTED_PROXIES"),
        ("SSO_TRUSTED_PROXIES", "10.0.0.300/32", "IMAGIN_SSO_TRUSTED_PROXIES"),
        ("SSO_SHARED_SECRET", "court", "IMAGIN_SSO_SHARED_SECRET"),
        ("SSO_HEADERS", {"mail": "ctemail"}, "IMAGIN_SSO_HEADERS"),
        ("SSO_HEADERS", {"email": "bad header"}, "IMAGIN_SSO_HEADERS"),
        ("SSO_GROUP_BUREAUS", "IMAGIN-DEC2", "IMAGIN_SSO_GROUP_BUREAUS"),
        ("SSO_LOGOUT_URL", "portail.fr/logout", "IMAGIN_SSO_LOGOUT_URL"),
    ],
)
def test_a_wrong_setting_stops_the_start_with_its_name(
    database_url, tmp_path, setting, value, message
):
    with pytest.raises(SsoConfigError, match=message):
        create_app(portal_config(database_url, tmp_path, **{setting: value}))


def test_with_the_portal_off_nothing_of_it_shows_or_works(database_url, tmp_path):
    app = create_app(base_config(database_url, tmp_path))
    client = app.test_client()
    html = plain(client.get("/intervenant").get_data(as_text=True))
    assert "se connecter avec le portail" not in html
    assert "Connectez-vous avec l'adresse électronique indiquée sur votre convocation." in html
    assert client.get("/portail").status_code == 404
    assert client.get("/portail/retour?code=x&state=y").status_code == 404
    # Portal headers, even from the portal's address, are nobody.
    assert through_portal(client, "/missions").status_code == 302
    assert account(app, JEANNE["ctemail"]) is None
    app.extensions["imagin.engine"].dispose()
