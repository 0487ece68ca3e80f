"""Checks on an uploaded supporting document: its real type, size, pixels and PDF content.

Pure: no Flask, no database. ``inspect_upload`` either returns the bytes to keep
(images re-encoded without any metadata, PDFs unchanged) or raises
``DocumentRefused`` with the French message to show beside the file field.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
import unicodedata
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)

from imagin.documents.errors import (
    ACTIVE_PDF,
    EMBEDDED_FILES_PDF,
    EMPTY_FILE,
    EMPTY_PDF,
    ENCRYPTED_PDF,
    MIB,
    TOO_COMPLEX_PDF,
    TOO_MANY_FRAMES,
    TOO_MANY_PAGES,
    TOO_MANY_PIXELS,
    UNSUPPORTED_FORMAT,
    DocumentRefused,
    FileTooLarge,
)

# A 40 Mpx image is already 120 MB of RGB once decoded; phone photos are 12 to 24 Mpx.
MAX_PIXELS = 40_000_000
# Receipts are not animations: a GIF keeps its first frame, and past this many
# frames it is refused rather than parsed further.
MAX_GIF_FRAMES = 50
MAX_PDF_PAGES = 100
# Bounds on what checking one PDF may cost, whatever its 5 MB hold: pypdf reads
# 20,000 objects in about 2 s, and an invoice has a few hundred.
MAX_PDF_OBJECTS = 20_000
MAX_PDF_DECODED_BYTES = 100 * MIB
JPEG_QUALITY = 85
DISPLAY_NAME_LENGTH = 120
READ_CHUNK = 64 * 1024

# The extension a user gives, case-insensitive, and the family its content must be.
EXTENSIONS: dict[str, str] = {
    "gif": "gif",
    "jpeg": "jpeg",
    "jpg": "jpeg",
    "png": "png",
    "pdf": "pdf",
}


@dataclass(frozen=True)
class Kind:
    """A file family: its Pillow format, how a sentence names it, and how it is stored."""

    label: str
    noun: str
    pil_format: str | None
    stored_as: str


KINDS: dict[str, Kind] = {
    "jpeg": Kind("JPEG", "une image JPEG", "JPEG", "jpeg"),
    "png": Kind("PNG", "une image PNG", "PNG", "png"),
    # A GIF is flattened to its first frame and kept as PNG (lossless, no animation).
    "gif": Kind("GIF", "une image GIF", "GIF", "png"),
    "pdf": Kind("PDF", "un PDF", None, "pdf"),
}

STORED_TYPES: dict[str, tuple[str, str]] = {
    "jpeg": ("image/jpeg", ".jpg"),
    "png": ("image/png", ".png"),
    "pdf": ("application/pdf", ".pdf"),
}

MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"%PDF-", "pdf"),
)

# Names that make a PDF run code or carry files. /URI (a link the reader must
# click) is allowed: invoices are full of them. /OpenAction is judged by its
# value, since LibreOffice and LaTeX use it only to open at a given page.
ACTIVE_NAMES = frozenset(
    {"JS", "JavaScript", "AA", "Launch", "SubmitForm", "ImportData", "RichMedia", "XFA"}
    # Actions that open another file, inside this one or on the reader's disk or network.
    | {"GoToE", "GoToR"}
)
EMBEDDED_NAMES = frozenset({"EmbeddedFile", "EmbeddedFiles", "EF", "FileAttachment"})

# Bidirectional controls and every other invisible or control character (Unicode
# categories): they make "fdp.exe" look like "exe.pdf" on screen.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

# Pillow's global warning filters are process-wide, and a decoded image is big:
# one image at a time keeps both under control.
_IMAGE_LOCK = threading.Lock()

_RAW_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb"stream(?:\r\n|\n|\r)")


@dataclass(frozen=True)
class CheckedFile:
    """An accepted upload: the bytes to store and what to record about them."""

    # ``sha256`` hashes the stored bytes, and is what Document.sha256 keeps to spot
    # the same file uploaded twice: re-encoding is deterministic, PDFs are kept as
    # sent, the same picture with other metadata counts as the same file, and
    # ``imagin documents check --verify`` can compare it with the file on disk.

    display_name: str
    source_kind: str
    kind: str
    content_type: str
    extension: str
    data: bytes = field(repr=False)
    sha256: str
    original_sha256: str
    original_size: int
    pages: int

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def download_name(self) -> str:
        """The display name, with the stored extension when the format changed (GIF → PNG)."""
        if self.source_kind == self.kind:
            return self.display_name
        stem, dot, _ext = self.display_name.rpartition(".")
        return (stem if dot else self.display_name) + self.extension


def inspect_upload(
    source: str | os.PathLike[str] | BinaryIO,
    original_name: str | None,
    *,
    max_bytes: int,
) -> CheckedFile:
    """Check an upload and return what to store, or raise DocumentRefused."""
    # At most max_bytes + 1 bytes are read: an oversized body is never held in
    # memory, and one within the limit is read once.
    name = display_name(original_name)
    declared = declared_kind(name)
    data = read_limited(source, max_bytes)
    if not data:
        raise DocumentRefused(EMPTY_FILE)
    actual = sniff(data)
    if actual != declared:
        raise DocumentRefused(_mismatch_message(declared, actual))
    if declared == "pdf":
        pages = check_pdf(data)
        stored = data
    else:
        stored = reencode_image(data, declared)
        pages = 1
    kind = KINDS[declared].stored_as
    content_type, extension = STORED_TYPES[kind]
    return CheckedFile(
        display_name=name,
        source_kind=declared,
        kind=kind,
        content_type=content_type,
        extension=extension,
        data=stored,
        sha256=hashlib.sha256(stored).hexdigest(),
        original_sha256=hashlib.sha256(data).hexdigest(),
        original_size=len(data),
        pages=pages,
    )


def display_name(original: str | None) -> str:
    """A harmless name to show: no folder, control or bidi characters; 120 characters at most."""
    name = unicodedata.normalize("NFC", original or "")
    # Browsers on Windows may send the whole path; either separator may be used.
    name = re.split(r"[\\/]", name)[-1]
    name = re.sub(r"^[A-Za-z]:", "", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in HIDDEN_CATEGORIES)
    name = " ".join(name.split())
    # Windows drops trailing dots and spaces, and a leading dot hides a file.
    name = name.strip(" .")
    if not name:
        return "document"
    if len(name) <= DISPLAY_NAME_LENGTH:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and 0 < len(extension) <= 10:
        keep = DISPLAY_NAME_LENGTH - len(extension) - 2
        return f"{stem[:keep].rstrip()}….{extension}"
    return name[: DISPLAY_NAME_LENGTH - 1].rstrip() + "…"


def declared_kind(name: str) -> str:
    """The family the name's extension promises, or DocumentRefused if it is not allowed."""
    stem, dot, extension = name.rpartition(".")
    kind = EXTENSIONS.get(extension.lower()) if dot and stem else None
    if kind is None:
        raise DocumentRefused(UNSUPPORTED_FORMAT)
    return kind


def read_limited(source: str | os.PathLike[str] | BinaryIO, max_bytes: int) -> bytes:
    """Read the whole upload if it has at most max_bytes, else raise FileTooLarge."""
    if isinstance(source, str | os.PathLike):
        with Path(source).open("rb") as stream:
            return read_limited(stream, max_bytes)
    buffer = bytearray()
    while True:
        chunk = source.read(min(READ_CHUNK, max_bytes + 1 - len(buffer)))
        if not chunk:
            return bytes(buffer)
        buffer += chunk
        if len(buffer) > max_bytes:
            raise FileTooLarge(max_bytes)


def sniff(data: bytes) -> str | None:
    """The family the first bytes say the content is, or None for anything else."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    return None


def _mismatch_message(declared: str, actual: str | None) -> str:
    expected = KINDS[declared]
    message = f"Ce fichier n'est pas {expected.noun} valide."
    if actual is None:
        return message
    found = KINDS[actual]
    extension = "jpg" if actual == "jpeg" else actual
    return (
        f"{message[:-1]} : son contenu est {found.noun}. "
        f"Renommez-le en .{extension} puis déposez-le à nouveau."
    )


def _damaged(kind: str) -> DocumentRefused:
    return DocumentRefused(f"Ce fichier {KINDS[kind].label} est endommagé ou incomplet.")


# --- Images ------------------------------------------------------------------


def reencode_image(data: bytes, kind: str) -> bytes:
    """Decode the whole image, apply its EXIF orientation and re-encode it with no metadata."""
    too_big = DocumentRefused(TOO_MANY_PIXELS.format(megapixels=MAX_PIXELS // 1_000_000))
    with _IMAGE_LOCK, warnings.catch_warnings():
        # Pillow warns about odd but readable files; the checks below decide.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _reencode(data, kind, too_big)
        except DocumentRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_big from None
        # Pillow reports a broken file through many exception types (OSError,
        # SyntaxError, ValueError, struct.error, EOFError…): all mean "damaged".
        except Exception as error:
            raise _damaged(kind) from error


def _reencode(data: bytes, kind: str, too_big: DocumentRefused) -> bytes:
    pil_format = KINDS[kind].pil_format
    assert pil_format is not None
    with Image.open(io.BytesIO(data), formats=[pil_format]) as image:
        # Image.open only reads the header: refuse a pixel flood before decoding it.
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise too_big
        if kind == "gif":
            _check_frame_count(image)
        image.load()
        clean = _upright(image)
    clean = _storable_mode(clean, KINDS[kind].stored_as)
    # Nothing of the source survives: no EXIF (GPS position), ICC profile, text chunks.
    clean.info = {}
    output = io.BytesIO()
    if KINDS[kind].stored_as == "jpeg":
        clean.save(output, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        clean.save(output, "PNG", optimize=True)
    return output.getvalue()


def _check_frame_count(image: Image.Image) -> None:
    try:
        image.seek(MAX_GIF_FRAMES)
    except EOFError:
        image.seek(0)
        return
    raise DocumentRefused(TOO_MANY_FRAMES.format(frames=MAX_GIF_FRAMES))


def _upright(image: Image.Image) -> Image.Image:
    """A copy turned as the camera's EXIF orientation says (phone photos are often sideways)."""
    try:
        upright = ImageOps.exif_transpose(image)
    # A malformed EXIF block only costs the orientation: the pixels are fine.
    except Exception:
        upright = None
    return upright if upright is not None and upright is not image else image.copy()


def _storable_mode(image: Image.Image, stored_as: str) -> Image.Image:
    if stored_as == "jpeg":
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        # Palette transparency lives in info, which is dropped: keep it as alpha.
        return image.convert("RGBA")
    if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        return image
    return image.convert("RGBA")


# --- PDF ---------------------------------------------------------------------


def check_pdf(data: bytes) -> int:
    """Refuse a PDF that is damaged, encrypted, scripted or carries files; return its page count."""
    # A cut file loses its end; pypdf would otherwise rebuild what it can.
    if b"%%EOF" not in data[-1024:]:
        raise _damaged("pdf")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise DocumentRefused(ENCRYPTED_PDF)
        _scan_raw(data)
        _scan_objects(reader)
        pages = len(reader.pages)
        if pages == 0:
            raise DocumentRefused(EMPTY_PDF)
        if pages > MAX_PDF_PAGES:
            raise DocumentRefused(TOO_MANY_PAGES.format(pages=MAX_PDF_PAGES))
        _decode_contents(reader)
    except DocumentRefused:
        raise
    # pypdf, like Pillow, signals a broken file through many exception types.
    except Exception as error:
        raise _damaged("pdf") from error
    return pages


def _refuse_name(name: str) -> None:
    if name in ACTIVE_NAMES:
        raise DocumentRefused(ACTIVE_PDF)
    if name in EMBEDDED_NAMES:
        raise DocumentRefused(EMBEDDED_FILES_PDF)


def _raw_names(text: bytes) -> Iterator[str]:
    """Every /Name in raw PDF syntax, its #xx escapes decoded (/J#61vaScript is /JavaScript)."""
    for match in _RAW_NAME.finditer(text):
        raw = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
        yield raw.decode("latin-1")


def _scan_raw(data: bytes) -> None:
    """Look for dangerous names in the bytes themselves, whatever pypdf reached."""
    # Stream bodies are skipped (binary data would match by chance), except object
    # streams, which are inflated: objects hidden in them are scanned too.
    outside, streams = _split_streams(data)
    _scan_text(outside)
    budget = MAX_PDF_DECODED_BYTES
    for header, body in streams:
        names = set(_raw_names(header))
        if "ObjStm" not in names or "FlateDecode" not in names:
            continue
        try:
            objects = zlib.decompressobj().decompress(body, budget)
        except zlib.error:
            # pypdf will judge whether this stream matters.
            continue
        budget -= len(objects)
        _scan_text(objects)
        if budget <= 0:
            raise DocumentRefused(TOO_COMPLEX_PDF)


def _split_streams(data: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The bytes outside stream bodies, and each stream as (its dictionary's text, its body)."""
    # find() in a loop, not a lazy ``stream.*?endstream`` regular expression, which
    # is quadratic on a file of many "stream" keywords and no "endstream".
    outside: list[bytes] = []
    streams: list[tuple[bytes, bytes]] = []
    position = 0
    while (start := _STREAM_START.search(data, position)) is not None:
        end = data.find(b"endstream", start.end())
        if end < 0:
            break
        outside.append(data[position : start.start()])
        header = data[max(position, start.start() - 1024) : start.start()]
        header = header[max(0, header.rfind(b"obj")) :]
        streams.append((header, data[start.end() : end]))
        position = end + len(b"endstream")
    outside.append(data[position:])
    return b"\n".join(outside), streams


def _scan_text(text: bytes) -> None:
    for name in _raw_names(text):
        _refuse_name(name)


def _scan_objects(reader: PdfReader) -> None:
    """Walk every object pypdf can read (also those in object streams), not only the catalog."""
    references = {
        (number, generation) for generation, table in reader.xref.items() for number in table
    }
    references |= {(number, 0) for number in reader.xref_objStm}
    if len(references) > MAX_PDF_OBJECTS:
        raise DocumentRefused(TOO_COMPLEX_PDF)
    _walk(reader.trailer)
    for number, generation in sorted(references):
        _walk(reader.get_object(IndirectObject(number, generation, reader)))


def _walk(root: PdfObject | None) -> None:
    # Iterative, and not following references: each object is walked once by itself.
    stack: list[PdfObject | None] = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, DictionaryObject):
            for key, value in obj.items():
                _refuse_name(str(key)[1:])
                if key == "/OpenAction":
                    _check_open_action(value)
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
        elif isinstance(obj, NameObject):
            _refuse_name(str(obj)[1:])


def _check_open_action(value: PdfObject) -> None:
    """Opening at a page is fine; any other action run at opening is not."""
    action = value.get_object() if isinstance(value, IndirectObject) else value
    if isinstance(action, ArrayObject):
        return
    if (
        isinstance(action, DictionaryObject)
        and action.get("/S") == "/GoTo"
        and "/Next" not in action
    ):
        return
    raise DocumentRefused(ACTIVE_PDF)


def _decode_contents(reader: PdfReader) -> None:
    """Decode every page's content streams: a corrupt one is refused."""
    decoded = 0
    for page in reader.pages:
        contents = page.get("/Contents")
        if contents is None:
            continue
        contents = contents.get_object()
        parts = contents if isinstance(contents, ArrayObject) else [contents]
        for part in parts:
            content = part.get_object()
            if not isinstance(content, StreamObject):
                raise _damaged("pdf")
            decoded += _decoded_length(content)
            if decoded > MAX_PDF_DECODED_BYTES:
                raise DocumentRefused(TOO_COMPLEX_PDF)


def _decoded_length(content: StreamObject) -> int:
    filters = content.get("/Filter")
    if filters in ("/FlateDecode", "/Fl") and "/DecodeParms" not in content:
        # pypdf quietly salvages what it can from a corrupt deflate stream; a
        # content stream that zlib cannot inflate is damaged (trailing bytes
        # after a complete stream, as some old writers add, are fine).
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(content._data, MAX_PDF_DECODED_BYTES + 1)
        except zlib.error:
            raise _damaged("pdf") from None
        return len(inflated)
    return len(content.get_data())
