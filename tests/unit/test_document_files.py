"""The files the document tests are made of (tests/builders.py) are what they claim."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image
from pypdf import PdfReader

from tests.builders import GPS_LATITUDE, gif, gps_photo, pdf_of_size, png_header, simple_pdf


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
