"""« Télécharger toutes les pièces (PDF) »: cover page, every document, right page count."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from imagin.documents.bundle import A4, build_bundle
from imagin.documents.checks import inspect_upload
from imagin.models import Document
from imagin.storage import Storage
from tests.builders import gif, jpeg, png, pypdf_pdf, simple_pdf

FIVE_MB = 5 * 1024 * 1024
SUMMARY = [
    "Mission N° 621 — CERTIFICAT DE FORMATION GENERALE",
    "Session décembre 2022 · Interrogation orale",
    "Intervenant : Claire Martin (claire.martin@example.fr)",
]
LABELS = {"leg:1": "Billet de train ST LO → ALENCON", "night:1": "Nuit d'hôtel du 02/12/2022"}


@pytest.fixture
def storage(tmp_path) -> Storage:
    return Storage(tmp_path / "uploads")


def stored(storage: Storage, data: bytes, name: str, justifies: str | None = None) -> Document:
    """Check and store a file as an upload would, and return its (unsaved) row.

    ``justifies`` is a key of LABELS; the row's id is its position in the folder.
    """
    checked = inspect_upload(io.BytesIO(data), name, max_bytes=FIVE_MB)
    saved = storage.save_bytes(checked.data, extension=checked.extension)
    document = Document(
        id=len(list(storage.root.iterdir())),
        original_name=checked.display_name,
        stored_name=saved.name,
        content_type=checked.content_type,
        size=saved.size,
        sha256=saved.sha256,
    )
    JUSTIFIES[document.id] = LABELS[justifies] if justifies else ""
    return document


# What each stored document justifies, by id, as the documents view says it.
JUSTIFIES: dict[int, str] = {}


def read(bundle) -> PdfReader:
    with bundle:
        return PdfReader(io.BytesIO(bundle.read()))


def size_of(page) -> tuple[float, float]:
    return (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2))


def test_bundle_has_the_cover_then_every_page_in_order(storage):
    documents = [
        stored(storage, pypdf_pdf(2), "billets.pdf", "leg:1"),
        stored(storage, jpeg((300, 200)), "ticket-paysage.jpg"),
        stored(storage, png((100, 300)), "facture-portrait.png", "night:1"),
        stored(storage, gif(1, size=(50, 50)), "scan.gif"),
        stored(storage, simple_pdf(), "facture-hotel.pdf", "night:1"),
    ]
    reader = read(build_bundle(documents, storage, SUMMARY, justifies=JUSTIFIES))
    assert len(reader.pages) == 1 + 2 + 1 + 1 + 1 + 1

    cover = reader.pages[0].extract_text()
    for text in [
        "Pièces justificatives",
        "Mission N° 621 — CERTIFICAT DE FORMATION GENERALE",
        "Intervenant : Claire Martin",
        "Pièces du dossier (5)",
        "1. billets.pdf",
        "PDF, 2 pages · justifie : Billet de train ST LO -> ALENCON",
        "pages 2 à 3 de ce document",
        "2. ticket-paysage.jpg",
        "Image JPEG · justifie : non précisé",
        "page 4 de ce document",
        "3. facture-portrait.png",
        "Image PNG · justifie : Nuit d'hôtel du 02/12/2022",
        "4. scan.gif",
        "page 7 de ce document",
    ]:
        assert text in cover, text

    # The PDF pages as they were, the images one per A4 page in their own orientation.
    assert size_of(reader.pages[1]) == (595.0, 842.0)
    assert size_of(reader.pages[3]) == (A4[1], A4[0])
    assert size_of(reader.pages[4]) == A4
    for number in (3, 4, 5):
        assert len(reader.pages[number].images) == 1
    assert "Pièce 2 / 5 : ticket-paysage.jpg" in reader.pages[3].extract_text()
    assert "Facture hotel" in reader.pages[6].extract_text()


def image_placement(page) -> tuple[float, float]:
    """The horizontal and vertical scale of the image drawn on a page."""
    content = page.get_contents().get_data().decode("latin-1")
    match = re.search(r"([\d.]+) 0(?:\.0)? 0(?:\.0)? ([\d.]+) [\d.-]+ [\d.-]+ cm", content)
    assert match, content
    return float(match.group(1)), float(match.group(2))


@pytest.mark.parametrize(
    ("size", "page_size", "limit"),
    [
        ((400, 100), (A4[1], A4[0]), "width"),
        ((100, 400), A4, "height"),
        ((300, 290), (A4[1], A4[0]), "height"),
    ],
)
def test_images_fill_the_page_keeping_their_proportions(storage, size, page_size, limit):
    documents = [stored(storage, jpeg(size), "recu.jpg")]
    page = read(build_bundle(documents, storage, SUMMARY)).pages[1]
    assert size_of(page) == page_size
    [image] = page.images
    assert image.image.size == size
    horizontal, vertical = image_placement(page)
    assert horizontal == pytest.approx(vertical)
    drawn = (size[0] * horizontal, size[1] * vertical)
    room = (page_size[0] - 100, page_size[1] - 100 - 26)
    assert drawn[0] <= room[0] + 0.01 and drawn[1] <= room[1] + 0.01
    index = 0 if limit == "width" else 1
    assert drawn[index] == pytest.approx(room[index], abs=0.01)


def test_big_photos_are_reduced_to_150_dpi(storage):
    documents = [stored(storage, jpeg((5000, 1000)), "panorama.jpg")]
    page = read(build_bundle(documents, storage, SUMMARY)).pages[1]
    [image] = page.images
    assert image.image.size == (1754, 351)


def test_an_unreadable_document_becomes_a_notice_page(storage):
    documents = [
        stored(storage, simple_pdf(), "a.pdf"),
        stored(storage, jpeg(), "perdu.jpg"),
        stored(storage, pypdf_pdf(2), "b.pdf"),
    ]
    storage.delete(documents[1].stored_name)
    storage.path(documents[2].stored_name).write_bytes(b"%PDF-1.4 plus rien")
    reader = read(build_bundle(documents, storage, SUMMARY))
    assert len(reader.pages) == 1 + 1 + 1 + 1
    cover = reader.pages[0].extract_text()
    assert "page 3 : fichier introuvable ou illisible" in cover
    assert "page 4 : fichier introuvable ou illisible" in cover
    assert "introuvable ou illisible" in reader.pages[2].extract_text()
    assert "Pièce 3 / 3 : b.pdf" in reader.pages[3].extract_text()


def test_a_claim_without_documents_has_only_its_cover(storage):
    reader = read(build_bundle([], storage, SUMMARY))
    assert len(reader.pages) == 1
    assert "Aucune pièce justificative n'a été déposée." in reader.pages[0].extract_text()


def test_a_long_cover_goes_on_and_the_page_numbers_follow(storage):
    documents = [stored(storage, simple_pdf(), "facture.pdf")]
    summary = [f"Ligne de description numéro {index}" for index in range(80)]
    reader = read(build_bundle(documents, storage, summary))
    assert len(reader.pages) == 3
    assert "page 3 de ce document" in reader.pages[1].extract_text()
    assert "Facture hotel" in reader.pages[2].extract_text()


def test_cover_text_survives_pdf_syntax_and_french_characters(storage):
    tricky = "Note (voir \\ annexe) : 12,50\u202f€ — œuvre « reçu » ) ( Łódź 日本"
    reader = read(build_bundle([], storage, [tricky]))
    text = reader.pages[0].extract_text().replace("\xa0", " ")
    # "ź" loses its accent, "Ł" and Japanese have no Windows-1252 form at all.
    assert "Note (voir \\ annexe) : 12,50 € — œuvre « reçu » ) ( ?ódz ??" in text


def test_long_lines_wrap_and_long_names_are_cut(storage):
    long_line = "Centre d'examen : " + "PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX " * 4
    documents = [stored(storage, simple_pdf(), "n" * 200 + ".pdf")]
    reader = read(build_bundle(documents, storage, [long_line]))
    text = reader.pages[0].extract_text()
    assert "1. " + "n" * 60 in text and "…" in text
    lines = text.splitlines()
    assert max(len(line) for line in lines) < 130
    assert sum("PRISON" in line for line in lines) >= 2
