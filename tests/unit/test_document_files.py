"""Real files for the document tests, made here, and checks that they are what they claim.

Images come from Pillow, PDFs from pypdf or are written byte by byte (for
what no library would write: escaped names, hidden objects, cut files).
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib

from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from imagin.documents.bundle import pdf_file

RED = (255, 0, 0)
BLUE = (0, 0, 255)
GPS_LATITUDE = (48.0, 51.0, 24.0)


def jpeg(size: tuple[int, int] = (64, 48), color=RED, *, noise: bool = False, **save) -> bytes:
    if noise:
        rng = random.Random(42)
        image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, color)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **save)
    return buffer.getvalue()


def gps_photo() -> bytes:
    """A phone photo: 40×20 stored sideways (EXIF orientation 6), with GPS position and ICC."""
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 3.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, icc_profile=icc, quality=95)
    return buffer.getvalue()


def png(size: tuple[int, int] = (30, 50), color=BLUE, mode: str = "RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, "PNG", **save)
    return buffer.getvalue()


def png_with_metadata() -> bytes:
    info = PngInfo()
    info.add_text("Author", "Claire Martin")
    info.add_text("Comment", "GPS 48.8566 2.3522", zip=True)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return png(pnginfo=info, exif=exif, icc_profile=icc)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG declaring width × height pixels, with correct CRCs and a few bytes of IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


@functools.cache
def gif(frames: int = 1, size: tuple[int, int] = (4, 4)) -> bytes:
    """A GIF of as many frames, each a different colour so that none is merged away."""
    images = []
    for index in range(frames):
        frame = Image.new("P", size, index % 2)
        frame.putpalette([*RED, *BLUE])
        images.append(frame)
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=frames > 1, append_images=images[1:], duration=10)
    return buffer.getvalue()


# --- PDF ---------------------------------------------------------------------


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def raw_pdf(*objects: bytes, hidden: bytes = b"") -> bytes:
    """A PDF with a classic xref table; object 1 is the catalog; ``hidden`` is not in the xref."""
    return pdf_file(objects, version=b"1.7", hidden=hidden)


def simple_pdf(
    *,
    catalog: bytes = b"",
    page: bytes = b"",
    content: bytes = b"BT /F1 24 Tf 72 720 Td (Facture hotel) Tj ET",
    extra: tuple[bytes, ...] = (),
    hidden: bytes = b"",
    compress: bool = True,
    body: bytes | None = None,
) -> bytes:
    """One A4 page of text (or ``body``, its content stream); extra objects are numbered 6 on."""
    if body is None:
        body = (
            stream(zlib.compress(content), b"/Filter /FlateDecode") if compress else stream(content)
        )
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R " + page + b" >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        body,
        *extra,
        hidden=hidden,
    )


def pdf_of_size(size: int) -> bytes:
    """A valid one-page PDF of exactly ``size`` bytes (padded with a comment in its content)."""
    padding = size
    for _ in range(10):
        content = b"% " + b"x" * padding + b"\nBT /F1 12 Tf 72 720 Td (Padded) Tj ET"
        data = simple_pdf(content=content, compress=False)
        if len(data) == size:
            return data
        padding += size - len(data)
    raise AssertionError("could not reach the size")


def pypdf_pdf(pages: int = 1, *, configure=None, password: str | None = None) -> bytes:
    """A PDF written by pypdf, as most software would, with an optional change to its catalog."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if configure:
        configure(writer)
    if password is not None:
        writer.encrypt(password, "owner-secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def javascript_action(script: str = "app.alert('x');") -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject(script),
        }
    )


def with_open_action(value):
    def configure(writer: PdfWriter) -> None:
        writer._root_object[NameObject("/OpenAction")] = value(writer)

    return configure


def with_link(action: DictionaryObject, subtype: str = "/Link"):
    def configure(writer: PdfWriter) -> None:
        annotation = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject(subtype),
                NameObject("/Rect"): ArrayObject([NumberObject(v) for v in (10, 10, 200, 40)]),
                NameObject("/A"): action,
            }
        )
        writer.pages[0][NameObject("/Annots")] = ArrayObject([annotation])

    return configure


def destination(writer: PdfWriter) -> ArrayObject:
    return ArrayObject(
        [writer.pages[0].indirect_reference, NameObject("/XYZ"), FloatObject(0), FloatObject(842)]
    )


# --- The files are what they claim ---------------------------------------------


def test_gps_photo_has_what_the_checks_must_remove():
    with Image.open(io.BytesIO(gps_photo())) as image:
        exif = image.getexif()
        assert exif[ExifTags.Base.Orientation] == 6
        assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] == GPS_LATITUDE
        assert image.info.get("icc_profile")
        assert image.size == (40, 20)


def test_png_header_declares_a_pixel_flood_with_valid_crcs():
    data = png_header(50_000, 50_000)
    assert len(data) < 100
    ihdr = data[8:33]
    assert struct.unpack(">I", ihdr[-4:])[0] == zlib.crc32(ihdr[4:-4])
    assert struct.unpack(">II", ihdr[8:16]) == (50_000, 50_000)


def test_gif_has_its_frames():
    with Image.open(io.BytesIO(gif(2000))) as image:
        assert image.n_frames == 2000


def test_pdf_of_size_is_exact_and_readable():
    data = pdf_of_size(100_000)
    assert len(data) == 100_000
    assert len(PdfReader(io.BytesIO(data)).pages) == 1


def test_raw_pdf_opens_with_pypdf():
    reader = PdfReader(io.BytesIO(simple_pdf()))
    assert "Facture hotel" in reader.pages[0].extract_text()
