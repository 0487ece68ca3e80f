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
