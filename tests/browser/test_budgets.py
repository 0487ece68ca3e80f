"""Byte budgets, counted as compressed bytes on the wire (never as time).

A first visit (empty cache) to the sign-in page, then signing in and landing
on the list (in the sign-in's answer, with JavaScript), must fit in 35 KB; the
fragments HTMX swaps in 6 KB each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import BrowserContext, Page, Response, expect

from tests.browser.conftest import TABS, open_page, sign_in

KB = 1024
FIRST_VISIT_BUDGET = 35 * KB
FRAGMENT_BUDGET = 6 * KB
COMPRESSIBLE = re.compile(r"text/html|text/css|javascript")
# Flask-Compress leaves smaller bodies alone (COMPRESS_MIN_SIZE).
COMPRESS_MIN_SIZE = 300


@dataclass
class Transfer:
    method: str
    url: str
    status: int
    encoding: str | None
    wire: int  # compressed body bytes, as sent
    decoded: int  # body bytes once decompressed


def measure(response: Response) -> Transfer:
    headers = response.headers
    if 300 <= response.status < 400:
        decoded = int(headers.get("content-length", 0))
    else:
        decoded = len(response.body())
    length = headers.get("content-length")
    return Transfer(
        response.request.method,
        response.url,
        response.status,
        headers.get("content-encoding"),
        int(length) if length is not None else decoded,
        decoded,
    )


def check_compressed(response: Response, transfer: Transfer) -> None:
    """A compressible body worth compressing must arrive with br or gzip."""
    accept = response.request.all_headers().get("accept-encoding")
    # A stylesheet the page prefetched, then linked, may come from the cache: Chromium
    # reports that load without the Accept-Encoding the prefetch was sent with.
    if accept is not None:
        assert "br" in accept and "gzip" in accept, accept
    content_type = response.headers.get("content-type", "")
    if COMPRESSIBLE.search(content_type) and transfer.decoded >= COMPRESS_MIN_SIZE:
        assert transfer.encoding in ("br", "gzip"), f"{transfer.url} is not compressed"
        assert transfer.wire < transfer.decoded


def record(context: BrowserContext) -> list[tuple[Response, Transfer]]:
    """Every response the context receives, redirects included, in order.

    Measured as soon as it is complete: a body is gone once its page is left.
    """
    responses: list[tuple[Response, Transfer]] = []

    def finished(request) -> None:
        response = request.response()
        assert response is not None
        responses.append((response, measure(response)))

    context.on("requestfinished", finished)
    return responses


def report(title: str, transfers: list[Transfer]) -> int:
    total = sum(t.wire for t in transfers)
    lines = [f"\n{title}: {total} bytes ({total / KB:.1f} KB) on the wire"]
    for t in transfers:
        path = re.sub(r"^https?://[^/]+", "", t.url)
        lines.append(
            f"  {t.method:4} {t.status} {path:60} {t.wire:6} B {t.encoding or 'identity':8}"
            f" ({t.decoded} B decoded)"
        )
    print("\n".join(lines))
    return total


def test_first_visit_fits_in_35_kb(new_context):
    context = new_context()
    responses = record(context)
    page = context.new_page()
    sign_in(page)
    page.wait_for_load_state("load")
    expect(page.locator("table.missions")).to_be_visible()

    transfers = []
    seen = set()
    for response, transfer in responses:
        key = (transfer.method, transfer.url, transfer.status)
        # Static files are fetched once, then come from the cache (no transfer).
        if key in seen and "/static/" in transfer.url:
            continue
        seen.add(key)
        check_compressed(response, transfer)
        transfers.append(transfer)

    kinds = {(t.method, re.sub(r"^https?://[^/]+", "", t.url).split("?")[0]) for t in transfers}
    assert {("GET", "/intervenant"), ("POST", "/intervenant")} <= kinds
    # The list comes in the POST's answer (htmx, auth/boosted.py): no redirect, no GET.
    assert [t.status for t in transfers if t.method == "POST"] == [200]
    assert ("GET", "/missions") not in kinds
    assert any(t.url.endswith(".css") or ".css?" in t.url for t in transfers)
    assert any(".js?" in t.url for t in transfers)
    total = report("First visit: sign-in page, sign in, mission list", transfers)
    assert total <= FIRST_VISIT_BUDGET, f"{total} bytes > {FIRST_VISIT_BUDGET}"


def fragment(page: Page, action, predicate) -> Transfer:
    with page.expect_response(predicate) as info:
        action()
    response = info.value
    assert response.request.all_headers().get("hx-request") == "true"
    transfer = measure(response)
    check_compressed(response, transfer)
    assert "<html" not in response.text()
    return transfer


def test_fragments_fit_in_6_kb(new_context):
    page, errors = open_page(new_context)
    sign_in(page)
    status = page.get_by_label("Statut")
    filtered = fragment(
        page,
        lambda: status.select_option("mis_en_paiement"),
        lambda r: "status=mis_en_paiement" in r.url,
    )
    # Back to every status: the biggest page of rows.
    everything = fragment(
        page, lambda: status.select_option(""), lambda r: "/missions?" in r.url and r.ok
    )
    rows = [filtered, everything]
    report("Filter: rows fragment", rows)

    page.goto(TABS[0][1])
    panels = []
    for label, path in [*TABS[1:], TABS[0]]:
        tab = page.get_by_role("tab", name=label, exact=True)
        panels.append(fragment(page, tab.click, lambda r, path=path: r.url.endswith(path)))
        expect(tab).to_have_attribute("aria-selected", "true")
    report("Mission tabs: tab panel fragment", panels)

    for transfer in rows + panels:
        assert transfer.wire <= FRAGMENT_BUDGET, f"{transfer.url}: {transfer.wire} bytes"
    assert errors.messages == []
