"""A day of IMAG'IN users for Locust (run by bench/stack.py, not by hand).

Nine intervenants for one gestionnaire. Each intervenant has a mission of their
own (numbers from BENCH_FIRST_MISSION, one per account bench-NNNN@example.fr),
and does what people do after an exam: sign in, look at the list, open the
mission, fill the pay tab, add the two legs of the journey, upload a 1 MB photo
of the ticket, validate; then comes back now and then to see where the claim
stands. The gestionnaire works the queue: list, open a claim, read it.

Pages are named after what they are (``/missions/[n]/suivi``), so that Locust's
table gives one line per page.
"""

from __future__ import annotations

import itertools
import os
import re
import threading

from locust import HttpUser, between, task

PASSWORD = os.environ.get("BENCH_PASSWORD", "imagin-demo")
FIRST = int(os.environ.get("BENCH_FIRST_MISSION", "10000"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "500"))
PHOTO = os.environ.get("BENCH_PHOTO", "")
MANAGER = os.environ.get("BENCH_MANAGER", "dec.orleans@example.fr")

_numbers = itertools.count()
_lock = threading.Lock()

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')
PAY = {
    "done": "oui",
    "candidates": "8",
    "hours-0-day": "2022-12-02",
    "hours-0-start": "09:00",
    "hours-0-end": "12:30",
}
LEGS = (
    {
        "departure_date": "02/12/2022",
        "departure_time": "07:00",
        "departure_city": "ST LO",
        "arrival_date": "02/12/2022",
        "arrival_time": "08:45",
        "arrival_city": "ALENCON CEDEX",
        "mode": "voiture",
        "km": "150",
    },
    {
        "departure_date": "02/12/2022",
        "departure_time": "16:30",
        "departure_city": "ALENCON CEDEX",
        "arrival_date": "02/12/2022",
        "arrival_time": "18:15",
        "arrival_city": "ST LO",
        "mode": "voiture",
        "km": "150",
    },
)


def _like_a_browser(user: HttpUser) -> None:
    """Trust the self-signed certificate; send a Referer as browsers do (CSRF over https)."""
    user.client.verify = os.environ.get("BENCH_CA") or True
    user.client.headers["Referer"] = f"{user.host}/"
    user.client.headers["Accept-Encoding"] = "br, gzip"


def _next_account() -> int:
    with _lock:
        return next(_numbers) % ACCOUNTS


def _field(pattern: re.Pattern, html: str) -> str:
    match = pattern.search(html)
    return match.group(1) if match else ""


class Intervenant(HttpUser):
    weight = 9
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        _like_a_browser(self)
        n = _next_account()
        self.number = FIRST + n
        self.email = f"bench-{n:04d}@example.fr"
        self.filed = False
        page = self.client.get("/intervenant", name="/intervenant").text
        self.client.post(
            "/intervenant",
            {"csrf_token": _field(TOKEN, page), "email": self.email, "password": PASSWORD},
            name="/intervenant (POST)",
        )

    def _page(self, tab: str) -> str:
        return self.client.get(f"/missions/{self.number}/{tab}", name=f"/missions/[n]/{tab}").text

    @task
    def day(self) -> None:
        self.client.get("/missions", name="/missions")
        suivi = self._page("suivi")
        if self.filed or "Validé" in suivi:
            self.filed = True
            self._page("recapitulatif")
            return
        pay = self._page("remuneration")
        self.client.post(
            f"/missions/{self.number}/remuneration",
            {
                "csrf_token": _field(TOKEN, pay),
                "version": _field(VERSION, pay),
                "action": "save",
                **PAY,
            },
            name="/missions/[n]/remuneration (POST)",
        )
        for leg in LEGS:
            travel = self._page("deplacement")
            self.client.post(
                f"/missions/{self.number}/deplacement/trajets/nouveau",
                {"csrf_token": _field(TOKEN, travel), "version": _field(VERSION, travel), **leg},
                name="/missions/[n]/deplacement/trajets/nouveau (POST)",
            )
        travel = self._page("deplacement")
        # Away over lunch: say how it was taken.
        self.client.post(
            f"/missions/{self.number}/deplacement/frais",
            {
                "csrf_token": _field(TOKEN, travel),
                "version": _field(VERSION, travel),
                "meal-2022-12-02-dejeuner": "autre",
            },
            name="/missions/[n]/deplacement/frais (POST)",
        )
        travel = self._page("deplacement")
        if PHOTO:
            with open(PHOTO, "rb") as photo:
                self.client.post(
                    f"/missions/{self.number}/pieces",
                    data={"csrf_token": _field(TOKEN, travel), "receipt": "autre"},
                    files={"files": ("billet.jpg", photo, "image/jpeg")},
                    name="/missions/[n]/pieces (POST, photo 1 Mo)",
                )
        recap = self._page("recapitulatif")
        self.client.post(
            f"/missions/{self.number}/valider",
            {
                "csrf_token": _field(TOKEN, recap),
                "version": _field(VERSION, recap),
                "certify": "y",
            },
            name="/missions/[n]/valider (POST)",
        )
        self.filed = True


class Gestionnaire(HttpUser):
    weight = 1
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        _like_a_browser(self)
        page = self.client.get("/intervenant", name="/intervenant").text
        self.client.post(
            "/intervenant",
            {"csrf_token": _field(TOKEN, page), "email": MANAGER, "password": PASSWORD},
            name="/intervenant (POST)",
        )
        self.reviewed = itertools.count()

    @task
    def queue(self) -> None:
        self.client.get("/gestion", name="/gestion")
        number = FIRST + next(self.reviewed) % ACCOUNTS
        self.client.get(f"/gestion/missions/{number}", name="/gestion/missions/[n]")
