"""Screenshots to look at, on demand: IMAGIN_SCREENSHOTS=1 pytest tests/browser -k screenshots

PNGs of the sign-in page, the list, mission 621 (each tab) and an error page
at 360 and 1280 px go to screenshots/ (ignored by git).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import DESKTOP, PHONE, TABS, open_page, sign_in

FOLDER = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = pytest.mark.skipif(
    os.environ.get("IMAGIN_SCREENSHOTS") != "1", reason="set IMAGIN_SCREENSHOTS=1 to take them"
)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "360px"])
def test_screenshots(new_context, viewport):
    FOLDER.mkdir(exist_ok=True)
    width = viewport["width"]
    page, _errors = open_page(new_context, viewport=viewport)

    def shoot(name: str) -> None:
        page.screenshot(path=FOLDER / f"{name}-{width}.png", full_page=True)

    page.goto("/intervenant")
    shoot("1-connexion")
    sign_in(page)
    shoot("2-missions")
    for number, (_label, path) in enumerate(TABS, start=3):
        page.goto(path)
        shoot(f"{number}-mission-621-{path.rsplit('/', 1)[1]}")
    page.goto("/missions/999999")
    shoot("7-erreur-404")
