"""The chef de centre's pages: his centres' missions for a period, certify or flag them."""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from imagin import clock
from imagin.centre.access import chief_centre_ids, get_chief_mission, require_chief
from imagin.centre.forms import CertifyForm, FlagForm, PeriodForm
from imagin.centre.queries import centre_missions
from imagin.centre.service import record_service_fait
from imagin.db import get_db
from imagin.domain.service_fait import Certifier, ServiceFaitAction, ServiceFaitRefused
from imagin.missions.queries import MAX_MISSION_NUMBER
from imagin.models import Mission
from imagin.rendering import back_to, render_page

bp = Blueprint("centre", __name__, url_prefix="/centre")

MISSION_URL = "/missions/<int(max=2147483647):number>"
# The period and filter kept across a certification, so the chef lands where he was.
PERIOD_ARGS = ("start", "end", "state")


@bp.before_request
@login_required
def check_chief() -> None:
    """Every /centre page is for chefs de centre only; others get a 404."""
    require_chief()


def _period_args(values) -> dict[str, str]:
    return {k: values[k] for k in PERIOD_ARGS if values.get(k)}


@bp.get("")
def index():
    """The missions of the chef's centres for a period, by exam and day, with what was declared."""
    form = PeriodForm(request.args)
    today = clock.today()
    start, end, state = form.cleaned(today)
    return render_page(
        "centre/index.html",
        status=422 if form.errors else 200,
        form=form,
        start=start,
        end=end,
        page=centre_missions(current_user.id, start, end, state),
        certify_form=CertifyForm(),
        today=today,
        period_args=_period_args(request.args),
    )


@bp.post("/certifier")
def certify():
    """Certify the service fait of the ticked missions, or of the one whose button was pressed."""
    form = CertifyForm()
    form.validate()
    one = request.form.get("one", type=int)
    numbers = [one] if one else (form.selected.data or [])
    numbers = sorted({n for n in numbers if 0 < n <= MAX_MISSION_NUMBER})
    back = url_for("centre.index", **_period_args(request.form))
    if not numbers:
        return back_to(back, "Cochez au moins une mission à certifier.", "error")
    db = get_db()
    missions = (
        db.scalars(
            select(Mission)
            .join(Mission.claim)
            .where(
                Mission.number.in_(numbers),
                Mission.centre_id.in_(chief_centre_ids(current_user.id)),
            )
            .order_by(Mission.number)
        )
        .unique()
        .all()
    )
    found = {m.number for m in missions}
    now = clock.now()
    done, refused = (
        [],
        [f"Mission {n} : introuvable dans vos centres." for n in numbers if n not in found],
    )
    for mission in missions:
        try:
            record_service_fait(
                db, mission, ServiceFaitAction.CERTIFY, current_user, Certifier.CHIEF, now=now
            )
        except ServiceFaitRefused as refusal:
            refused.append(f"Mission {mission.number} : {refusal.message}")
        else:
            done.append(mission.number)
    db.commit()
    if done:
        flash(
            f"Service fait certifié : mission{'s' if len(done) > 1 else ''} "
            + ", ".join(str(n) for n in done)
            + ".",
            "success",
        )
    for line in refused:
        flash(line, "error")
    return back_to(back)


def _flag_page(mission: Mission, form: FlagForm, *, status: int = 200, message: str | None = None):
    return render_page(
        "centre/flag.html",
        status=status,
        mission=mission,
        form=form,
        message=message,
        period_args=_period_args(request.values),
    )


@bp.get(MISSION_URL + "/signaler")
def flag_form(number: int):
    """Ask the reason for flagging a mission of the chef's centres."""
    return _flag_page(get_chief_mission(number), FlagForm())


@bp.post(MISSION_URL + "/signaler")
def flag(number: int):
    """Flag a mission (work not done as declared), with the reason the DEC will read."""
    db = get_db()
    mission = get_chief_mission(number)
    form = FlagForm()
    if not form.validate():
        return _flag_page(mission, form, status=422)
    try:
        record_service_fait(
            db,
            mission,
            ServiceFaitAction.FLAG,
            current_user,
            Certifier.CHIEF,
            now=clock.now(),
            reason=form.reason.data,
        )
    except ServiceFaitRefused as refusal:
        db.rollback()
        return _flag_page(get_chief_mission(number), form, status=409, message=refusal.message)
    db.commit()
    return back_to(
        url_for("centre.index", **_period_args(request.form)),
        f"Mission {number} signalée à la DEC.",
    )
