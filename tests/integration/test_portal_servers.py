"""Headers mode on real servers: waitress' trusted_proxy settings, and a real nginx in front.

waitress' ``trusted_proxy`` rewrites REMOTE_ADDR to the forwarded client's
address: the identity headers must still be believed only when the machine
connected to waitress is the portal's proxy. nginx plays the portal's proxy:
an ``auth_request`` to a small test portal authenticates the visitor (by a
test cookie) and the proxy sets the ClearTrust headers from its answer.
"""

from __future__ import annotations

import http.client

import pytest
import requests
from sqlalchemy import func, select

from imagin import create_app
from imagin.models import AuthEvent, User
from tests.conftest import csrf_from, database, plain
from tests.integration.test_portal_headers import SECRET, portal_config
from tests.portal_proxy import PORTAL_PROXY, portal_in_front, served

CLIENT = "198.51.100.7"  # the staff member's own address, as forwarded


def get(port: int, path: str, headers: dict[str, str], source: str) -> http.client.HTTPResponse:
    """A request from ``source`` (any 127.x address is this machine's loopback)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0))
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


IDENTITY = {
    "ct-remote-user": "jdupont",
    "ctemail": "jeanne.dupont@ac-orleans-tours.fr",
    "ctfn": "Jeanne",
    "ctln": "Dupont",
    "X-Imagin-Portal-Secret": SECRET,
}


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        portal_config(database_url, tmp_path, SSO_TRUSTED_PROXIES=[f"{PORTAL_PROXY}/32"])
    )
    yield app
    app.extensions["imagin.engine"].dispose()


def accounts(app, email: str) -> int:
    with database(app) as db:
        return db.scalar(select(func.count()).select_from(User).where(User.email == email))


def journal(app) -> list[tuple[str, str | None, str | None]]:
    with database(app) as db:
        return [(e.action, e.reason, e.address) for e in db.scalars(select(AuthEvent))]


def test_waitress_trusted_proxy_rewrites_the_client_address_but_the_peer_is_checked(app):
    with served(
        app,
        trusted_proxy=PORTAL_PROXY,
        trusted_proxy_count=1,
        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
    ) as port:
        # The portal's proxy forwards for a client: believed, and the journal shows both.
        response = get(port, "/", {**IDENTITY, "X-Forwarded-For": CLIENT}, PORTAL_PROXY)
        assert response.status == 302
        assert response.getheader("Location") == "/missions"
        assert "session=" in response.getheader("Set-Cookie")
        assert accounts(app, IDENTITY["ctemail"]) == 1
        assert journal(app)[-1] == ("sign_in", None, f"{PORTAL_PROXY} → {CLIENT}")

        # Anyone else claiming to come through the proxy: ignored.
        forged = {**IDENTITY, "ct-remote-user": "pirate", "ctemail": "pirate@example.fr"}
        response = get(port, "/", {**forged, "X-Forwarded-For": PORTAL_PROXY}, "127.0.0.1")
        assert response.getheader("Location") == "/intervenant"
        assert accounts(app, "pirate@example.fr") == 0
        assert journal(app)[-1] == ("refused", "untrusted_address", "127.0.0.1")


def test_waitress_trusting_every_peer_for_forwarded_headers_still_checks_the_real_peer(app):
    """trusted_proxy="*" lets any client choose REMOTE_ADDR: a check on it would be fooled."""
    with served(
        app, trusted_proxy="*", trusted_proxy_count=1, trusted_proxy_headers={"x-forwarded-for"}
    ) as port:
        forged = {**IDENTITY, "ct-remote-user": "pirate", "ctemail": "pirate@example.fr"}
        response = get(port, "/", {**forged, "X-Forwarded-For": PORTAL_PROXY}, "127.0.0.1")
        assert response.getheader("Location") == "/intervenant"
        assert accounts(app, "pirate@example.fr") == 0
        assert journal(app) == [("refused", "untrusted_address", f"127.0.0.1 → {PORTAL_PROXY}")]


def test_waitress_drops_identity_headers_spelt_with_underscores(app):
    """ct_remote_user and ct-remote-user are one WSGI variable: waitress keeps only the second."""
    with served(app) as port:
        # Sent first: were it kept, it would be the value the app reads.
        smuggled = {"ct_remote_user": "admin", **IDENTITY}
        response = get(port, "/", smuggled, PORTAL_PROXY)
        assert response.getheader("Location") == "/missions"
    with database(app) as db:
        assert db.scalar(select(AuthEvent.subject).where(AuthEvent.action == "sign_in")) == (
            "jdupont"
        )


# --- nginx as the portal's proxy ------------------------------------------------------------


@pytest.fixture
def behind_nginx(app, tmp_path):
    with portal_in_front(app, tmp_path, SECRET) as ports:
        yield ports


def test_through_nginx_the_portal_user_lands_on_his_missions_and_signs_out_to_the_portal(
    app, behind_nginx
):
    base = f"http://127.0.0.1:{behind_nginx['portal_port']}"
    browser = requests.Session()
    browser.cookies.set("portail_test", "jeton-jeanne")
    # Gestionnaire of DEC2 through the mapped group: her home is the DEC's queue.
    page = browser.get(base + "/", timeout=30)
    assert page.status_code == 200
    assert page.url == base + "/gestion"
    assert "Jeanne DUPONT" in plain(page.text)

    response = browser.post(base + "/deconnexion", data={"csrf_token": csrf_from(page.text)})
    # Our page, that goes on to the portal's sign-out (FrEduUrlRetour)…
    assert response.url == base + "/au-revoir"
    target = base + "/deconnexion-portail"
    assert f'<meta http-equiv="refresh" content="0; url={target}">' in response.text
    assert "déconnecté du portail" in browser.get(target, timeout=30).text
    actions = [action for action, _, _ in journal(app)]
    assert actions == ["account_created", "rights_changed", "sign_in"]
    assert journal(app)[-1][2] == f"{PORTAL_PROXY} → 127.0.0.1"


def test_through_nginx_headers_sent_by_the_client_are_replaced_by_the_portal(app, behind_nginx):
    base = f"http://127.0.0.1:{behind_nginx['portal_port']}"
    browser = requests.Session()
    browser.cookies.set("portail_test", "jeton-jeanne")
    smuggled = {
        "CT-REMOTE-USER": "admin",
        "ctEmail": "admin@example.fr",
        "ct_remote_user": "admin",
        "X-Imagin-Portal-Secret": "guess",
    }
    page = browser.get(base + "/missions", headers=smuggled)
    assert "Jeanne DUPONT" in plain(page.text)
    with database(app) as db:
        subjects = set(db.scalars(select(AuthEvent.subject)))
    assert subjects == {"jdupont"}


def test_through_nginx_nobody_passes_without_the_portal(app, behind_nginx):
    base = f"http://127.0.0.1:{behind_nginx['portal_port']}"
    assert requests.get(base + "/missions", headers=IDENTITY, timeout=30).status_code == 401


def test_the_public_door_forwards_forged_headers_and_the_app_ignores_them(app, behind_nginx):
    base = f"http://127.0.0.1:{behind_nginx['public_port']}"
    forged = {**IDENTITY, "ct-remote-user": "pirate", "ctemail": "pirate@example.fr"}
    response = requests.get(base + "/missions", headers=forged, allow_redirects=False, timeout=30)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/intervenant?next=%2Fmissions")
    assert accounts(app, "pirate@example.fr") == 0
    assert journal(app) == [("refused", "untrusted_address", "127.0.0.1")]
    # Outside intervenants sign in there as before.
    page = requests.get(base + "/intervenant", timeout=30)
    assert "Vous êtes intervenant extérieur" in plain(page.text)
