"""The intervenant's mission list and the mission page's Suivi tab."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_login import current_user, login_required

from imagin import clock
from imagin.db import get_db
from imagin.missions.forms import read_filters
from imagin.missions.money import money_path
from imagin.missions.page import render_mission_tab
from imagin.missions.queries import get_own_mission, history, list_own_missions, own_sessions
from imagin.missions.rows import mission_row
from imagin.rendering import render_page

bp = Blueprint("missions", __name__, url_prefix="/missions")

MISSION_URL = "/<int(max=2147483647):number>"


@bp.before_request
@login_required
def require_login() -> None:
    """Every page of this blueprint is for signed-in users only."""


@bp.get("")
def index():
    """List the signed-in intervenant's missions, filtered and paged."""
    form = read_filters(request.args, own_sessions(current_user.id))
    session_id, status, page = form.cleaned()
    result = list_own_missions(
        current_user.id,
        session_id=session_id,
        status=status,
        page=page,
        per_page=current_app.config["MISSIONS_PER_PAGE"],
        today=clock.today(),
    )
    return render_page(
        "missions/index.html",
        "results",
        form=form,
        result=result,
        mission_row=mission_row,
        query_args={k: v for k, v in request.args.items() if k != "page" and v},
    )


@bp.get(MISSION_URL)
@bp.get(MISSION_URL + "/suivi")
def suivi(number: int):
    """Show a mission with its Suivi tab: statuses, next step, days and history."""
    mission = get_own_mission(number, current_user.id)
    events = history(mission.id)
    return render_mission_tab(
        mission,
        "suivi",
        history_events=events,
        money=money_path(get_db(), mission, events, current_app.config["PAYMENT_DELAY_MONTHS"]),
    )
