"""The sign-in in one round trip (issue 14, item 5), in Chromium, with JavaScript and without.

With JavaScript, htmx posts the form and swaps in the list the POST answers with
(auth/boosted.py): the page must then be the list as a direct load shows it — styled
by the same stylesheets, at its address, with the new session's CSRF token for htmx —
and reload, Back and sign-out must work. Without JavaScript: POST, 303, GET, as before.
Times are measured in bench/slow3g.py, never here.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from imagin.demo import DEMO_PASSWORD
from tests.browser.conftest import DESKTOP, PHONE, open_page
from tests.conftest import CLAIRE, GESTIONNAIRE

SHOTS = Path(tempfile.gettempdir()) / "imagin-screenshots"
SHOTS.mkdir(exist_ok=True)
BAD = "Adresse électronique ou mot de passe incorrect."
# What a styled list shows: the frame (inline on the sign-in page, linked on the list)
# and the list's own parts (app.css only).
STYLED = {
    ".site-header": ["background-color", "border-bottom-width", "padding-top"],
    ".brand__name": ["color", "font-size", "font-weight"],
    ".site-nav a[aria-current]": ["color", "font-weight", "text-decoration-line"],
    "main h1": ["font-size", "margin-bottom", "color"],
    "table": ["border-collapse", "width", "font-size"],
    "th": ["text-align", "padding-left", "background-color", "font-size"],
    ".status": ["background-color", "color", "border-radius", "padding-left"],
    "form[role=search]": ["display", "gap"],
    "button.button--small": ["background-color", "font-size", "padding-top"],
}
COMPUTED = """styled => Object.fromEntries(Object.entries(styled).map(([selector, props]) => {
  const element = document.querySelector(selector);
  if (!element) return [selector, null];
  const style = getComputedStyle(element);
  return [selector, Object.fromEntries(props.map(p => [p, style.getPropertyValue(p)]))];
}))"""


def fill_and_submit(page: Page, email: str = CLAIRE, password: str = DEMO_PASSWORD) -> None:
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def open_sign_in(new_context, viewport, javascript: bool, path: str = "/intervenant"):
    page, errors = open_page(new_context, viewport=viewport, java_script_enabled=javascript)
    documents: list[tuple[str, str]] = []  # (method, path) of each page the browser loaded
    page.on(
        "request",
        lambda r: (
            r.is_navigation_request()
            and documents.append((r.method, re.sub(r"^https?://[^/]+", "", r.url)))
        ),
    )
    page.goto(path)
    if javascript:
        # htmx has processed the form (deferred script, run before "load").
        page.wait_for_function("() => window.htmx !== undefined")
    documents.clear()
    return page, errors, documents


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360px", "1280px"])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_signed_in_the_list_is_the_one_a_direct_load_shows(new_context, viewport, javascript):
    page, errors, documents = open_sign_in(new_context, viewport, javascript)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        fill_and_submit(page)
    expect(page).to_have_url(re.compile(r"/missions$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    expect(page).to_have_title(re.compile(r"Mes missions — IMAG'IN$"))
    if javascript:
        # One round trip: the POST's answer is the list, nothing loaded after it.
        assert posted.value.status == 200
        assert posted.value.headers["hx-push-url"] == "/missions"
        assert documents == []
    else:
        assert posted.value.status == 303
        assert documents == [("POST", "/intervenant"), ("GET", "/missions")]
    width = viewport["width"]
    shot = f"sign-in-{'js' if javascript else 'no-js'}-list-{width}.png"
    page.screenshot(path=str(SHOTS / shot), full_page=True)
    signed_in = page.evaluate(COMPUTED, STYLED)
    assert None not in signed_in.values(), signed_in

    # The same list loaded directly, in the same browser (same cookies, same cache).
    direct = page.context.new_page()
    direct.goto("/missions")
    assert direct.evaluate(COMPUTED, STYLED) == signed_in
    direct.close()
    assert errors.messages == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360px", "1280px"])
def test_after_a_javascript_sign_in_reload_back_and_sign_out_work(new_context, viewport):
    page, errors, documents = open_sign_in(new_context, viewport, javascript=True)
    fill_and_submit(page)
    expect(page).to_have_url(re.compile(r"/missions$"))
    # Focus where a new page puts it: the first Tab goes to the skip link.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    # Reload: the list again, by a GET (nothing posted again).
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    assert documents == [("GET", "/missions")]
    # Back to the sign-in page's entry: signed in, it shows the list (never a POST).
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    expect(page).to_have_url(re.compile(r"/missions$"))
    page.go_forward()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    assert all(method == "GET" for method, _path in documents)
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/intervenant$"))
    expect(page.get_by_text("Vous êtes déconnecté(e)")).to_be_visible()
    assert errors.messages == []


def test_htmx_requests_of_the_list_carry_the_new_sessions_token(new_context):
    """An unsafe request made by htmx (its CSRF token in the header, from the <body>)."""
    page, errors, _documents = open_sign_in(new_context, DESKTOP, javascript=True)
    before = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    fill_and_submit(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes missions")
    after = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    assert after != before
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.evaluate("() => htmx.ajax('POST', '/deconnexion', {target: '#alerts'})")
    assert posted.value.status == 303  # signed out; a CSRF refusal would be a 400
    assert posted.value.request.headers["x-csrftoken"] == after
    assert "csrf_token" not in (posted.value.request.post_data or "")
    page.goto("/missions")
    expect(page).to_have_url(re.compile(r"/intervenant\?next="))
    assert errors.messages == []


def test_a_gestionnaire_and_a_next_target_with_javascript(new_context):
    page, errors, documents = open_sign_in(new_context, DESKTOP, javascript=True)
    fill_and_submit(page, email=GESTIONNAIRE)
    expect(page).to_have_url(re.compile(r"/gestion$"))
    expect(page.get_by_role("link", name="Gestion")).to_have_attribute("aria-current", "page")
    assert documents == []
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/intervenant$"))
    assert errors.messages == []

    page, errors, documents = open_sign_in(
        new_context, DESKTOP, javascript=True, path="/intervenant?next=%2Fmissions%2F621"
    )
    fill_and_submit(page)
    expect(page).to_have_url(re.compile(r"/missions/621$"))
    assert documents == []
    # The tabs (htmx) work in the page swapped in.
    page.get_by_role("tab", name="Frais rémunération").click()
    expect(page).to_have_url(re.compile(r"/missions/621/remuneration$"))
    assert errors.messages == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_refusals_show_on_the_sign_in_page(new_context, javascript):
    page, errors, _documents = open_sign_in(new_context, PHONE, javascript)
    history = page.evaluate("() => history.length")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        fill_and_submit(page, password="wrong-password")
    assert posted.value.status == 422
    expect(page.get_by_role("alert").filter(has_text=BAD)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/intervenant$"))
    expect(page.get_by_label("Adresse électronique")).to_have_value(CLAIRE)
    if javascript:
        assert page.evaluate("() => history.length") == history  # no entry for a refusal
        # A page left open too long: its token no longer valid.
        page.evaluate(
            """() => {
              document.querySelector('input[name=csrf_token]').value = 'expired';
              document.body.setAttribute('hx-headers', '{"X-CSRFToken": "expired"}');
            }"""
        )
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            fill_and_submit(page)
        assert posted.value.status == 400
        expect(page.locator("#alerts")).to_contain_text("jeton de sécurité")
        # The form stays, as typed, to try again after reloading.
        expect(page.get_by_label("Adresse électronique")).to_have_value(CLAIRE)
        page.reload()
    fill_and_submit(page)
    expect(page).to_have_url(re.compile(r"/missions$"))
    # Console errors: the browser (and htmx) log the refused requests (422, 400) themselves.
    refused = re.compile(r"status of 4\d\d|Response Status Error Code 4\d\d")
    assert [m for m in errors.messages if not refused.search(m)] == []
