"""The mission page: its header and four tabs, rendered whole or as the tabs fragment."""

from __future__ import annotations

from flask import Response

from imagin import clock
from imagin.domain.status import effective_status
from imagin.models import Mission
from imagin.rendering import render_page

# (slug, endpoint, label) in the order users know.
TABS = (
    ("suivi", "missions.suivi", "Suivi"),
    ("remuneration", "claims.remuneration", "Frais rémunération"),
    ("deplacement", "travel.deplacement", "Frais déplacement"),
    ("recapitulatif", "claims.recapitulatif", "Récapitulatif"),
)


def render_mission_tab(mission: Mission, tab: str, *, status: int = 200, **context) -> Response:
    """The mission page with ``tab`` selected, or only the tabs when HTMX asks."""
    today = clock.today()
    claim = mission.claim
    statuses = {
        "pay": effective_status(claim.pay, mission.ends_on, today),
        "travel": effective_status(claim.travel, mission.ends_on, today),
    }
    return render_page(
        "missions/mission.html",
        "tabs",
        status=status,
        mission=mission,
        claim=claim,
        statuses=statuses,
        tab=tab,
        tabs=TABS,
        **context,
    )
