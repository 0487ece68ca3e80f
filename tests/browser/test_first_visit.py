"""One round trip on a slow link (issue 14, item 5), in Chromium.

The sign-in page and the error pages are styled and work with every external
stylesheet and script refused (as if they had not arrived yet), and the page
after sign-in takes its stylesheets and scripts from the cache the sign-in page
filled. Times are measured in bench/slow3g.py, never here.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from imagin.demo import DEMO_PASSWORD
from tests.browser.conftest import PHONE, open_page
from tests.conftest import CLAIRE

SHOTS = Path(tempfile.gettempdir()) / "imagin-screenshots"
SHOTS.mkdir(exist_ok=True)
BLUE = "rgb(0, 0, 145)"  # --blue, from the inline stylesheet


def refuse(page: Page, pattern: str) -> list[str]:
    refused: list[str] = []

    def abort(route: Route) -> None:
        refused.append(route.request.url)
        route.abort()

    page.route(pattern, abort)
    return refused


def style(page: Page, selector: str, prop: str) -> str:
    return page.locator(selector).first.evaluate(
        f"element => getComputedStyle(element).getPropertyValue({prop!r})"
    )


def test_the_sign_in_page_is_styled_and_signs_in_without_its_files(new_context):
    page, errors = open_page(new_context, viewport=PHONE)
    refused = refuse(page, re.compile(r"/static/.*\.(css|js)(\?|$)"))
    page.goto("/intervenant")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    # Styled by the inline sheet (the CSP allowed it: no violation in the console).
    assert style(page, "button.button", "background-color") == BLUE
    assert style(page, ".brand", "border-left-color") == BLUE
    assert style(page, ".field__input", "width") == style(page, "form", "width")
    assert not [m for m in errors.messages if "Content Security Policy" in m], errors.messages
    page.screenshot(path=str(SHOTS / "sign-in-without-files-360.png"), full_page=True)
    # Signing in needs no script: the form posts, the list comes.
    page.get_by_label("Adresse électronique").fill(CLAIRE)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/missions$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    assert any(url.endswith(".css") or ".css?" in url for url in refused)
    assert any(".js?" in url for url in refused)


def test_an_error_page_is_styled_without_its_stylesheets(new_context):
    page, errors = open_page(new_context)
    refuse(page, re.compile(r"/static/.*\.css(\?|$)"))
    response = page.goto("/cette-page-n-existe-pas")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert style(page, ".card", "border-top-style") == "solid"
    assert style(page, ".brand__name", "color") == BLUE
    assert not [m for m in errors.messages if "Content Security Policy" in m], errors.messages
    page.screenshot(path=str(SHOTS / "error-without-css-1280.png"), full_page=True)


def test_the_list_after_sign_in_takes_its_files_from_the_cache(new_context):
    page, errors = open_page(new_context)
    fetched: list[str] = []
    page.context.on(
        "requestfinished",
        lambda request: "/static/" in request.url and fetched.append(request.url),
    )
    page.goto("/intervenant")
    # The shared files come in the background while the visitor types.
    shared = ("base.css", "app.css", "htmx-2.0.11.min.js", "app.js")

    def arrived() -> bool:
        return all(any(f"/static/{name}?" in url for url in fetched) for name in shared)

    # (Events are delivered while Playwright waits: none is missed between two checks.)
    while not arrived():
        page.wait_for_event("requestfinished", timeout=5000)
    page.get_by_label("Adresse électronique").fill(CLAIRE)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    clicked = page.evaluate("() => performance.now()")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    expect(page).to_have_url(re.compile(r"/missions$"))
    # htmx swapped the list into this document (auth/boosted.py): its scripts are already
    # running; its stylesheets came from the cache (no bytes transferred).
    transfers = page.evaluate(
        """clicked => performance.getEntriesByType('resource')
            .filter(e => e.startTime >= clicked && /\\/static\\/.*\\.(css|js)\\?/.test(e.name))
            .map(e => [e.name, e.transferSize])""",
        clicked,
    )
    names = sorted(re.search(r"/static/([^?]+)", name).group(1) for name, _ in transfers)
    assert names == ["app.css", "base.css"]
    assert [name for name, size in transfers if size != 0] == []
    assert style(page, ".brand__name", "color") == BLUE
    assert errors.messages == []
