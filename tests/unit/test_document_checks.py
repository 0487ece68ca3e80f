"""Checks on uploaded documents: every refused input as a real file, and what is kept."""

from __future__ import annotations

import io
import random
import time
import warnings
import zlib

import pytest
from PIL import ExifTags, Image, ImageFile
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from imagin.documents import checks
from imagin.documents.checks import display_name, inspect_upload
from imagin.documents.errors import (
    ACTIVE_PDF,
    EMBEDDED_FILES_PDF,
    EMPTY_FILE,
    EMPTY_PDF,
    ENCRYPTED_PDF,
    UNSUPPORTED_FORMAT,
    DocumentRefused,
    FileTooLarge,
    format_size,
)
from tests.builders import (
    BLUE,
    RED,
    destination,
    gif,
    gps_photo,
    javascript_action,
    jpeg,
    pdf_of_size,
    png,
    png_header,
    png_with_metadata,
    pypdf_pdf,
    raw_pdf,
    simple_pdf,
    stream,
    with_link,
    with_open_action,
)

FIVE_MB = 5 * 1024 * 1024
TOO_MANY_PIXELS = "Image trop grande (40 millions de pixels au maximum)."


def inspect(data: bytes, name: str, max_bytes: int = FIVE_MB):
    return inspect_upload(io.BytesIO(data), name, max_bytes=max_bytes)


def refusal(data: bytes, name: str, max_bytes: int = FIVE_MB) -> DocumentRefused:
    with pytest.raises(DocumentRefused) as refused:
        inspect(data, name, max_bytes)
    assert refused.value.status in (413, 422)
    return refused.value


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


# --- Accepted files ------------------------------------------------------------


def test_photo_is_turned_upright_and_loses_gps_exif_and_icc():
    checked = inspect(gps_photo(), "IMG_2024.JPG")
    assert (checked.kind, checked.content_type, checked.extension) == ("jpeg", "image/jpeg", ".jpg")
    assert b"Exif\x00\x00" not in checked.data
    with opened(checked.data) as image:
        assert image.format == "JPEG"
        # Orientation 6: stored 40×20 sideways, shown 20×40 with the left (red) half on top.
        assert image.size == (20, 40)
        assert dict(image.getexif()) == {}
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
        assert "icc_profile" not in image.info and "exif" not in image.info
        top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_re_encoding_is_deterministic_so_the_stored_hash_finds_duplicates():
    first, second = inspect(gps_photo(), "a.jpg"), inspect(gps_photo(), "b.jpeg")
    assert first.sha256 == second.sha256
    assert first.original_sha256 != first.sha256
    assert first.original_size == len(gps_photo()) and first.size == len(first.data)


@pytest.mark.parametrize("name", ["recu.jpg", "recu.JPG", "recu.jpeg", "RECU.JpEg"])
def test_jpeg_extensions_in_any_case(name):
    assert inspect(jpeg(), name).kind == "jpeg"


def test_png_loses_text_exif_and_icc_but_stays_png():
    checked = inspect(png_with_metadata(), "capture.png")
    assert (checked.kind, checked.content_type, checked.extension) == ("png", "image/png", ".png")
    for marker in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"Claire"):
        assert marker not in checked.data
    with opened(checked.data) as image:
        assert image.size == (30, 50)
        assert image.getpixel((0, 0)) == BLUE


def test_palette_transparency_is_kept_as_alpha():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([*RED, *BLUE])
    image.putpixel((0, 0), 1)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    with opened(inspect(buffer.getvalue(), "t.png").data) as result:
        assert result.mode == "RGBA"
        assert result.getpixel((1, 1))[3] == 0
        assert result.getpixel((0, 0)) == (*BLUE, 255)


def test_gif_is_kept_as_png_of_its_first_frame():
    checked = inspect(gif(3, size=(6, 6)), "scan.gif")
    assert (checked.source_kind, checked.kind, checked.extension) == ("gif", "png", ".png")
    assert checked.download_name == "scan.png"
    with opened(checked.data) as image:
        assert image.format == "PNG"
        assert getattr(image, "n_frames", 1) == 1
        assert image.convert("RGB").getpixel((0, 0)) == RED


def test_pdf_is_kept_unchanged():
    data = simple_pdf()
    checked = inspect(data, "facture.pdf")
    assert checked.data == data
    assert checked.sha256 == checked.original_sha256
    assert (checked.kind, checked.content_type, checked.pages) == ("pdf", "application/pdf", 1)
    assert checked.download_name == "facture.pdf"


def test_pdf_written_by_pypdf_with_several_pages():
    assert inspect(pypdf_pdf(3), "billets.pdf").pages == 3


def test_opening_at_a_page_is_not_an_action():
    # LibreOffice and LaTeX write /OpenAction [page /XYZ …]: refusing it would refuse most invoices.
    assert inspect(pypdf_pdf(configure=with_open_action(destination)), "lo.pdf").pages == 1

    def goto(writer: PdfWriter) -> DictionaryObject:
        return DictionaryObject(
            {NameObject("/S"): NameObject("/GoTo"), NameObject("/D"): destination(writer)}
        )

    assert inspect(pypdf_pdf(configure=with_open_action(goto)), "goto.pdf").pages == 1


def test_links_are_allowed():
    link = DictionaryObject(
        {
            NameObject("/S"): NameObject("/URI"),
            NameObject("/URI"): TextStringObject("https://www.sncf-connect.com/"),
        }
    )
    assert inspect(pypdf_pdf(configure=with_link(link)), "billet.pdf").pages == 1


# --- Size ------------------------------------------------------------------------


def test_exactly_5_mib_is_accepted():
    data = pdf_of_size(FIVE_MB)
    assert len(data) == 5 * 1024 * 1024
    assert inspect(data, "gros.pdf").size == FIVE_MB


def test_5_mib_and_one_byte_is_refused():
    data = pdf_of_size(FIVE_MB + 1)
    refused = refusal(data, "gros.pdf")
    assert isinstance(refused, FileTooLarge)
    assert refused.message.startswith("Le fichier dépasse 5 Mo")
    assert refused.status == 413


class CountingStream(io.RawIOBase):
    """An endless upload that counts what was read from it."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size > 0, "the whole body must never be asked for"
        self.served += size
        return b"%PDF-" + b"x" * (size - 5) if self.served == size else b"x" * size


def test_an_oversized_upload_is_not_read_past_the_limit():
    upload = CountingStream()
    with pytest.raises(FileTooLarge):
        inspect_upload(upload, "huge.pdf", max_bytes=FIVE_MB)
    assert upload.served == FIVE_MB + 1


def test_size_limit_from_a_path(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(pdf_of_size(2001))
    assert inspect_upload(path, "ok.pdf", max_bytes=2001).size == 2001
    with pytest.raises(FileTooLarge):
        inspect_upload(str(path), "ok.pdf", max_bytes=2000)


@pytest.mark.parametrize(
    ("size", "text"), [(5 * 1024 * 1024, "5 Mo"), (2_621_440, "2,5 Mo"), (800 * 1024, "800 Ko")]
)
def test_sizes_in_french(size, text):
    assert format_size(size) == text


def test_empty_file():
    assert refusal(b"", "vide.pdf").message == EMPTY_FILE


# --- Format: extension and real content -----------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "facture.exe",
        "a.pdf.exe",
        "image.svg",
        "photo.heic",
        "photo.webp",
        "scan.tiff",
        "sans_extension",
        ".pdf",
        "facture.pdf\x00.exe",
        "facture\u202efdp.exe",
    ],
)
def test_extension_not_in_the_allow_list(name):
    assert refusal(simple_pdf(), name).message == UNSUPPORTED_FORMAT


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            "photo.jpg",
            "Ce fichier n'est pas une image JPEG valide.",
        ),
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56, "photo.jpg", None),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 54, "photo.jpeg", None),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 54, "facture.pdf", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.png", None),
        (b"GIF89a<script>", "x.pdf", None),
    ],
)
def test_content_that_is_not_the_extension(data, name, message):
    refused = refusal(data, name)
    assert refused.status == 422
    assert refused.message.startswith("Ce fichier n'est pas ")
    if message:
        assert refused.message == message


def test_pdf_renamed_png_says_what_it_really_is():
    refused = refusal(simple_pdf(), "ticket.png")
    assert refused.message == (
        "Ce fichier n'est pas une image PNG valide : son contenu est un PDF. "
        "Renommez-le en .pdf puis déposez-le à nouveau."
    )


def test_png_renamed_jpg_is_refused():
    assert "son contenu est une image PNG" in refusal(png(), "photo.jpg").message


@pytest.mark.parametrize(
    ("data", "name", "label"),
    [
        (jpeg((200, 200), noise=True), "photo.jpg", "JPEG"),
        (png((200, 200), color=(10, 20, 30)), "capture.png", "PNG"),
        (gif(1, size=(100, 100)), "scan.gif", "GIF"),
    ],
)
def test_truncated_image(data, name, label):
    cut = data[: len(data) // 2]
    assert refusal(cut, name).message == f"Ce fichier {label} est endommagé ou incomplet."


def test_jpeg_magic_then_garbage():
    refused = refusal(b"\xff\xd8\xff\xe0" + b"garbage" * 50, "photo.jpg")
    assert refused.message == "Ce fichier JPEG est endommagé ou incomplet."


@pytest.mark.parametrize("data", [simple_pdf(), pypdf_pdf(2)])
def test_truncated_pdf(data):
    cut = data[: len(data) // 2]
    assert refusal(cut, "facture.pdf").message == "Ce fichier PDF est endommagé ou incomplet."


def test_pdf_header_then_garbage():
    data = b"%PDF-1.7\n" + b"\x00garbage" * 100 + b"\n%%EOF\n"
    assert refusal(data, "facture.pdf").message == "Ce fichier PDF est endommagé ou incomplet."


def test_corrupt_page_content_is_refused():
    data = simple_pdf(body=stream(b"not deflated at all" * 3, b"/Filter /FlateDecode"))
    assert refusal(data, "facture.pdf").message == "Ce fichier PDF est endommagé ou incomplet."


def test_pdf_without_pages():
    data = raw_pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>")
    assert refusal(data, "vide.pdf").message == EMPTY_PDF


def test_pdf_with_too_many_pages():
    refused = refusal(pypdf_pdf(checks.MAX_PDF_PAGES + 1), "annuaire.pdf")
    assert refused.message == "Ce PDF compte trop de pages (100 au maximum)."


# --- Images: pixel flood and animations ----------------------------------------


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (50_000, 50_000),  # past Pillow's own hard limit: its error becomes our refusal
        (10_000, 10_000),  # past Pillow's warning threshold: the warning becomes our refusal
        (8_000, 8_000),  # under Pillow's limits, over ours
        (40_001, 1_000),
    ],
)
def test_pixel_flood_is_refused_before_decoding(width, height, monkeypatch):
    def no_decoding(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    data = png_header(width, height)
    assert len(data) < 100
    assert refusal(data, "flood.png").message == TOO_MANY_PIXELS


def test_pixel_flood_leaves_no_warning_behind():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refusal(png_header(10_000, 10_000), "flood.png")
    assert caught == []


def test_pixel_limit_itself_is_accepted():
    # 40 Mpx exactly is allowed; a flat PNG of that size stays small.
    buffer = io.BytesIO()
    Image.new("L", (8_000, 5_000), 255).save(buffer, "PNG")
    assert inspect(buffer.getvalue(), "large.png").kind == "png"


def test_gif_with_thousands_of_frames_is_refused():
    refused = refusal(gif(2000), "anim.gif")
    assert refused.message == (
        "Ce GIF animé compte trop d'images (50 au maximum) : envoyez une image fixe ou un PDF."
    )


def test_gif_at_the_frame_limit_is_flattened():
    with opened(inspect(gif(checks.MAX_GIF_FRAMES), "anim.gif").data) as image:
        assert getattr(image, "n_frames", 1) == 1


# --- PDF: encryption, scripts, actions, attachments --------------------------------


@pytest.mark.parametrize("password", ["secret", ""])
def test_encrypted_pdf(password):
    # Even with an empty user password (opens without asking, "protected" against copying).
    assert refusal(pypdf_pdf(password=password), "protege.pdf").message == ENCRYPTED_PDF


def test_open_action_javascript():
    data = pypdf_pdf(configure=with_open_action(lambda writer: javascript_action()))
    assert refusal(data, "script.pdf").message == ACTIVE_PDF


def test_document_level_javascript_name_tree():
    def configure(writer: PdfWriter) -> None:
        names = DictionaryObject(
            {
                NameObject("/JavaScript"): DictionaryObject(
                    {
                        NameObject("/Names"): ArrayObject(
                            [TextStringObject("init"), writer._add_object(javascript_action())]
                        )
                    }
                )
            }
        )
        writer._root_object[NameObject("/Names")] = names

    assert refusal(pypdf_pdf(configure=configure), "script.pdf").message == ACTIVE_PDF


def test_launch_action_in_a_link():
    launch = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )
    assert refusal(pypdf_pdf(configure=with_link(launch)), "lien.pdf").message == ACTIVE_PDF


def test_page_additional_actions():
    data = simple_pdf(page=b"/AA << /O << /S /JavaScript /JS (app.alert\\(1\\)) >> >>")
    assert refusal(data, "page.pdf").message == ACTIVE_PDF


def test_open_action_that_opens_a_url():
    data = simple_pdf(catalog=b"/OpenAction << /S /URI /URI (http://example.com/track) >>")
    assert refusal(data, "pisteur.pdf").message == ACTIVE_PDF


def test_embedded_file():
    data = pypdf_pdf(configure=lambda writer: writer.add_attachment("virus.exe", b"MZ\x90\x00"))
    assert refusal(data, "joint.pdf").message == EMBEDDED_FILES_PDF


def test_file_attachment_annotation():
    data = simple_pdf(
        page=b"/Annots [6 0 R]",
        extra=(
            b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] /FS 7 0 R >>",
            b"<< /Type /Filespec /F (a.exe) /EF << /F 8 0 R >> >>",
            stream(b"MZ"),
        ),
    )
    assert refusal(data, "joint.pdf").message == EMBEDDED_FILES_PDF


@pytest.mark.parametrize(
    ("catalog", "message"),
    [
        (b"/OpenAction << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>", ACTIVE_PDF),
        (b"/OpenAction << /S /#4Aava#53cript /JS (x) >>", ACTIVE_PDF),
        (b"/Open#41ction << /S /L#61unch /F (calc.exe) >>", ACTIVE_PDF),
        (b"/Names << /Embedded#46iles << /Names [] >> >>", EMBEDDED_FILES_PDF),
    ],
)
def test_escaped_names(catalog, message):
    data = simple_pdf(catalog=catalog)
    assert b"JavaScript" not in data and b"Launch" not in data
    assert refusal(data, "cache.pdf").message == message


def test_escaped_name_in_an_object_missing_from_the_xref():
    # pypdf never reads it; a lenient reader rebuilding the xref would.
    hidden = b"99 0 obj\n<< /S /J#61va#53cript /J#53 (app.alert\\(1\\)) >>\nendobj\n"
    data = simple_pdf(hidden=hidden)
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    assert refusal(data, "cache.pdf").message == ACTIVE_PDF


def test_javascript_hidden_in_a_compressed_object_stream():
    objects = b"6 0 << /S /J#61vaScript /JS (app.alert\\(1\\)) >>"
    body = zlib.compress(objects[4:])
    object_stream = stream(body, b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode")
    data = simple_pdf(extra=(object_stream,))
    assert b"JavaScript" not in data and b"J#61va" not in data
    assert refusal(data, "cache.pdf").message == ACTIVE_PDF


def test_names_inside_binary_streams_are_not_mistaken_for_actions():
    # Raw image or font bytes can contain "/JS" by chance: only object syntax counts.
    data = simple_pdf(extra=(stream(b"\x00\x01/JS /Launch /JavaScript\xff"),))
    assert inspect(data, "binaire.pdf").pages == 1


# --- Names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "shown"),
    [
        ("../../x.pdf", "x.pdf"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("C:\\Users\\claire\\x.pdf", "x.pdf"),
        ("C:x.pdf", "x.pdf"),
        ("/etc/passwd", "passwd"),
        ("fac\x00ture.pdf", "facture.pdf"),
        ("facture.pdf\x00.exe", "facture.pdf.exe"),
        ("ligne\r\nsuivante.pdf", "lignesuivante.pdf"),
        ("facture\u202efdp.exe", "facturefdp.exe"),
        ("\u2066isolé\u2069.pdf", "isolé.pdf"),
        ("\u200fmarque\u200e.png", "marque.png"),
        ("a.pdf.exe", "a.pdf.exe"),
        ("  trop   d'espaces .pdf", "trop d'espaces .pdf"),
        ("reçu.pdf.", "reçu.pdf"),
        ("e\u0301te\u0301.pdf", "été.pdf"),
        ("", "document"),
        (None, "document"),
        ("..", "document"),
        ("\\", "document"),
    ],
)
def test_display_name(original, shown):
    assert display_name(original) == shown


def test_long_name_is_cut_keeping_the_extension():
    shown = display_name("a" * 300 + ".pdf")
    assert len(shown) == 120
    assert shown.endswith("….pdf")
    shown = display_name("b" * 300)
    assert len(shown) == 120 and shown.endswith("…")


@pytest.mark.parametrize(
    ("original", "shown"),
    [
        ("../../x.pdf", "x.pdf"),
        ("C:\\x.pdf", "x.pdf"),
        ("x\x00.pdf", "x.pdf"),
        ("n" * 300 + ".pdf", "n" * 115 + "….pdf"),
        ("\u202eexe.pdf", "exe.pdf"),
    ],
)
def test_accepted_upload_carries_only_the_safe_name(original, shown):
    assert inspect(simple_pdf(), original).display_name == shown


# --- Each PDF scan catches escaped names on its own ----------------------------------


def test_pypdf_scan_alone_catches_escaped_names(monkeypatch):
    monkeypatch.setattr(checks, "_scan_raw", lambda data: None)
    data = simple_pdf(catalog=b"/OpenAction << /S /J#61vaScript /J#53 (x) >>")
    assert refusal(data, "cache.pdf").message == ACTIVE_PDF


def test_raw_scan_alone_catches_escaped_names(monkeypatch):
    monkeypatch.setattr(checks, "_scan_objects", lambda reader: None)
    data = simple_pdf(page=b"/AA << /O << /S /J#61vaScript /J#53 (x) >> >>")
    assert refusal(data, "cache.pdf").message == ACTIVE_PDF


# --- Costly PDFs are refused quickly ----------------------------------------------------


def test_pdf_with_too_many_objects():
    many = tuple(b"<< /A [1 2 3] >>" for _ in range(checks.MAX_PDF_OBJECTS))
    assert refusal(simple_pdf(extra=many), "lourd.pdf").message.startswith(
        "Ce PDF est trop complexe pour être vérifié"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"stream\n" * 700_000,  # a lazy regular expression would be quadratic here
        b"/a" * 2_500_000,
        b"[" * 1_000_000,
        b"<<" * 1_000_000,
    ],
)
def test_pathological_pdf_syntax_is_refused_quickly(body):
    data = b"%PDF-1.7\n1 0 obj\n" + body + b"\nendobj\n%%EOF\n"
    started = time.monotonic()
    assert refusal(data, "piege.pdf").message == "Ce fichier PDF est endommagé ou incomplet."
    assert time.monotonic() - started < 5


# --- Issue 11: the work a file costs is bounded before decoding; stored sizes tell the truth --


def test_gif_frames_are_counted_from_its_blocks_without_decoding(monkeypatch):
    def no_decoding(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    frames = checks.gif_frames(gif(60, size=(20, 10)))
    assert (frames.count, frames.pixels) == (60, 60 * 200)
    assert refusal(gif(60, size=(20, 10)), "anim.gif").message == (
        "Ce GIF animé compte trop d'images (50 au maximum) : envoyez une image fixe ou un PDF."
    )


def test_gif_whose_frames_add_up_to_too_many_pixels_is_refused(monkeypatch):
    # Two frames of 5000 × 5000: each under the limit, 50 Mpx together.
    frame = Image.new("P", (5000, 5000), 0)
    frame.putpalette([255, 0, 0, 0, 0, 255])
    buffer = io.BytesIO()
    frame.save(buffer, "GIF")
    single = buffer.getvalue()
    start = single.index(b"\x2c", 13)
    data = single[:start] + single[start:-1] * 2 + b"\x3b"
    assert refusal(data, "deux.gif").message == (
        "Ce GIF animé est trop grand : ses images comptent ensemble plus de 40 millions "
        "de pixels. Envoyez une image fixe ou un PDF."
    )
    # One such frame alone is a fixed image of 25 Mpx, and is kept.
    assert inspect(single, "une.gif").kind == "png"


def test_bytes_per_pixel_are_those_pillow_keeps():
    assert [checks.bytes_per_pixel(m) for m in ("1", "L", "P", "I;16", "LA", "RGB", "RGBA")] == [
        1,
        1,
        1,
        2,
        4,
        4,
        4,
    ]


def noisy_jpeg(size: tuple[int, int], quality: int) -> bytes:
    rng = random.Random(7)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_a_photo_saved_at_low_quality_is_stored_within_5_mb():
    # 4.2 MiB at quality 40: re-encoded at 85 it would be past 5 MiB (stored so before the fix).
    data = noisy_jpeg((4200, 3200), 40)
    assert 4 * 1024 * 1024 < len(data) < FIVE_MB
    with Image.open(io.BytesIO(data)) as image:
        at_85 = io.BytesIO()
        image.save(at_85, "JPEG", quality=checks.JPEG_QUALITY, optimize=True)
    assert len(at_85.getvalue()) > FIVE_MB
    checked = inspect(data, "ticket.jpg")
    assert checked.size <= FIVE_MB
    with opened(checked.data) as image:
        assert image.size == (4200, 3200)


def test_an_image_that_cannot_fit_once_cleaned_is_refused_with_its_reason():
    data = noisy_jpeg((1200, 900), 20)
    refused = refusal(data, "ticket.jpg", max_bytes=len(data))
    assert refused.status == 413
    assert refused.message.startswith("Même recompressée, cette photo dépasserait")
    # A palette PNG with transparency is kept as RGBA: bigger than what was sent.
    rng = random.Random(3)
    image = Image.frombytes("P", (600, 400), bytes(rng.randrange(4) for _ in range(600 * 400)))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
    image.info["transparency"] = 0
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    small = buffer.getvalue()
    refused = refusal(small, "plan.png", max_bytes=len(small))
    assert refused.status == 413
    assert "Une fois nettoyée de ses métadonnées, cette image dépasserait" in refused.message
