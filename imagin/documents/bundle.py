"""« Télécharger toutes les pièces (PDF) »: one PDF with a cover page and every document.

The cover lists the claim and each document (name, type, what it justifies,
where it is in the bundle). It is written as real PDF text in Helvetica, one of
the 14 fonts every PDF reader has, so it stays small, sharp and searchable
without a PDF-writing dependency: pypdf assembles, Pillow turns images into
pages.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import tempfile
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from PIL import Image, PngImagePlugin
from pypdf import PdfReader, PdfWriter, Transformation

from imagin.models import Claim, Document
from imagin.storage import Storage

log = logging.getLogger(__name__)

A4 = (595.28, 841.89)
MARGIN = 50.0
INDENT = 14.0
IMAGE_PDF_QUALITY = 90
# A4 at 150 dpi, portrait (width, height) in pixels: what a printed page shows.
# Each image enters the bundle reduced to it, one at a time, so that a bundle's
# memory does not grow with the size or the number of its images.
PRINT_PIXELS = (1240, 1754)
# How many bytes of a stored PNG's rows are decoded at once (a band of rows).
BAND_BYTES = 4 * 1024 * 1024
BUNDLE_TITLE = "Pièces justificatives"

TYPE_LABELS: dict[str, str] = {
    "application/pdf": "PDF",
    "image/jpeg": "Image JPEG",
    "image/png": "Image PNG",
}

# Helvetica advance widths (Adobe AFM, thousandths of the font size) for
# WinAnsi codes 32 to 126; accented letters are as wide as their base letter.
_HELVETICA = (
    [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278]
    + [556] * 10
    + [278, 278, 584, 584, 584, 556, 1015]
    + [667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833]
    + [722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611]
    + [278, 278, 278, 469, 556, 333]
    + [556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833]
    + [556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500]
    + [334, 260, 334, 584]
)
_WIDTHS: dict[str, int] = {chr(32 + index): width for index, width in enumerate(_HELVETICA)}
_WIDTHS.update({"€": 556, "—": 1000, "–": 556, "…": 1000, "«": 556, "»": 556, "°": 400})
_WIDTHS.update({"·": 278, "’": 222, "‘": 222, "“": 333, "”": 333, "œ": 944, "Œ": 1000})
_WIDTHS.update({"\u00a0": 278})
# Characters Windows-1252 lacks but that our texts use (Babel's narrow no-break
# space in amounts, arrows in leg labels).
_SUBSTITUTES = str.maketrans(
    {"\u202f": "\u00a0", "\u2009": " ", "\u2011": "-", "\u2212": "-", "→": "->", "←": "<-"}
)
# Helvetica-Bold is at most about a tenth wider: measuring bold text a little
# wide only leaves a little more room at the end of a line.
_BOLD_FACTOR = 1.12


@dataclass(frozen=True)
class _Style:
    font: str
    size: float
    leading: float

    @property
    def bold(self) -> bool:
        return self.font == "F2"


TITLE = _Style("F2", 16, 26)
HEADING = _Style("F2", 12, 22)
STRONG = _Style("F2", 10, 15)
BODY = _Style("F1", 10, 14)
SMALL = _Style("F1", 9, 13)


@dataclass(frozen=True)
class _Line:
    text: str
    style: _Style
    indent: float = 0.0


@dataclass
class _Entry:
    """One document, opened for the bundle, or replaced by a notice when unreadable."""

    document: Document
    kind: str
    pages: int
    reader: PdfReader | None = None


def build_bundle(
    documents: Sequence[Document],
    storage: Storage,
    summary_lines: Sequence[str],
    *,
    justifies: Mapping[int, str] | None = None,
    title: str = BUNDLE_TITLE,
) -> IO[bytes]:
    """One PDF: cover page(s), then each document in order; returned as a temporary file at 0."""
    # PDF pages are appended as they are, each image becomes one A4 page (landscape
    # for a landscape image), and a document whose file cannot be read becomes a
    # page saying so: the page numbers on the cover stay true.
    entries = [_prepare(document, storage) for document in documents]
    labels = justifies or {}
    page_size = A4
    # The cover's line count does not depend on the page numbers it shows.
    cover_pages = len(_paginate(_cover(title, summary_lines, entries, labels, 1), page_size))
    cover = _paginate(_cover(title, summary_lines, entries, labels, cover_pages + 1), page_size)

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(_text_pdf(cover, page_size))).pages:
        writer.add_page(page)
    for number, entry in enumerate(entries, start=1):
        before = len(writer.pages)
        try:
            _add_entry(writer, storage, entry, number, len(entries))
        # A file damaged on disk since it was checked must not cost the whole bundle.
        except Exception:
            log.exception("Pièce %s illisible dans le PDF groupé", entry.document.stored_name)
            while len(writer.pages) > before:
                del writer.pages[len(writer.pages) - 1]
            _add_notice(writer, entry, number, len(entries))

    # Returned open for the caller to stream and close (send_file closes it).
    output = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        writer.write(output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return output


def claim_summary_lines(claim: Claim) -> list[str]:
    """The cover's description of a claim: mission, exam, intervenant, centre, dates."""
    mission = claim.mission
    person = mission.intervenant
    name = f"{person.first_name} {person.last_name}".strip() or person.email
    days = ", ".join(day.day.strftime("%d/%m/%Y") for day in mission.days)
    return [
        f"Mission N° {mission.number} — {mission.exam.name}",
        f"{mission.session.label} · {mission.mission_type.label}",
        f"Intervenant : {name} ({person.email})",
        f"Centre d'examen : {mission.centre.name} ({mission.centre.code})",
        f"Dates de la mission : {days}",
    ]


def _prepare(document: Document, storage: Storage) -> _Entry:
    try:
        with storage.open(document.stored_name) as stream:
            if document.content_type == "application/pdf":
                # In memory, as PdfReader(path) did: the writer reads its pages later.
                reader = PdfReader(io.BytesIO(stream.read()))
                if reader.is_encrypted or len(reader.pages) == 0:
                    raise ValueError("PDF chiffré ou vide")
                return _Entry(document, "pdf", len(reader.pages), reader)
            # Opening reads the header only: enough to know it is an image.
            with Image.open(stream):
                pass
        return _Entry(document, "image", 1)
    except Exception:
        log.exception("Pièce %s illisible dans le PDF groupé", document.stored_name)
        return _Entry(document, "missing", 1)


def _add_entry(writer: PdfWriter, storage: Storage, entry: _Entry, number: int, count: int) -> None:
    if entry.kind == "pdf":
        assert entry.reader is not None
        for page in entry.reader.pages:
            writer.add_page(page)
    elif entry.kind == "image":
        _add_image(writer, storage, entry, number, count)
    else:
        _add_notice(writer, entry, number, count)


def _add_image(writer: PdfWriter, storage: Storage, entry: _Entry, number: int, count: int) -> None:
    """The image on an A4 page, as large as fits, keeping its proportions, under a caption."""
    with storage.open(entry.document.stored_name) as stream:
        picture = print_size(stream.read())
    landscape = picture.width > picture.height
    width, height = picture.size
    rendered = io.BytesIO()
    # 72 dpi: one pixel is one point, so the scale below is in pixels per point.
    picture.save(rendered, "PDF", resolution=72.0, quality=IMAGE_PDF_QUALITY)
    del picture
    image_page = PdfReader(rendered).pages[0]

    page_width, page_height = (A4[1], A4[0]) if landscape else A4
    caption = _caption(entry, number, count, page_width)
    base = PdfReader(io.BytesIO(_text_pdf([caption], (page_width, page_height)))).pages[0]
    page = writer.add_page(base)
    top = MARGIN + SMALL.leading * 2
    room_width = page_width - 2 * MARGIN
    room_height = page_height - MARGIN - top
    scale = min(room_width / width, room_height / height)
    left = (page_width - width * scale) / 2
    bottom = MARGIN + (room_height - height * scale) / 2
    page.merge_transformed_page(
        image_page, Transformation().scale(scale, scale).translate(left, bottom)
    )


def print_box(size: tuple[int, int]) -> tuple[int, int]:
    """A4 at 150 dpi, turned like the image (landscape for a landscape image)."""
    return PRINT_PIXELS[::-1] if size[0] > size[1] else PRINT_PIXELS


def print_size(data: bytes) -> Image.Image:
    """A stored image at most A4 at 150 dpi, RGB or grey on white, never decoded whole.

    A JPEG is decoded at 1/2, 1/4 or 1/8 of its size by its decoder (draft); a
    PNG a band of rows at a time, each band reduced before the next is decoded.
    """
    with Image.open(io.BytesIO(data)) as image:
        box = print_box(image.size)
        factor = max(1, math.ceil(max(image.width / box[0], image.height / box[1])))
        if image.format == "JPEG":
            image.draft(image.mode if image.mode in ("L", "RGB") else "RGB", box)
        elif image.format == "PNG" and factor > 1:
            return _png_in_bands(data, factor)
        image.load()
        picture = _flatten(image)
    picture.thumbnail(box)
    return picture


def _png_chunks(data: bytes):
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        yield kind, data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IEND":
            return


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_in_bands(data: bytes, factor: int) -> Image.Image:
    """Decode a PNG band by band, each band reduced by ``factor`` into the result.

    Each band becomes a small PNG of its own that Pillow decodes: its rows as they
    are in the file (still filtered), after the band's previous row, unfiltered,
    which the filters of its first row refer to.
    """
    chunks = _png_chunks(data)
    kind, header = next(chunks)
    if kind != b"IHDR":
        raise ValueError("PNG sans en-tête")
    width, height, depth, color, _compression, _filter, interlace = struct.unpack(
        ">IIBBBBB", header
    )
    if interlace:
        raise ValueError("PNG entrelacé : ce n'est pas un fichier enregistré par IMAG'IN")
    _mode, rawmode = PngImagePlugin._MODES[(depth, color)]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    stride = 1 + (width * channels * depth + 7) // 8
    extras = []  # the palette and transparency every band needs
    compressed = []
    for kind, body in chunks:
        if kind == b"IDAT":
            compressed.append(body)
        elif not compressed and kind in (b"PLTE", b"tRNS"):
            extras.append(_chunk(kind, body))
    inflater = zlib.decompressobj()
    pieces = iter(compressed)
    band_rows = max(factor, BAND_BYTES // stride // factor * factor)
    result = Image.new("RGB", (math.ceil(width / factor), math.ceil(height / factor)), "white")
    previous: bytes | None = None
    for top in range(0, height, band_rows):
        rows = min(band_rows, height - top)
        filtered = _inflate(inflater, pieces, rows * stride)
        if len(filtered) < rows * stride:
            raise ValueError("PNG incomplet")
        raw = filtered if previous is None else b"\x00" + previous + filtered
        band_height = rows + (previous is not None)
        band_header = struct.pack(">IIBBBBB", width, band_height, depth, color, 0, 0, 0)
        band_file = b"".join(
            [
                b"\x89PNG\r\n\x1a\n",
                _chunk(b"IHDR", band_header),
                *extras,
                _chunk(b"IDAT", zlib.compress(raw, 0)),
                _chunk(b"IEND", b""),
            ]
        )
        del raw, filtered
        with Image.open(io.BytesIO(band_file)) as band:
            band.load()
            if previous is not None:
                band = band.crop((0, 1, width, band_height))
            previous = band.crop((0, rows - 1, width, rows)).tobytes("raw", rawmode)
            reduced = _flatten(band).reduce(factor)
        result.paste(reduced, (0, top // factor))
    return result


def _inflate(inflater, pieces, size: int) -> bytes:
    """The next ``size`` bytes of the image data, never more (a zlib bomb stays bounded)."""
    output = bytearray()
    while len(output) < size:
        source = inflater.unconsumed_tail or next(pieces, b"")
        if not source:
            break
        output += inflater.decompress(source, size - len(output))
    return bytes(output)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB or grey on white: what Pillow's PDF writer takes without JPEG 2000."""
    if image.mode in ("RGB", "L"):
        return image.copy()
    if image.mode == "1" or image.mode.startswith("I"):
        return image.convert("L")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _add_notice(writer: PdfWriter, entry: _Entry, number: int, count: int) -> None:
    lines = [
        *_caption(entry, number, count, A4[0]),
        _Line("", BODY),
        _Line("Le fichier de cette pièce est introuvable ou illisible.", STRONG),
        _Line("Demandez à l'intervenant de la déposer à nouveau.", BODY),
    ]
    for page in PdfReader(io.BytesIO(_text_pdf(_paginate(lines, A4), A4))).pages:
        writer.add_page(page)


def _caption(entry: _Entry, number: int, count: int, page_width: float) -> list[_Line]:
    text = f"Pièce {number} / {count} : {entry.document.original_name}"
    return [_Line(_truncate(text, SMALL, page_width - 2 * MARGIN), SMALL)]


def _type_label(entry: _Entry) -> str:
    label = TYPE_LABELS.get(entry.document.content_type, entry.document.content_type)
    if entry.kind == "pdf":
        return f"{label}, {entry.pages} page{'s' if entry.pages > 1 else ''}"
    return label


def _cover(
    title: str,
    summary_lines: Sequence[str],
    entries: Sequence[_Entry],
    justifies: Mapping[int, str],
    first_page: int,
) -> list[_Line]:
    width = A4[0] - 2 * MARGIN
    lines = [_Line(title, TITLE)]
    for text in summary_lines:
        lines += [_Line(part, BODY) for part in _wrap(text, BODY, width)]
    lines += [_Line("", BODY), _Line(f"Pièces du dossier ({len(entries)})", HEADING)]
    if not entries:
        lines.append(_Line("Aucune pièce justificative n'a été déposée.", BODY))
    page = first_page
    for number, entry in enumerate(entries, start=1):
        document = entry.document
        lines.append(_Line(_truncate(f"{number}. {document.original_name}", STRONG, width), STRONG))
        what = justifies.get(document.id) or "non précisé"
        details = f"{_type_label(entry)} · justifie : {what}"
        lines += [_Line(part, BODY, INDENT) for part in _wrap(details, BODY, width - INDENT)]
        last = page + entry.pages - 1
        where = f"page {page}" if last == page else f"pages {page} à {last}"
        if entry.kind == "missing":
            where += " : fichier introuvable ou illisible"
        lines.append(_Line(f"{where} de ce document", SMALL, INDENT))
        page = last + 1
    return lines


# --- A minimal PDF writer for text pages --------------------------------------


def _width(text: str, style: _Style) -> float:
    units = 0
    for char in text.translate(_SUBSTITUTES):
        width = _WIDTHS.get(char)
        if width is None:
            base = unicodedata.normalize("NFD", char)[:1]
            width = _WIDTHS.get(base, 556)
        units += width
    factor = _BOLD_FACTOR if style.bold else 1.0
    return units * style.size * factor / 1000


def _wrap(text: str, style: _Style, width: float) -> list[str]:
    """Greedy word wrap; a word wider than the line is cut."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if _width(candidate, style) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while _width(word, style) > width:
            cut = len(word)
            while cut > 1 and _width(word[:cut], style) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current or not lines:
        lines.append(current)
    return lines


def _truncate(text: str, style: _Style, width: float) -> str:
    if _width(text, style) <= width:
        return text
    while text and _width(text + "…", style) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _paginate(lines: Sequence[_Line], page_size: tuple[float, float]) -> list[list[_Line]]:
    """Split lines into pages by height; a blank line at the top of a page is dropped."""
    _width_unused, height = page_size
    pages: list[list[_Line]] = [[]]
    used = 0.0
    for line in lines:
        if used + line.style.leading > height - 2 * MARGIN and pages[-1]:
            pages.append([])
            used = 0.0
        if not line.text and not pages[-1]:
            continue
        pages[-1].append(line)
        used += line.style.leading
    return pages


def _winansi(text: str) -> bytes:
    """Text in WinAnsiEncoding (Windows-1252: French letters, "€", "œ", typographic quotes)."""
    output = bytearray()
    for char in text.translate(_SUBSTITUTES):
        try:
            output += char.encode("cp1252")
        except UnicodeEncodeError:
            # "ā" → "a"; what has no Latin look-alike becomes "?".
            base = unicodedata.normalize("NFKD", char)[:1]
            output += base.encode("cp1252", errors="replace") if base else b"?"
    return bytes(output)


def _pdf_string(text: str) -> bytes:
    raw = _winansi(text)
    raw = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + raw.replace(b"\r", b"\\r").replace(b"\n", b"\\n") + b")"


def _page_content(lines: Sequence[_Line], page_size: tuple[float, float]) -> bytes:
    _page_width, page_height = page_size
    y = page_height - MARGIN
    parts = []
    for line in lines:
        y -= line.style.leading
        if not line.text:
            continue
        x = MARGIN + line.indent
        parts.append(
            b"BT /%s %.1f Tf 1 0 0 1 %.2f %.2f Tm %s Tj ET"
            % (line.style.font.encode(), line.style.size, x, y, _pdf_string(line.text))
        )
    return b"\n".join(parts)


def _text_pdf(pages: Sequence[Sequence[_Line]], page_size: tuple[float, float]) -> bytes:
    """A small, valid PDF of text pages in Helvetica (regular /F1, bold /F2)."""
    width, height = page_size
    first_page = 5
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * index) for index in range(len(pages)))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    for index, lines in enumerate(pages):
        content = _page_content(lines, page_size)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (width, height, first_page + 2 * index + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    return pdf_file(objects)


def pdf_file(objects: Sequence[bytes], *, version: bytes = b"1.4", hidden: bytes = b"") -> bytes:
    """Serialize numbered objects (1 is the catalog) with a classic xref table.

    ``hidden`` goes between the header and the first object, outside the xref.
    """
    output = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n" + hidden)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(output)
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    output += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    output += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(output)


def text_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A one-page PDF of a title and lines of text (the demo's receipts)."""
    page = [_Line(title, TITLE), *(_Line(line, BODY) for line in lines)]
    return _text_pdf([page], A4)
