"""OpenID Connect mode in Chromium, against the real test provider (tests/oidc).

IMAG'IN is served by waitress; the provider is started once its address is
known, with IMAG'IN's callback registered; the browser goes back and forth
between the two like a staff member would.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import waitress
from playwright.sync_api import Page, expect

from imagin import create_app
from tests.browser.conftest import DESKTOP, PHONE, _fresh_database, open_page
from tests.integration.test_portal_oidc import oidc_config
from tests.oidc import Client, missing, running_provider
from tests.threaded_server import running

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PORTAL_BUTTON = "Personnel de l'académie : se connecter avec le portail"


@pytest.fixture(scope="module")
def base_url(template_database, demo_password_hash, tmp_path_factory):
    folder = tmp_path_factory.mktemp("portal-oidc")
    # The server's address is needed to register the client, and the provider's to make the
    # app: the server starts first with the app put in afterwards.
    holder = {}
    server = waitress.create_server(
        lambda environ, start_response: holder["app"](environ, start_response),
        host="127.0.0.1",
        port=0,
        threads=4,
    )
    url = f"http://127.0.0.1:{server.effective_port}"
    client = Client("imagin", url + "/portail/retour", url + "/intervenant")
    with running_provider(folder, [client]) as issuer:
        holder["app"] = app = create_app(
            oidc_config(
                _fresh_database(template_database, folder, demo_password_hash), folder, issuer
            )
        )
        with running(server):
            yield url
        app.extensions["imagin.engine"].dispose()


def imagin_errors(errors, base_url: str) -> list[str]:
    """Console errors of IMAG'IN's pages (the test provider's pages are not ours)."""
    return [m for m in errors.messages if base_url in m or "127.0.0.1" not in m]


def sign_in_at_provider(page: Page, login: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Portail de test")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_role("button", name="Se connecter au portail").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_staff_member_signs_in_at_the_provider_and_signs_out_there(
    new_context, base_url, javascript
):
    page, errors = open_page(new_context, java_script_enabled=javascript)
    page.goto("/")
    page.get_by_role("link", name=PORTAL_BUTTON).click()
    sign_in_at_provider(page, "cmartin")
    expect(page).to_have_url(base_url + "/missions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    expect(page.get_by_text("Claire MARTIN")).to_be_visible()
    expect(page.locator("tr", has_text="621")).to_have_count(1)

    page.get_by_role("button", name="Se déconnecter").click()
    # The provider's end of session: it asks, then sends the browser back to IMAG'IN.
    expect(page.get_by_role("heading", level=1)).to_have_text("Déconnexion du portail")
    page.get_by_role("button", name="Oui, me déconnecter").click()
    expect(page).to_have_url(re.compile(re.escape(base_url) + r"/intervenant(\?.*)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.goto("/missions")
    expect(page).to_have_url(re.compile(r"/intervenant\?next="))
    # Signed out at the provider too: it asks who is there again.
    page.get_by_role("link", name=PORTAL_BUTTON).click()
    expect(page.get_by_label("Identifiant")).to_be_visible()
    assert imagin_errors(errors, base_url) == []


def test_gestionnaire_from_the_groups_lands_on_the_queue_and_next_is_kept(new_context, base_url):
    page, errors = open_page(new_context)
    page.goto("/gestion/paiement")
    expect(page).to_have_url(re.compile(r"/intervenant\?next="))
    page.get_by_role("link", name=PORTAL_BUTTON).click()
    sign_in_at_provider(page, "jdupont")
    expect(page).to_have_url(base_url + "/gestion/paiement")
    expect(page.get_by_text("Jeanne DUPONT")).to_be_visible()
    assert imagin_errors(errors, base_url) == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_a_forged_answer_gets_a_french_page(new_context, base_url, viewport):
    page, _errors = open_page(new_context, viewport=viewport)
    response = page.goto("/portail/retour?code=vole&state=fabrique")
    assert response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion refusée")
    expect(page.get_by_text("ne correspond à aucune connexion en cours")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    # From there, the way back in.
    page.get_by_role("link", name="Recommencer la connexion par le portail").click()
    expect(page.get_by_label("Identifiant")).to_be_visible()
    if os.environ.get("IMAGIN_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        page.goto("/portail/retour?code=vole&state=fabrique")
        page.screenshot(
            path=SCREENSHOTS / f"portail-5-refus-{viewport['width']}.png", full_page=True
        )
