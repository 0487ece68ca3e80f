"""Hostile uploads (issue 11, items 1 and 9): one upload never stalls the site, and
sizes say the truth.

Before the fix, every POST took SQLite's write lock (``BEGIN IMMEDIATE``) before
the view ran, and the upload view held it while Pillow seeked through every
frame of a GIF, under a process-wide lock: one 1.6 MB GIF of 60 frames of
6000 × 6000 held every other write for 15 to 30 s, and they ended in
"database is locked" 500s.
"""

from __future__ import annotations

import functools
import io
import sqlite3
import threading
import time

import pytest
from PIL import Image

from imagin.demo import DEMO_PASSWORD
from tests.browserless import Visitor
from tests.builders import HX, jpeg, send
from tests.conftest import CLAIRE, PAUL, POSTGRES_URL, plain
from tests.services import imagin_environment, imagin_servers

FLOOD_MESSAGE = (
    "Ce GIF animé compte trop d'images (50 au maximum) : envoyez une image fixe ou un PDF."
)


@functools.cache
def flood_gif() -> bytes:
    """The attack: 60 frames of 6000 × 6000 in 1.6 MB (each frame one flat colour).

    One frame is encoded by Pillow, and its block repeated: Pillow's own animation
    writer takes minutes to compare 60 such frames.
    """
    frame = Image.new("P", (6000, 6000), 1)
    frame.putpalette([255, 0, 0, 0, 0, 255])
    buffer = io.BytesIO()
    frame.save(buffer, "GIF")
    single = buffer.getvalue()
    start = single.index(b"\x2c", 13)  # the image descriptor, after the colour table
    header, block = single[:start], single[start:-1]
    return header + block * 60 + b"\x3b"


@pytest.fixture
def claire(client, auth):
    auth.login(CLAIRE)
    return client


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's write lock")
def test_the_write_lock_is_free_while_a_file_is_checked(app, claire, monkeypatch, database_url):
    """While the upload's file is being decoded, another connection can take the write lock."""
    from imagin.documents import views

    path = database_url.removeprefix("sqlite:///")
    real = views.inspect_upload
    seen: list[str] = []

    def probe(*args, **kwargs):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError as error:
            seen.append(str(error))
        finally:
            other.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "inspect_upload", probe)
    response = send(claire, ("billet.jpg", jpeg()))
    assert response.status_code == 200
    assert seen == ["free"]


def test_the_gif_flood_is_refused_before_any_frame_is_decoded(claire):
    data = flood_gif()
    assert len(data) < 1_700_000
    started = time.perf_counter()
    response = send(claire, ("anim.gif", data))
    took = time.perf_counter() - started
    assert response.status_code == 422
    assert FLOOD_MESSAGE in plain(response.get_data(as_text=True))
    # Seeking to frame 50 decoded 50 frames of 36 Mpx: 15 to 30 s before the fix.
    assert took < 5


@pytest.fixture
def served(database_url, tmp_path):
    """One real `imagin serve` (waitress, 8 threads) on the test database."""
    env = imagin_environment(database_url, tmp_path, REQUEST_LOG=False)
    with imagin_servers(1, env, tmp_path / "app") as [server]:
        yield server


def _timed(results: dict, name: str, action) -> None:
    started = time.perf_counter()
    try:
        answer = action()
        results[name] = (answer.status, time.perf_counter() - started, answer.text)
    except Exception as error:  # the test reports it, with the others' results
        results[name] = (None, time.perf_counter() - started, repr(error))


def test_while_the_gif_flood_is_sent_others_save_and_sign_in(served):
    """Claire sends the GIF three times at once; meanwhile Paul saves his profile and the
    DEC signs in: each answers within 2 s, and nobody gets a 5xx."""
    claire = Visitor(served.url)
    assert claire.sign_in(CLAIRE, DEMO_PASSWORD).status == 303
    upload_token = claire.token("/missions/621/deplacement")
    paul = Visitor(served.url)
    assert paul.sign_in(PAUL, DEMO_PASSWORD).status == 303
    profile_token = paul.token("/profil")
    newcomer = Visitor(served.url)
    sign_in_token = newcomer.token("/intervenant")

    results: dict[str, tuple] = {}
    attacks = [
        threading.Thread(
            target=_timed,
            args=(
                results,
                f"gif-{n}",
                lambda: claire.post_files(
                    "/missions/621/pieces",
                    {},
                    [("files", "anim.gif", flood_gif())],
                    **HX,
                    **{"X-CSRFToken": upload_token},
                ),
            ),
        )
        for n in range(3)
    ]
    for attack in attacks:
        attack.start()
    profile = {
        "csrf_token": profile_token,
        "family_commune": "Caen",
        "admin_commune": "Hérouville-Saint-Clair",
        "vehicle_cv": "6",
    }
    _timed(results, "profile", lambda: paul.post("/profil", profile))
    credentials = {"csrf_token": sign_in_token, "email": CLAIRE, "password": DEMO_PASSWORD}
    _timed(results, "sign-in", lambda: newcomer.post("/intervenant", credentials))
    for attack in attacks:
        attack.join(120)

    statuses = {name: status for name, (status, _took, _text) in results.items()}
    assert statuses == {"gif-0": 422, "gif-1": 422, "gif-2": 422, "profile": 303, "sign-in": 303}
    for name in ("profile", "sign-in"):
        assert results[name][1] < 2, results
    for name in ("gif-0", "gif-1", "gif-2"):
        assert FLOOD_MESSAGE in plain(results[name][2])


# --- Item 9: sizes say the truth --------------------------------------------------------------

TOO_MANY_PARTS = (
    "Ce formulaire contient trop d'éléments (1000 au plus) : rien n'a été enregistré. "
    "Envoyez vos fichiers en plusieurs fois."
)
PART_TOO_LARGE = (
    "Un champ de ce formulaire, ou l'en-tête d'un fichier (son nom par exemple), est trop "
    "long : rien n'a été enregistré. Raccourcissez-le (renommez le fichier) et réessayez."
)


def _post_parts(client, data: dict, *, hx: bool, path: str = "/missions/621/pieces"):
    """A multipart body built in memory (the test client's own spools a big one to a
    temporary file, which it leaves open when the app stops reading)."""
    from werkzeug.test import encode_multipart

    from tests.builders import token

    csrf = token(client, 621)
    headers = {**HX, "X-CSRFToken": csrf} if hx else {}
    if not hx:
        data = {**data, "csrf_token": csrf}
    boundary, body = encode_multipart(data)
    return client.post(
        path,
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


@pytest.mark.parametrize("hx", [True, False])
def test_a_form_of_too_many_parts_gets_its_own_message(app, claire, hx):
    data = {"receipts": ["autre"] * 1000, "files": [(io.BytesIO(jpeg()), "billet.jpg")]}
    response = _post_parts(claire, data, hx=hx)
    if hx:
        assert response.status_code == 413
        html = plain(response.get_data(as_text=True))
    else:
        assert response.status_code == 303
        html = plain(claire.get(response.location).get_data(as_text=True))
    assert TOO_MANY_PARTS in html
    # Not the message of a body too large (beside the file, or at the top without JS).
    assert ("Le fichier dépasse" if hx else "Ce que vous avez envoyé dépasse") not in html
    assert stored_count(app) == 0


@pytest.mark.parametrize("hx", [True, False])
def test_a_file_name_too_long_for_a_part_header_gets_its_own_message(app, claire, hx):
    name = "facture-" + "x" * 600_000 + ".jpg"
    response = _post_parts(claire, {"files": [(io.BytesIO(jpeg()), name)]}, hx=hx)
    if hx:
        assert response.status_code == 413
        html = plain(response.get_data(as_text=True))
    else:
        assert response.status_code == 303
        html = plain(claire.get(response.location).get_data(as_text=True))
    assert PART_TOO_LARGE in html
    # Not the message of a body too large (beside the file, or at the top without JS).
    assert ("Le fichier dépasse" if hx else "Ce que vous avez envoyé dépasse") not in html
    assert stored_count(app) == 0


def test_other_forms_say_which_limit_too(claire):
    data = {"family_commune": ["Caen"] * 1001}
    response = _post_parts(claire, data, hx=False, path="/profil")
    assert response.status_code == 413
    assert TOO_MANY_PARTS in plain(response.get_data(as_text=True))
    long_field = _post_parts(claire, {"family_commune": "C" * 600_000}, hx=False, path="/profil")
    assert long_field.status_code == 413
    assert PART_TOO_LARGE in plain(long_field.get_data(as_text=True))


def stored_count(app) -> int:
    from tests.builders import documents

    return len(documents(app))


def photo(seed: int, size=(2400, 1800)) -> bytes:
    """A phone photo of about 4.9 MB (noise at quality 95)."""
    import random

    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_two_photos_of_4_9_mb_sent_at_once_without_javascript_are_both_kept(served, app):
    """Through waitress: before the fix, its own English "Request Entity Too Large"."""
    from tests.builders import documents

    photos = [photo(1), photo(2)]
    assert all(4.7 * 1024 * 1024 < len(data) < 5 * 1024 * 1024 for data in photos)
    claire = Visitor(served.url)
    assert claire.sign_in(CLAIRE, DEMO_PASSWORD).status == 303
    token = claire.token("/missions/621/deplacement")
    answer = claire.post_files(
        "/missions/621/pieces",
        {"csrf_token": token},
        [("files", "recto.jpg", photos[0]), ("files", "verso.jpg", photos[1])],
    )
    assert answer.status == 303, answer.text[:500]
    page = plain(claire.get(answer.header("Location")).text)
    assert "« recto.jpg » envoyé." in page and "« verso.jpg » envoyé." in page
    kept = documents(app)
    assert sorted(d.original_name for d in kept) == ["recto.jpg", "verso.jpg"]
    assert all(d.size <= 5 * 1024 * 1024 for d in kept)
