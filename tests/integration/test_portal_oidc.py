"""OpenID Connect mode against a real provider (node-oidc-provider, started by the tests).

The app runs in Flask's test client and talks to the provider over HTTP like in
production (discovery, keys, token and userinfo endpoints); the provider's own
pages (its sign-in form, its end-of-session page) are driven with requests, as a
browser would. The token-level attacks use clients the test provider is told to
misbehave for (see tests/oidc/provider.mjs): the ID tokens it then returns are
rewritten and re-signed the way a hostile or broken provider would send them.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from sqlalchemy import select

from imagin import create_app
from imagin.models import AuthEvent, PortalIdentity, User
from tests.conftest import CLAIRE, base_config, csrf_from, database, plain
from tests.integration.test_portal_headers import signed_out_to
from tests.oidc import Client, missing, running_provider

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")

APP = "http://localhost"  # what Flask's test client serves, as the provider sees it
CALLBACK = APP + "/portail/retour"
AFTER_SIGN_OUT = APP + "/intervenant"
CLIENTS = [
    Client("imagin", CALLBACK, AFTER_SIGN_OUT),
    *(
        Client(f"imagin-{how}", CALLBACK, AFTER_SIGN_OUT, misbehave=how)
        for how in ("audience", "audience-azp", "expired", "signature", "skew")
    ),
]


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc"), CLIENTS) as issuer:
        yield issuer


def oidc_config(database_url, tmp_path, issuer, client_id="imagin", **extra) -> dict:
    config = base_config(database_url, tmp_path)
    config.update(
        SSO_MODE="oidc",
        OIDC_DISCOVERY_URL=issuer + "/.well-known/openid-configuration",
        OIDC_CLIENT_ID=client_id,
        OIDC_CLIENT_SECRET="secret-du-client-de-test-imagin",
        OIDC_SCOPES="openid email profile fr_edu",
        SSO_GROUP_BUREAUS={"IMAGIN-DEC2": "DEC2"},
    )
    config.update(extra)
    return config


@pytest.fixture
def make_app(database_url, tmp_path, issuer):
    apps = []

    def make(client_id="imagin", **extra):
        app = create_app(oidc_config(database_url, tmp_path, issuer, client_id, **extra))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["imagin.engine"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


class Browser:
    """The Flask test client for IMAG'IN's pages, requests for the provider's."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.provider = requests.Session()

    def start(self, path="/portail") -> str:
        """Click "se connecter avec le portail": the provider's authorization URL."""
        response = self.client.get(path)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response.location

    def authenticate(self, authorize_url: str, login: str) -> str:
        """Sign in at the provider; the callback URL (with code and state) it sends back."""
        url, method, data = authorize_url, "GET", None
        for _ in range(20):
            response = self.provider.request(
                method, url, data=data, allow_redirects=False, timeout=30
            )
            if response.status_code in (302, 303):
                url, method, data = urljoin(url, response.headers["Location"]), "GET", None
                if url.startswith(APP):
                    return url
                continue
            assert response.status_code == 200, response.text
            form = re.search(r'<form method="post" action="([^"]+)"', response.text)
            assert form, response.text
            url, method, data = urljoin(url, form.group(1)), "POST", {"login": login}
        raise AssertionError("the provider never sent the browser back")

    def callback(self, url: str):
        return self.client.get(url.removeprefix(APP))

    def sign_in(self, login: str = "jdupont", path="/portail"):
        return self.callback(self.authenticate(self.start(path), login))


def with_param(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()


def journal(app) -> list[tuple[str, str | None]]:
    with database(app) as db:
        return [(e.action, e.reason) for e in db.scalars(select(AuthEvent).order_by(AuthEvent.id))]


def user(app, email):
    with database(app) as db:
        found = db.scalar(select(User).where(User.email == email))
        if found is not None:
            found.bureaus, found.identities  # noqa: B018  (loaded before the session closes)
            for identity in found.identities:
                identity.establishments  # noqa: B018
        return found


def refused_page(response, status: int, words: str) -> None:
    assert response.status_code == status
    html = plain(response.get_data(as_text=True))
    assert "Connexion refusée" in html
    assert words in html
    assert 'lang="fr"' in html


# --- the code flow --------------------------------------------------------------------------


def test_code_flow_with_pkce_creates_the_account_from_the_claims(app, issuer):
    browser = Browser(app)
    authorize = browser.start()
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(issuer + "/auth?")
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [CALLBACK]

    response = browser.callback(browser.authenticate(authorize, "jdupont"))
    assert response.status_code == 303
    # In the IMAGIN-DEC2 group: gestionnaire of DEC2, home is the DEC's queue.
    assert response.location == "/gestion"
    assert "Jeanne DUPONT" in plain(browser.client.get("/gestion").get_data(as_text=True))

    jeanne = user(app, "jeanne.dupont@ac-orleans-tours.fr")
    assert (jeanne.first_name, jeanne.last_name, jeanne.role) == (
        "Jeanne",
        "Dupont",
        "gestionnaire",
    )
    assert [b.code for b in jeanne.bureaus] == ["DEC2"]
    assert jeanne.password_hash is None
    [identity] = jeanne.identities
    assert (identity.method, identity.issuer, identity.subject) == ("oidc", issuer, "jdupont")
    assert (identity.academy, identity.functions) == ("18", ["ENS"])
    assert [e.uai for e in identity.establishments] == ["0450782F", "0451067R"]
    assert journal(app) == [
        ("account_created", None),
        ("rights_changed", None),
        ("sign_in", None),
    ]


def test_the_next_sign_in_reuses_the_account_and_keeps_the_page_asked_for(app):
    Browser(app).sign_in()
    browser = Browser(app)
    response = browser.sign_in(path="/portail?next=/gestion/paiement")
    assert response.location == "/gestion/paiement"
    with database(app) as db:
        assert len(db.scalars(select(PortalIdentity)).all()) == 1
    assert [a for a, _ in journal(app)].count("account_created") == 1


def test_an_imported_intervenant_is_matched_by_email_and_keeps_her_missions(app):
    response = Browser(app).sign_in("cmartin")
    assert response.location == "/missions"
    claire = user(app, CLAIRE)
    assert claire.password_hash is None
    assert [(i.method, i.subject) for i in claire.identities] == [("oidc", "cmartin")]
    # A head of establishment: what the chef-de-centre feature will read.
    Browser(app).sign_in("rchef")
    robert = user(app, "robert.chef@ac-orleans-tours.fr")
    assert [(e.uai, e.responsible) for e in robert.identities[0].establishments] == [
        ("0450782F", True),
        ("0450782F", False),
    ]
    assert robert.identities[0].functions == ["DIR"]


def test_an_unverified_email_is_not_linked_to_an_existing_account(app):
    response = Browser(app).sign_in("nonverifie")
    refused_page(response, 403, "n'est pas confirmée par le fournisseur d'identité")
    assert user(app, "paul.durand@example.fr").identities == []
    assert journal(app) == [("refused", "email_unverified")]


def test_a_small_clock_difference_is_tolerated(make_app):
    """The provider's clock 30 s ahead: within the 60 s tolerance, the sign-in goes through."""
    app = make_app("imagin-skew")
    assert Browser(app).sign_in().status_code == 303
    # With no tolerance configured, the same token is refused as issued in the future.
    strict = make_app("imagin-skew", OIDC_CLOCK_SKEW=0)
    refused_page(Browser(strict).sign_in(), 403, "porte une date à venir")


# --- attacks and refusals, each with a French page ------------------------------------------


def test_a_forged_state_is_refused(app):
    browser = Browser(app)
    callback = browser.authenticate(browser.start(), "jdupont")
    response = browser.callback(with_param(callback, state="etat-fabrique-par-un-attaquant"))
    refused_page(response, 400, "ne correspond à aucune connexion en cours")
    assert browser.client.get("/missions").status_code == 302  # not signed in
    assert journal(app) == [("refused", "state")]


def test_a_callback_made_for_another_browser_is_refused(app):
    """Login CSRF: the attacker's own code and state, delivered to the victim's browser."""
    attacker = Browser(app)
    callback = attacker.authenticate(attacker.start(), "jdupont")
    victim = Browser(app)
    victim.start()  # the victim has a sign-in of her own under way
    refused_page(victim.callback(callback), 400, "ne correspond à aucune connexion en cours")
    assert victim.client.get("/missions").status_code == 302


def test_a_callback_without_state_is_refused(app):
    browser = Browser(app)
    browser.start()
    refused_page(browser.client.get("/portail/retour?code=abc"), 400, "aucune connexion en cours")


def test_a_replayed_code_is_refused_by_the_provider(app):
    browser = Browser(app)
    callback = browser.authenticate(browser.start(), "jdupont")
    # The cookie as it was before the callback: it still holds the state and PKCE verifier.
    before = browser.client.get_cookie("session").value
    assert browser.callback(callback).status_code == 303

    replay = Browser(app)
    replay.client.set_cookie("session", before)
    response = replay.callback(callback)
    refused_page(response, 403, "code déjà utilisé ou expiré")
    assert replay.client.get("/missions").status_code == 302
    assert journal(app)[-1] == ("refused", "code")


def test_a_stolen_code_injected_into_another_session_is_refused_thanks_to_pkce(app):
    victim = Browser(app)
    stolen = parse_qs(urlsplit(victim.authenticate(victim.start(), "jdupont")).query)["code"][0]
    attacker = Browser(app)
    own = attacker.authenticate(attacker.start(), "cmartin")  # a state of his own session
    response = attacker.callback(with_param(own, code=stolen))
    refused_page(response, 403, "code déjà utilisé ou expiré")
    assert user(app, "jeanne.dupont@ac-orleans-tours.fr") is None


@pytest.mark.parametrize("client_id", ["imagin-audience", "imagin-audience-azp"])
def test_an_id_token_for_another_application_is_refused(make_app, client_id):
    app = make_app(client_id)
    response = Browser(app).sign_in()
    refused_page(response, 403, "destinée à une autre application")
    assert journal(app) == [("refused", "audience")]
    assert user(app, "jeanne.dupont@ac-orleans-tours.fr") is None


def test_an_expired_id_token_is_refused(make_app):
    app = make_app("imagin-expired")
    refused_page(Browser(app).sign_in(), 403, "a expiré avant d'arriver")
    assert journal(app) == [("refused", "expired")]


def test_an_id_token_signed_with_another_key_is_refused(make_app):
    app = make_app("imagin-signature")
    refused_page(Browser(app).sign_in(), 403, "signature invalide")
    assert journal(app) == [("refused", "signature")]
    assert user(app, "jeanne.dupont@ac-orleans-tours.fr") is None


def test_an_answer_naming_another_issuer_is_refused(app):
    """RFC 9207 mix-up defence: the provider names itself in its answer; it must be ours."""
    browser = Browser(app)
    callback = browser.authenticate(browser.start(), "jdupont")
    response = browser.callback(with_param(callback, iss="https%3A%2F%2Fautre-fournisseur.example"))
    refused_page(response, 400, "ne vient pas du fournisseur d'identité attendu")


def test_a_sign_in_cancelled_at_the_provider_is_explained(app):
    browser = Browser(app)
    state = parse_qs(urlsplit(browser.start()).query)["state"][0]
    response = browser.client.get(f"/portail/retour?error=access_denied&state={state}")
    refused_page(response, 403, "annulée ou refusée par le portail")


def test_an_unreachable_provider_gets_a_french_page_not_an_error(make_app):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app = make_app(OIDC_DISCOVERY_URL=f"http://127.0.0.1:{port}/.well-known/openid-configuration")
    response = app.test_client().get("/portail")
    assert response.status_code == 503
    assert "ne répond pas" in plain(response.get_data(as_text=True))
    assert journal(app) == [("refused", "unreachable")]


# --- sign-out -------------------------------------------------------------------------------


def test_sign_out_ends_the_session_and_reaches_the_provider(app, issuer):
    browser = Browser(app)
    browser.sign_in("cmartin")
    page = browser.client.get("/missions")
    cookie = browser.client.get_cookie("session").value
    response = browser.client.post(
        "/deconnexion", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    end_session = signed_out_to(browser.client, response)
    assert end_session.startswith(issuer + "/session/end?")
    query = parse_qs(urlsplit(end_session).query)
    assert query["client_id"] == ["imagin"]
    assert query["post_logout_redirect_uri"] == [AFTER_SIGN_OUT]

    # The provider accepts it (known client, registered address) and asks to confirm…
    confirm = browser.provider.get(end_session, timeout=30)
    assert confirm.status_code == 200
    assert "Voulez-vous vous déconnecter du portail" in confirm.text
    form = re.search(r'<form id="op.logoutForm" method="post" action="([^"]+)"', confirm.text)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', confirm.text))
    done = browser.provider.post(
        urljoin(end_session, form.group(1)),
        data={**fields, "logout": "yes"},
        allow_redirects=False,
        timeout=30,
    )
    # …then sends the browser back to IMAG'IN's sign-in page.
    assert done.status_code == 303
    assert done.headers["Location"].startswith(AFTER_SIGN_OUT)

    # The old cookie opens nothing; the provider asks to sign in again.
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/missions").status_code == 302
    again = browser.provider.get(Browser(app).start(), allow_redirects=True, timeout=30)
    assert 'name="login"' in again.text


def test_sign_out_goes_to_the_configured_portal_address(make_app):
    app = make_app(SSO_LOGOUT_URL="https://portail.ac-orleans-tours.fr/")
    browser = Browser(app)
    browser.sign_in()
    page = browser.client.get("/gestion")
    response = browser.client.post(
        "/deconnexion", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    query = parse_qs(urlsplit(signed_out_to(browser.client, response)).query)
    assert query["post_logout_redirect_uri"] == ["https://portail.ac-orleans-tours.fr/"]


def test_outside_intervenants_are_unchanged(app, auth):
    html = plain(app.test_client().get("/intervenant").get_data(as_text=True))
    assert "Personnel de l'académie : se connecter avec le portail" in html
    assert auth.login().status_code == 303
    assert auth.logout().location == "/intervenant"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("OIDC_DISCOVERY_URL", None, "IMAGIN_OIDC_DISCOVERY_URL"),
        ("OIDC_DISCOVERY_URL", "http://idp.example/.well-known/openid-configuration", "https"),
        ("OIDC_CLIENT_SECRET", "", "IMAGIN_OIDC_CLIENT_SECRET"),
        ("OIDC_SCOPES", "email profile", "openid"),
        ("OIDC_CLAIMS", {"courriel": "mail"}, "IMAGIN_OIDC_CLAIMS"),
        ("OIDC_CLOCK_SKEW", "beaucoup", "IMAGIN_OIDC_CLOCK_SKEW"),
    ],
)
def test_a_wrong_oidc_setting_stops_the_start(
    database_url, tmp_path, issuer, setting, value, message
):
    from imagin.auth.sso import SsoConfigError

    with pytest.raises(SsoConfigError, match=message):
        create_app(oidc_config(database_url, tmp_path, issuer, **{setting: value}))
