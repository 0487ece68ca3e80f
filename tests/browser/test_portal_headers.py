"""Headers mode in Chromium: nginx plays the académie portal's proxy in front of IMAG'IN.

A staff member authenticated at the (test) portal opens IMAG'IN through the
portal's door and is signed in at once; signing out sends him back to the
portal. The public door is where outside intervenants (and staff who did not
come through the portal) see the sign-in page with its two ways.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from imagin import create_app
from tests.browser.conftest import DESKTOP, PHONE, _fresh_database, open_page
from tests.integration.test_portal_headers import SECRET, portal_config
from tests.portal_proxy import PORTAL_PROXY, free_port, portal_in_front

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PORTAL_BUTTON = "Personnel de l'académie : se connecter avec le portail"


@pytest.fixture(scope="module")
def doors(template_database, demo_password_hash, tmp_path_factory):
    folder = tmp_path_factory.mktemp("portal-headers")
    portal_port = free_port()
    app = create_app(
        portal_config(
            _fresh_database(template_database, folder, demo_password_hash),
            folder,
            SSO_TRUSTED_PROXIES=[f"{PORTAL_PROXY}/32"],
            SSO_PORTAL_URL=f"http://127.0.0.1:{portal_port}/",
        )
    )
    with portal_in_front(app, folder, SECRET, portal_port=portal_port) as ports:
        yield {
            "portal": f"http://127.0.0.1:{ports['portal_port']}",
            "public": f"http://127.0.0.1:{ports['public_port']}",
        }
    app.extensions["imagin.engine"].dispose()


@pytest.fixture(scope="module")
def base_url(doors):
    return doors["portal"]


def portal_user(context, token: str = "jeton-claire") -> None:  # noqa: S107 (not a secret)
    """The browser is signed in at the portal (its cookie, valid for both doors)."""
    context.add_cookies([{"name": "portail_test", "value": token, "url": "http://127.0.0.1"}])


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_staff_member_opens_imagin_from_the_portal_and_signs_out_to_it(
    new_context, doors, javascript
):
    page, errors = open_page(new_context, java_script_enabled=javascript)
    portal_user(page.context)
    page.goto("/")
    expect(page).to_have_url(doors["portal"] + "/missions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    expect(page.get_by_text("Claire MARTIN")).to_be_visible()
    expect(page.locator("tr", has_text="621")).to_have_count(1)

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(doors["portal"] + "/deconnexion-portail")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vous êtes déconnecté du portail")
    # Signed out of the portal too: its door lets nobody in now.
    response = page.goto("/missions")
    assert response.status == 401
    assert errors.messages == [] or all("401" in m for m in errors.messages)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_sign_in_page_shows_both_ways_and_the_portal_one_works(
    new_context, doors, viewport, javascript
):
    page, errors = open_page(new_context, viewport=viewport, java_script_enabled=javascript)
    page.goto(doors["public"] + "/intervenant")
    portal = page.get_by_role("region", name="Vous êtes personnel de l'académie")
    outside = page.get_by_role("region", name="Vous êtes intervenant extérieur")
    expect(portal).to_be_visible()
    expect(outside.get_by_label("Adresse électronique")).to_be_visible()
    button = portal.get_by_role("link", name=PORTAL_BUTTON)
    expect(button).to_be_visible()
    # Nothing wider than the screen, and the two ways side by side only where there is room.
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    portal_box, outside_box = portal.bounding_box(), outside.bounding_box()
    if viewport == DESKTOP:
        assert abs(portal_box["y"] - outside_box["y"]) < 1
        assert portal_box["x"] < outside_box["x"]
    else:
        assert portal_box["y"] + portal_box["height"] <= outside_box["y"]

    # A staff member who landed here goes through the portal, and is back signed in.
    portal_user(page.context)
    button.click()
    expect(page).to_have_url(doors["portal"] + "/missions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    assert errors.messages == []


def test_outside_intervenant_signs_in_at_the_public_door(new_context, doors):
    page, errors = open_page(new_context)
    page.goto(doors["public"] + "/intervenant")
    page.get_by_label("Adresse électronique").fill("paul.durand@example.fr")
    page.get_by_label("Mot de passe").fill("imagin-demo")
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(doors["public"] + "/missions")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(doors["public"] + "/intervenant")
    assert errors.messages == []


@pytest.mark.skipif(
    os.environ.get("IMAGIN_SCREENSHOTS") != "1", reason="set IMAGIN_SCREENSHOTS=1 to take them"
)
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_screenshots_of_the_portal_pages(new_context, doors, viewport):
    SCREENSHOTS.mkdir(exist_ok=True)
    width = viewport["width"]
    page, _errors = open_page(new_context, viewport=viewport)

    def shoot(name: str) -> None:
        page.screenshot(path=SCREENSHOTS / f"portail-{name}-{width}.png", full_page=True)

    page.goto(doors["public"] + "/intervenant")
    shoot("1-connexion")
    portal_user(page.context, "jeton-jeanne")
    page.goto("/")
    shoot("2-gestion-par-le-portail")
    page.context.clear_cookies()
    page.goto(doors["public"] + "/intervenant")
    page.get_by_label("Adresse électronique").fill("admin@example.fr")
    page.get_by_label("Mot de passe").fill("imagin-demo")
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(doors["public"] + "/gestion")
    page.goto(doors["public"] + "/admin/comptes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Comptes")
    shoot("3-comptes")
    page.goto(doors["public"] + "/admin/connexions")
    shoot("4-journal")
    page.goto(doors["public"] + "/admin/comptes?way=portail")
    expect(page.locator("tbody tr")).not_to_have_count(0)
    assert re.search("Portail \\(en-têtes\\)", page.content())


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_portal_pages_have_no_axe_violations(new_context, doors, viewport):
    from tests.browser.test_accessibility import axe_report

    page, errors = open_page(new_context, viewport=viewport)
    reports = []
    page.goto(doors["public"] + "/intervenant")
    reports.append(axe_report(page))
    page.goto(doors["public"] + "/intervenant")
    page.get_by_label("Adresse électronique").fill("admin@example.fr")
    page.get_by_label("Mot de passe").fill("imagin-demo")
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(doors["public"] + "/gestion")
    for path in ("/admin/comptes", "/admin/comptes?way=portail", "/admin/connexions"):
        page.goto(doors["public"] + path)
        reports.append(axe_report(page))
    failures = [report for report in reports if report]
    assert not failures, "\n\n".join(failures)
    assert errors.messages == []
