"""Shared test builders: the files documents are made of, and mission 621's claim as the
tests enter it (forms posted the way the pages post them), read back from the database.

Tests of every level import from here, never from one another.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import random
import struct
import zlib
from decimal import Decimal
from html.parser import HTMLParser

from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from sqlalchemy import func, select, update

from imagin.documents.bundle import pdf_file
from imagin.domain.travel import TravelLeg
from imagin.models import AuditEvent, Claim, Document, DossierDocument, Mission
from tests.conftest import csrf_from, database

HX = {"HX-Request": "true"}

# --- Files ------------------------------------------------------------------------------------

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


# --- Legs, as the domain reads them ---------------------------------------------------------


def at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm))


def leg(dep, dep_city, arr, arr_city, mode="train", km=None, fare=None, key=""):
    return TravelLeg(dep, dep_city, arr, arr_city, mode, km, fare, key=key)


def car(dep, dep_city, arr, arr_city, km, key=""):
    return leg(dep, dep_city, arr, arr_city, "voiture", km=km, key=key)


def train(dep, dep_city, arr, arr_city, fare, key=""):
    return leg(dep, dep_city, arr, arr_city, "train", fare=Decimal(fare), key=key)


# --- Mission 621, as the intervenant enters it ----------------------------------------------

PAY_621 = {
    "done": "oui",
    "candidates": "8",
    "hours-0-day": "2022-12-02",
    "hours-0-start": "09:00",
    "hours-0-end": "12:30",
}
LEG_621 = {
    "departure_date": "02/12/2022",
    "departure_time": "07:00",
    "departure_city": "ST LO",
    "arrival_date": "02/12/2022",
    "arrival_time": "18:00",
    "arrival_city": "ALENCON CEDEX",
    "mode": "voiture",
    "km": "150",
}
RETURN_621 = {
    **LEG_621,
    "departure_time": "19:00",
    "departure_city": "ALENCON CEDEX",
    "arrival_time": "20:30",
    "arrival_city": "ST LO",
}
TRAIN_621 = {**LEG_621, "mode": "train", "km": "", "fare": "35,50"}
LUNCH_621 = "meal-2022-12-02-dejeuner"
DINNER_621 = "meal-2022-12-02-diner"


def claim_of(app, number: int) -> dict:
    """A mission's claim as stored: statuses, entries, amounts, version, history size."""
    with database(app) as db:
        claim = db.scalar(select(Claim).join(Mission).where(Mission.number == number))
        return {
            "id": claim.id,
            "pay": claim.pay_status,
            "travel": claim.travel_status,
            "done": claim.done,
            "copies": claim.copies,
            "candidates": claim.candidates,
            "hours": [
                (h.day.isoformat(), h.start.strftime("%H:%M"), h.end.strftime("%H:%M"))
                for h in claim.hours
            ],
            "version": claim.version,
            "amount": claim.pay_amount_cents,
            "travel_amount": claim.travel_amount_cents,
            "frozen": {row.category: row.amount_cents for row in claim.frozen_amounts},
            "pay_reason": claim.pay_reason,
            "legs": [
                (
                    leg.departure_at.strftime("%d/%m/%Y %H:%M"),
                    leg.departure_city,
                    leg.arrival_at.strftime("%d/%m/%Y %H:%M"),
                    leg.arrival_city,
                    leg.mode,
                    leg.km,
                    leg.fare_cents,
                )
                for leg in claim.legs
            ],
            "leg_ids": [leg.id for leg in claim.legs],
            "expenses": sorted(
                (e.kind, e.day and e.day.isoformat(), e.meal, e.taken, e.commune, e.amount_cents)
                for e in claim.expenses
            ),
            "expense_ids": sorted(e.id for e in claim.expenses),
            "events": db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.mission_id == claim.mission_id, AuditEvent.action != "convocation"
                )
            ),
        }


def set_travel_status(app, number: int, status: str) -> None:
    with database(app) as db:
        claim_id = db.scalar(select(Claim.id).join(Mission).where(Mission.number == number))
        db.execute(update(Claim).where(Claim.id == claim_id).values(travel_status=status))
        db.commit()


def token(client, number=621, tab="deplacement") -> str:
    return csrf_from(client.get(f"/missions/{number}/{tab}").get_data(as_text=True))


def post_pay(client, number=621, action="save", version="1", headers=None, **fields):
    data = {"csrf_token": token(client, number, "remuneration"), "version": version}
    data.update(action=action, **fields)
    return client.post(f"/missions/{number}/remuneration", data=data, headers=headers or {})


def post_leg(app, client, number=621, leg_id=None, version=None, headers=None, **fields):
    """Post the leg form (a new leg, or the changes to leg_id) with the current version."""
    version = claim_of(app, number)["version"] if version is None else version
    url = f"/missions/{number}/deplacement/trajets/" + (
        f"{leg_id}/modifier" if leg_id else "nouveau"
    )
    data = {"csrf_token": token(client, number), "version": str(version), **fields}
    return client.post(url, data=data, headers=headers or {})


def post_expenses(app, client, number=621, version=None, headers=None, **fields):
    version = claim_of(app, number)["version"] if version is None else version
    data = {"csrf_token": token(client, number), "version": str(version), **fields}
    return client.post(f"/missions/{number}/deplacement/frais", data=data, headers=headers or {})


def add_621(app, client, *legs) -> list[int]:
    for leg in legs or (LEG_621,):
        assert post_leg(app, client, **leg).status_code == 303
    return claim_of(app, 621)["leg_ids"]


def validate(app, client, number=621, **fields):
    """Validate from the Récapitulatif, with mission 621's pay part entered first."""
    data = {"csrf_token": token(client), "version": str(claim_of(app, number)["version"])}
    saved = client.post(f"/missions/{number}/remuneration", data={**data, **PAY_621})
    assert saved.status_code == 303
    data["version"] = str(claim_of(app, number)["version"])
    return client.post(f"/missions/{number}/valider", data={**data, "certify": "y", **fields})


# --- Documents --------------------------------------------------------------------------------


def send(client, *files, receipts=(), number=621, hx=True, csrf=None):
    """Post files to the upload URL, as app.js (one HX request) or the plain form does."""
    data = {
        "receipts": list(receipts),
        "files": [(io.BytesIO(data), name) for name, data in files],
    }
    csrf = csrf or token(client, number)
    headers = {**HX, "X-CSRFToken": csrf} if hx else {}
    if not hx:
        data["csrf_token"] = csrf
    response = client.post(
        f"/missions/{number}/pieces",
        data=data,
        headers=headers,
        content_type="multipart/form-data",
    )
    # The test client spools a big body to a temporary file, and closes it only when
    # following redirects: close it here.
    response.get_data()
    response.close()
    response.request.environ["wsgi.input"].close()
    return response


def documents(app, number=621) -> list[Document]:
    with database(app) as db:
        found = list(
            db.scalars(
                select(Document)
                .join(Claim, Document.claim_id == Claim.id)
                .join(Mission, Claim.mission_id == Mission.id)
                .where(Mission.number == number)
                .order_by(Document.id)
            )
        )
        for document in found:
            document.refs  # noqa: B018  (loaded while the session is open)
        return found


def stored_files(app, number=621) -> list[str]:
    """The files of the upload folder, but those of the other missions' documents (the demo's)."""
    folder = app.config["UPLOAD_DIR"]
    with database(app) as db:
        others = set(
            db.scalars(
                select(Document.stored_name)
                .join(Claim, Document.claim_id == Claim.id)
                .join(Mission, Claim.mission_id == Mission.id)
                .where(Mission.number != number)
            )
        ) | set(db.scalars(select(DossierDocument.stored_name)))
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted(name for name in names if name not in others)


def fetch(client, url: str, **kwargs):
    """GET a URL and read its whole body, closing the file it may stream."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


# --- Forms, as a browser would send them back -------------------------------------------------


class _FormReader(HTMLParser):
    """The fields of the first form whose class contains ``wanted``, as a browser sends them."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted = wanted
        self.depth = 0
        self.done = False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.option: str | None = None
        self.selected: dict[str, str] = {}
        self.first_option: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.done:
            return
        if tag == "form" and self.wanted in (attrs.get("class") or "").split():
            self.depth = 1
            return
        if not self.depth:
            return
        if tag == "form":
            self.depth += 1
        elif tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind != "file":
                self.fields.append((attrs["name"], attrs.get("value") or ""))
        elif tag == "select":
            self.select = attrs.get("name")
        elif tag == "option" and self.select:
            value = attrs.get("value", "")
            self.first_option.setdefault(self.select, value)
            if "selected" in attrs:
                self.selected[self.select] = value

    def handle_endtag(self, tag):
        if not self.depth or self.done:
            return
        if tag == "select" and self.select:
            name = self.select
            self.fields.append((name, self.selected.get(name, self.first_option.get(name, ""))))
            self.select = None
        elif tag == "form":
            self.depth -= 1
            self.done = self.depth == 0


def form_fields(html: str, form_class: str) -> list[tuple[str, str]]:
    """What submitting a form of the page unchanged sends (its first form of that class)."""
    reader = _FormReader(form_class)
    reader.feed(html)
    return reader.fields


def multi(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form fields as the test client posts them (a name may come several times)."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def certify_service_fait(app, number: int = 621) -> None:
    """The chef de centre certified the mission's service fait (its bureau requires it)."""
    with database(app) as db:
        db.execute(
            update(Mission)
            .where(Mission.number == number)
            .values(service_fait="certifie", service_fait_at=dt.datetime(2022, 12, 5, 9))
        )
        db.commit()
