"""Supporting documents in a real browser: one request per file with its progress bar and
a big photo made smaller before sending (JavaScript), the plain form (no JavaScript),
deleting, and the section at 360 px."""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import delete, select

from imagin.db import get_db
from imagin.models import Claim, Document, Mission, TravelLeg
from tests.browser.conftest import DESKTOP, PHONE, open_page, sign_in
from tests.builders import pdf_of_size, pypdf_pdf

TAB = "/missions/621/deplacement"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
MIB = 1024 * 1024
LONG_NAME = "facture-hotel-du-lion-d-or-alencon-nuit-du-1er-au-2-decembre-2022-scan-couleur.pdf"

# Records what the page shows of each upload: every <progress> added, and the value each
# htmx:xhr:progress event left in it (listening on window runs after app.js's listener).
RECORD_PROGRESS = """
window.__uploads = { bars: 0, values: [], sameDocument: true };
new MutationObserver(function (changes) {
  changes.forEach(function (change) {
    change.addedNodes.forEach(function (node) {
      if (node.querySelector && node.querySelector("progress")) window.__uploads.bars += 1;
    });
  });
}).observe(document, { childList: true, subtree: true });
window.addEventListener("htmx:xhr:progress", function (event) {
  var bar = event.target.querySelector && event.target.querySelector(".upload__progress");
  if (bar) window.__uploads.values.push(bar.value);
});
"""


@pytest.fixture
def train_621(live_app, fresh_621):
    """Mission 621 reset, without documents, and with one train leg: its ticket is to send."""
    with live_app.app_context():
        db = get_db()
        claim = db.scalar(select(Claim).join(Mission).where(Mission.number == 621))
        for document in claim.documents:
            (Path(live_app.config["UPLOAD_DIR"]) / document.stored_name).unlink(missing_ok=True)
        db.execute(delete(Document).where(Document.claim_id == claim.id))
        at = dt.datetime(2022, 12, 2)
        db.add(
            TravelLeg(
                claim_id=claim.id,
                departure_at=at.replace(hour=7),
                departure_city="ST LO",
                arrival_at=at.replace(hour=9),
                arrival_city="ALENCON CEDEX",
                mode="train",
                fare_cents=3550,
            )
        )
        db.commit()


def stored(live_app) -> list[Document]:
    with live_app.app_context():
        return list(
            get_db().scalars(
                select(Document)
                .join(Claim, Document.claim_id == Claim.id)
                .join(Mission, Claim.mission_id == Mission.id)
                .where(Mission.number == 621)
                .order_by(Document.original_name)
            )
        )


def photo(size: tuple[int, int], *, noise: bool = False, quality: int = 85) -> bytes:
    """A phone-like photo: smooth gradients (a receipt on a table), or noise to be heavy."""
    width, height = size
    if noise:
        rng = random.Random(7)
        image = Image.frombytes("RGB", size, rng.randbytes(width * height * 3))
    else:
        image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def document_rows(page: Page) -> Locator:
    """The documents sent (upload rows in progress or refused have no id)."""
    return page.locator("#documents-list li.documents__item[id]")


def choose(page: Page, *files: tuple[str, str, bytes]) -> None:
    # Megabytes go through the driver's pipe: on a loaded machine that takes its time.
    page.locator("#pieces-files").set_input_files(
        [{"name": name, "mimeType": kind, "buffer": data} for name, kind, data in files],
        timeout=60_000,
    )


def send_chosen(page: Page) -> None:
    """With JavaScript: each chosen file waits in its row, with its choice, until sent."""
    page.locator("#pieces").get_by_role("button", name="Envoyer les documents").click()


def refs(live_app) -> dict[str, list[str]]:
    """What each of 621's documents justifies, by name."""
    with live_app.app_context():
        found = get_db().scalars(
            select(Document)
            .join(Claim, Document.claim_id == Claim.id)
            .join(Mission, Claim.mission_id == Mission.id)
            .where(Mission.number == 621)
        )
        return {d.original_name: [str(ref) for ref in d.refs] for d in found}


def test_with_javascript_each_file_uploads_on_its_own_with_progress_and_photos_shrink(
    new_context, live_app, train_621
):
    page, errors = open_page(new_context)
    page.add_init_script(RECORD_PROGRESS)
    sign_in(page)
    page.goto("/missions/621/suivi")
    # Through the tab, as users go: the section then comes in a request of its own.
    page.get_by_role("tab", name="Frais déplacement").click()
    section = page.locator("#pieces")
    expect(section.locator(".receipts-check__item")).to_contain_text("à fournir")
    # With JavaScript each file gets its own choice: the form's own list is hidden.
    expect(section.locator(".upload-form__receipts")).to_be_hidden()
    page.evaluate("window.__uploads.sameDocument = 'tagged'")

    big_photo = photo((3000, 2000))
    heavy_photo = photo((2400, 1800), noise=True, quality=100)
    assert len(heavy_photo) > 5 * MIB
    choose(
        page,
        ("billet-train.pdf", "application/pdf", pypdf_pdf(2)),
        ("ticket.jpg", "image/jpeg", big_photo),
        ("lourde.jpg", "image/jpeg", heavy_photo),
        ("scan-enorme.pdf", "application/pdf", pdf_of_size(5 * MIB + 10)),
    )
    # The first file gets the ticket still to provide; the others, nothing yet.
    pending = section.locator("li.upload--pending")
    expect(pending).to_have_count(3)
    expect(pending.first.get_by_label(re.compile("Billet — Train ST LO"))).to_be_checked()
    expect(pending.nth(1).get_by_label(re.compile("Billet — Train ST LO"))).not_to_be_checked()
    send_chosen(page)

    expect(document_rows(page)).to_have_count(3)
    # A PDF over 5 Mo cannot be made smaller here: said beside it, never sent.
    refused = section.locator("li.upload--failed")
    expect(refused).to_contain_text("scan-enorme.pdf")
    expect(refused).to_contain_text("Le fichier dépasse 5 Mo : envoyez une version plus légère.")
    expect(section.locator(".receipts-check__item")).to_contain_text("fourni")

    kept = {d.original_name: d for d in stored(live_app)}
    assert sorted(kept) == ["billet-train.pdf", "lourde.jpg", "ticket.jpg"]
    folder = Path(live_app.config["UPLOAD_DIR"])
    with Image.open(folder / kept["ticket.jpg"].stored_name) as image:
        assert image.size == (2500, 1667)
    assert kept["lourde.jpg"].size < 5 * MIB
    justified = refs(live_app)
    assert justified["ticket.jpg"] == justified["lourde.jpg"] == []
    assert [ref.split(":")[0] for ref in justified["billet-train.pdf"]] == ["leg"]

    uploads = page.evaluate("window.__uploads")
    assert uploads["bars"] >= 4, uploads
    assert uploads["values"] and max(uploads["values"]) == 100, uploads
    assert uploads["sameDocument"] == "tagged", "a full page load happened"
    assert [m for m in errors.messages if "status of 413" not in m] == []

    # Delete one, after the browser's confirmation: its row goes, the checklist follows.
    page.once("dialog", lambda dialog: dialog.accept())
    document_rows(page).filter(has_text="ticket.jpg").get_by_role(
        "link", name=re.compile("^Supprimer")
    ).click()
    expect(document_rows(page)).to_have_count(2)
    assert sorted(d.original_name for d in stored(live_app)) == ["billet-train.pdf", "lourde.jpg"]


def test_server_refusal_shows_beside_the_file_and_the_others_go_on(
    new_context, live_app, train_621
):
    page, errors = open_page(new_context)
    sign_in(page)
    page.goto(TAB)
    choose(
        page,
        ("faux.pdf", "application/pdf", b"%PDF-1.4 this is not a pdf"),
        ("billet.pdf", "application/pdf", pypdf_pdf()),
    )
    send_chosen(page)
    expect(document_rows(page)).to_have_count(1)
    refused = page.locator("li.upload--failed")
    expect(refused).to_contain_text("faux.pdf")
    expect(refused.get_by_role("alert")).to_contain_text("Ce fichier PDF est endommagé")
    expect(refused.locator("progress")).to_be_hidden()
    # The refusal stayed in its row: nothing in the page's alert area.
    expect(page.locator("#alerts")).to_be_empty()
    assert [d.original_name for d in stored(live_app)] == ["billet.pdf"]
    assert [m for m in errors.messages if "status of 422" not in m] == []


def test_without_javascript_the_plain_form_sends_all_then_comes_back(
    new_context, live_app, train_621
):
    page, _ = open_page(new_context, java_script_enabled=False)
    sign_in(page)
    page.goto(TAB)
    section = page.locator("#pieces")
    expect(section.get_by_text("Aucun document envoyé.")).to_be_visible()
    # The ticket still to provide comes checked.
    expect(
        section.get_by_label("Billet — Train ST LO → ALENCON CEDEX du 02/12/2022")
    ).to_be_checked()
    choose(
        page,
        ("billet.pdf", "application/pdf", pypdf_pdf()),
        ("photo.exe", "application/octet-stream", b"MZ"),
    )
    section.get_by_role("button", name="Envoyer les documents").click()
    # Back on the messages, beside the form, not at the top of the page.
    expect(page).to_have_url(re.compile(r"/missions/621/deplacement#pieces-messages$"))
    messages = page.locator("#pieces-messages")
    expect(messages).to_be_in_viewport()
    expect(messages.get_by_text("« billet.pdf » envoyé.")).to_be_visible()
    refused = page.get_by_text("« photo.exe » n'a pas été enregistré : Format non accepté")
    expect(refused).to_be_visible()
    expect(document_rows(page)).to_have_count(1)
    expect(document_rows(page).first).to_contain_text("Justifie : Billet — Train ST LO")
    expect(section.get_by_text("Aucun document envoyé.")).to_be_hidden()

    document_rows(page).first.get_by_role("link", name=re.compile("^Supprimer")).click()
    expect(page).to_have_url(re.compile(r"/pieces/\d+/supprimer$"))
    page.get_by_role("button", name="Supprimer le document").click()
    expect(page).to_have_url(re.compile(r"/missions/621/deplacement#pieces-messages$"))
    expect(page.get_by_text("« billet.pdf » supprimé.")).to_be_visible()
    expect(document_rows(page)).to_have_count(0)
    assert stored(live_app) == []


def test_the_section_fits_a_phone(new_context, train_621):
    page, errors = open_page(new_context, viewport=PHONE)
    sign_in(page)
    page.goto(TAB)
    choose(
        page,
        (LONG_NAME, "application/pdf", pypdf_pdf()),
        ("ticket.jpg", "image/jpeg", photo((1200, 900))),
        ("faux.pdf", "application/pdf", b"%PDF-1.4 broken"),
    )
    send_chosen(page)
    expect(document_rows(page)).to_have_count(2)
    expect(page.locator("li.upload--failed")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for row in document_rows(page).all():
        box = row.get_by_role("link", name=re.compile("^Supprimer")).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    assert [m for m in errors.messages if "status of 422" not in m] == []


@pytest.mark.skipif(
    os.environ.get("IMAGIN_SCREENSHOTS") != "1", reason="set IMAGIN_SCREENSHOTS=1 to take them"
)
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_screenshots_of_the_documents_section(new_context, train_621, viewport):
    SCREENSHOTS.mkdir(exist_ok=True)
    page, _ = open_page(new_context, viewport=viewport)
    sign_in(page)
    page.goto(TAB)
    choose(
        page,
        (LONG_NAME, "application/pdf", pypdf_pdf()),
        ("ticket.jpg", "image/jpeg", photo((3000, 2000))),
        ("faux.pdf", "application/pdf", b"%PDF-1.4 broken"),
    )
    send_chosen(page)
    expect(document_rows(page)).to_have_count(2)
    expect(page.locator("li.upload--failed")).to_have_count(1)
    # One upload caught half-way: the network is slowed down for it.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 50, "downloadThroughput": -1, "uploadThroughput": 64_000},
    )
    choose(page, ("hotel.jpg", "image/jpeg", photo((1600, 1200), noise=True)))
    send_chosen(page)
    bar = page.locator("li.upload progress").last
    page.wait_for_function(
        "() => { const b = document.querySelector('li.upload:not(.upload--failed) progress');"
        " return b && b.value >= 20; }",
        timeout=20_000,
    )
    expect(bar).to_be_visible()
    page.locator("#pieces").scroll_into_view_if_needed()
    width = viewport["width"]
    page.screenshot(path=SCREENSHOTS / f"8-mission-621-pieces-{width}.png", full_page=True)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    expect(document_rows(page)).to_have_count(3, timeout=30_000)
