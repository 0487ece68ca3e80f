"""Issue 11 in a real browser: an expired form comes back filled, never re-posted for the
user; a forged page posting to the app offers nothing to click."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, open_page, sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_an_expired_profile_form_comes_back_with_what_was_typed(new_context, javascript, viewport):
    page, _ = open_page(new_context, java_script_enabled=javascript, viewport=viewport)
    sign_in(page)
    page.goto("/profil")
    # As after hours away: signed in again in another tab, this page's token is stale.
    other = page.context.new_page()
    page.context.clear_cookies()
    sign_in(other)
    other.close()
    page.get_by_label("Commune de résidence familiale").fill("Saint-Jean-de-Braye")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("rien n'a été enregistré ni envoyé")).to_be_visible()
    expect(page.get_by_role("button", name="Renvoyer le formulaire")).to_have_count(0)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"csrf-expired-{viewport['width']}.png"))
    page.get_by_role("link", name="Revenir au formulaire").click()
    expect(page.get_by_label("Commune de résidence familiale")).to_have_value("Saint-Jean-de-Braye")


def test_a_forged_approval_page_offers_nothing_to_click(new_context, base_url):
    page, _ = open_page(new_context)
    sign_in(page, "dec.orleans@example.fr")
    # Another site's page posting the approval of a claim into the signed-in DEC's session.
    page.set_content(
        f'<form method="post" action="{base_url}/gestion/missions/815/deplacement/valider">'
        '<input name="version" value="1"><button>Gagner</button></form>'
    )
    page.get_by_role("button", name="Gagner").click()
    page.wait_for_load_state()
    main = page.locator("main")
    expect(main.locator("form")).to_have_count(0)
    expect(main.get_by_role("button")).to_have_count(0)
