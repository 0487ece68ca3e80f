"""The mission page: its header and four tabs, rendered whole or as the tabs fragment."""

from __future__ import annotations

from typing import NamedTuple

from flask import Response

from imagin import clock
from imagin.domain.deadlines import to_validate_text
from imagin.domain.status import Part, effective_status
from imagin.domain.validation import mission_ended, validation_possible_from
from imagin.missions.queries import correction_reason
from imagin.models import Mission
from imagin.rendering import render_page


def part_of(claim, part: Part):
    return claim.pay if part is Part.PAY else claim.travel


class Tab(NamedTuple):
    slug: str
    endpoint: str
    label: str
    # The tab's panel, kept with the feature that owns it.
    template: str


# In the order users know.
TABS = (
    Tab("suivi", "missions.suivi", "Suivi", "missions/_suivi.html"),
    Tab("remuneration", "claims.remuneration", "Frais rémunération", "claims/_remuneration.html"),
    Tab("deplacement", "travel.deplacement", "Frais déplacement", "travel/_deplacement.html"),
    Tab("recapitulatif", "claims.recapitulatif", "Récapitulatif", "claims/_recapitulatif.html"),
)
TEMPLATES = {tab.slug: tab.template for tab in TABS}


def render_mission_tab(mission: Mission, tab: str, *, status: int = 200, **context) -> Response:
    """The mission page with ``tab`` selected, or only the tabs when HTMX asks.

    The header shows each part's status as users see it today ("Mission en cours"
    until the end), and the DEC's reason while a part is sent back for correction.
    """
    # Imported here: the claims package imports the tabs, which import this module.
    from imagin.claims.editing import claim_deadline, closed_by_deadline

    today = clock.today()
    claim = mission.claim
    statuses = {
        part.value: effective_status(
            claim.pay if part is Part.PAY else claim.travel, mission.ends_on, today
        )
        for part in Part
    }
    reasons = {
        Part.PAY.value: correction_reason(claim.pay, claim.pay_reason),
        Part.TRAVEL.value: correction_reason(claim.travel, claim.travel_reason),
    }
    deadline = claim_deadline(claim)
    deadline_text = next(
        (text for p in Part if (text := to_validate_text(part_of(claim, p), deadline, today))),
        "",
    )
    return render_page(
        "missions/mission.html",
        "tabs",
        status=status,
        mission=mission,
        claim=claim,
        statuses=statuses,
        reasons=reasons,
        deadline_text=deadline_text,
        # Past the closing date: read-only, with why and whom to ask.
        closed_notice=closed_by_deadline(claim, today),
        tab=tab,
        tabs=TABS,
        tab_template=TEMPLATES[tab],
        # Whether the validation forms of the tabs may be sent today, and from when.
        can_validate_now=mission_ended(mission.ends_on, today),
        validation_date=validation_possible_from(mission.ends_on),
        **context,
    )
