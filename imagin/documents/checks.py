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
import struct
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from PIL import GifImagePlugin, Image, ImageOps, JpegImagePlugin, PngImagePlugin
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
    STORED_JPEG_TOO_LARGE,
    STORED_PNG_TOO_LARGE,
    TOO_COMPLEX_PDF,
    TOO_MANY_FRAMES,
    TOO_MANY_GIF_PIXELS,
    TOO_MANY_PAGES,
    TOO_MANY_PIXELS,
    UNSUPPORTED_FORMAT,
    DocumentRefused,
    FileTooLarge,
    format_size,
)

# A 40 Mpx image is already 160 MB once decoded (Pillow keeps RGB in 4 bytes a
# pixel); phone photos are 12 to 24 Mpx.
MAX_PIXELS = 40_000_000
# What decoding one upload may cost, read from its header before any pixel is
# decoded: pixels times the bytes Pillow keeps for each of them.
MAX_DECODED_BYTES = 160 * MIB
# Receipts are not animations: a GIF keeps its first frame. Its frames are counted,
# and their pixels added up, from the file's block structure without decoding
# any of them; past either limit it is refused.
MAX_GIF_FRAMES = 50
MAX_PDF_PAGES = 100
# Bounds on what checking one PDF may cost, whatever its 5 MB hold: pypdf reads
# 20,000 objects in about 2 s, and an invoice has a few hundred.
MAX_PDF_OBJECTS = 20_000
MAX_PDF_DECODED_BYTES = 100 * MIB
JPEG_QUALITY = 85
# Re-encoding a photo saved at a low quality at JPEG_QUALITY can double its size:
# the stored file must still be within the limit, so lower qualities are tried in
# turn, down to the last one, below which a receipt would become hard to read.
JPEG_FALLBACK_QUALITIES = (75, 65, 55, 45)
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

# The plugins' own openers, not Image.open: it compares the size with a
# process-wide threshold and warns through the process-wide warning filters,
# which threads cannot change safely. Our limits are checked right after.
_OPENERS = {
    "JPEG": JpegImagePlugin.jpeg_factory,
    "PNG": PngImagePlugin.PngImageFile,
    "GIF": GifImagePlugin.GifImageFile,
}

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
        stored = reencode_image(data, declared, max_bytes=max_bytes)
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


def reencode_image(data: bytes, kind: str, *, max_bytes: int | None = None) -> bytes:
    """Decode the image, apply its EXIF orientation and re-encode it with no metadata.

    The result is at most ``max_bytes`` (a JPEG at a lower quality if need be).
    Thread-safe and lock-free: several uploads are checked at once, each within
    the bounds its header allows, and no other request waits for them.
    """
    try:
        return _reencode(data, kind, max_bytes)
    except DocumentRefused:
        raise
    except Image.DecompressionBombError:
        raise _too_big() from None
    # Pillow reports a broken file through many exception types (OSError,
    # SyntaxError, ValueError, struct.error, EOFError…): all mean "damaged".
    except Exception as error:
        raise _damaged(kind) from error


def _too_big() -> DocumentRefused:
    return DocumentRefused(TOO_MANY_PIXELS.format(megapixels=MAX_PIXELS // 1_000_000))


def bytes_per_pixel(mode: str) -> int:
    """What Pillow keeps in memory for one pixel of ``mode`` (RGB takes 4 bytes, like RGBA)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _reencode(data: bytes, kind: str, max_bytes: int | None) -> bytes:
    pil_format = KINDS[kind].pil_format
    assert pil_format is not None
    if kind == "gif":
        # Before Pillow opens it: seeking through frames would decode each of them.
        check_gif_frames(data)
    with _OPENERS[pil_format](io.BytesIO(data)) as image:
        # Opening reads the header only: refuse a pixel flood before decoding it.
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise _too_big()
        if width * height * bytes_per_pixel(image.mode) > MAX_DECODED_BYTES:
            raise _too_big()
        image.load()
        clean = _upright(image)
    clean = _storable_mode(clean, KINDS[kind].stored_as)
    # Nothing of the source survives: no EXIF (GPS position), ICC profile, text chunks.
    clean.info = {}
    limit = max_bytes if max_bytes is not None else float("inf")
    if KINDS[kind].stored_as == "png":
        output = _encoded(clean, "PNG", optimize=True)
        if len(output) > limit:
            raise DocumentRefused(STORED_PNG_TOO_LARGE.format(size=format_size(int(limit))), 413)
        return output
    for quality in (JPEG_QUALITY, *JPEG_FALLBACK_QUALITIES):
        output = _encoded(clean, "JPEG", quality=quality, optimize=True)
        if len(output) <= limit:
            return output
    raise DocumentRefused(STORED_JPEG_TOO_LARGE.format(size=format_size(int(limit))), 413)


def _encoded(image: Image.Image, pil_format: str, **options) -> bytes:
    output = io.BytesIO()
    image.save(output, pil_format, **options)
    return output.getvalue()


@dataclass(frozen=True)
class GifFrames:
    """What a GIF's blocks say: its frame count and the pixels decoding all of them costs."""

    count: int
    pixels: int


def gif_frames(data: bytes, *, stop_after: int | None = None) -> GifFrames:
    """Walk a GIF's blocks (no LZW decoding); stop counting past ``stop_after`` frames.

    Pillow draws every frame on a canvas the size of the logical screen (grown to
    a frame that passes its edge), so each frame costs the canvas' pixels.

    :raise ValueError: the block structure is broken.
    """
    screen_width, screen_height, flags = struct.unpack_from("<HHB", data, 6)
    position = 13
    if flags & 0x80:
        position += 3 << ((flags & 7) + 1)
    count = pixels = 0
    length = len(data)
    while position < length:
        block = data[position]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then data sub-blocks
            position = _skip_sub_blocks(data, position + 2)
            continue
        if block != 0x2C:
            raise ValueError("bloc GIF inconnu")
        left, top, width, height, frame_flags = struct.unpack_from("<HHHHB", data, position + 1)
        screen_width = max(screen_width, left + width)
        screen_height = max(screen_height, top + height)
        count += 1
        pixels += screen_width * screen_height
        if stop_after is not None and count > stop_after:
            break
        position += 10
        if frame_flags & 0x80:
            position += 3 << ((frame_flags & 7) + 1)
        # The LZW minimum code size, then the compressed pixels in sub-blocks.
        position = _skip_sub_blocks(data, position + 1)
    return GifFrames(count, pixels)


def _skip_sub_blocks(data: bytes, position: int) -> int:
    length = len(data)
    while position < length:
        size = data[position]
        position += 1 + size
        if size == 0:
            return position
    # A cut file: Pillow decodes what is there and the checks below judge it.
    return length


def check_gif_frames(data: bytes) -> None:
    """Refuse a GIF with too many frames, or whose frames add up to too many pixels."""
    try:
        frames = gif_frames(data, stop_after=MAX_GIF_FRAMES)
    except (ValueError, struct.error, IndexError):
        raise _damaged("gif") from None
    if frames.count > MAX_GIF_FRAMES:
        raise DocumentRefused(TOO_MANY_FRAMES.format(frames=MAX_GIF_FRAMES))
    if frames.pixels > MAX_PIXELS:
        raise DocumentRefused(TOO_MANY_GIF_PIXELS.format(megapixels=MAX_PIXELS // 1_000_000))


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
