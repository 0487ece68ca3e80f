"""Frais rémunération and Récapitulatif tabs: entering the pay part, saving, validating."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, request, url_for
from flask_login import current_user, login_required

from imagin import clock
from imagin.anchors import form_field, href
from imagin.claims.editing import commit, ensure_editable
from imagin.claims.forms import PayEstimateForm, PayForm, ValidateForm
from imagin.claims.pay import (
    entry_from_form,
    form_data,
    not_done_warning,
    pay_errors,
    pay_view,
    save_pay,
)
from imagin.claims.rates import load_rates
from imagin.claims.validation import (
    ClaimCheck,
    PartsBlocked,
    check_claim,
    validate_parts,
)
from imagin.db import get_db
from imagin.domain.status import Part
from imagin.forms import keeps_typed_values
from imagin.missions.page import render_mission_tab
from imagin.missions.queries import WHOLE_CLAIM, get_own_mission
from imagin.models import Mission
from imagin.rendering import (
    SummaryItem,
    back_to,
    refuse_conflicts,
    reload_page,
    render_page,
    time_fr,
    wants_fragment,
)

bp = Blueprint("claims", __name__, url_prefix="/missions")

MISSION_URL = "/<int(max=2147483647):number>"
CERTIFY_REQUIRED = "Cochez cette case pour certifier vos informations avant de valider."
SAVED_BUT_BLOCKED = "Vos saisies sont enregistrées, mais la validation attend encore :"
VALIDATED = {
    (Part.PAY,): "Vos frais de rémunération sont validés et transmis à la DEC.",
    (Part.TRAVEL,): "Vos frais de déplacement sont validés et transmis à la DEC.",
    (Part.PAY, Part.TRAVEL): "Votre état de frais est validé et transmis à la DEC.",
}


@bp.before_request
@login_required
def require_login() -> None:
    """Every page of this blueprint is for signed-in users only."""


def _mission(number: int) -> Mission:
    """The intervenant's mission with its whole claim (404 for anybody else's)."""
    return get_own_mission(number, current_user.id, *WHOLE_CLAIM)


def _blocked_items(mission: Mission, check: ClaimCheck | None, parts) -> list[SummaryItem]:
    """The summary lines of what blocks these parts, each linking to where it is fixed."""
    if check is None:
        return []
    return [
        SummaryItem(href(mission.number, item.target), item.message)
        for item in check.missing(parts)
    ]


# --- Frais rémunération ---------------------------------------------------------------------


def _render_pay(mission, form, rates, *, status=200, entry=None, blocked=None, **extra):
    pay = pay_view(mission, rates, entry)
    context = dict(
        form=form,
        pay=pay,
        blocked=blocked.blockers[Part.PAY] if blocked else None,
        summary_of=[form],
        error_summary=_blocked_items(mission, blocked, [Part.PAY]),
        **extra,
    )
    return render_mission_tab(mission, "remuneration", status=status, **context)


def _pay_conflict(message: str, number: int):
    """The pay form as typed, the stored pay part beside it, and why (status set by the caller)."""
    mission = _mission(number)
    rates = load_rates(get_db())
    form = PayForm()
    form.version.data = str(mission.claim.version)
    return _render_pay(
        mission,
        form,
        rates,
        entry=entry_from_form(form),
        conflict=message,
        stored=pay_view(mission, rates),
    )


@bp.get(MISSION_URL + "/remuneration")
def remuneration(number: int):
    """Show the Frais rémunération tab: the pay part as entered, and the estimated pay."""
    mission = _mission(number)
    rates = load_rates(get_db())
    return _render_pay(mission, PayForm(data=form_data(mission)), rates)


@bp.post(MISSION_URL + "/remuneration")
@refuse_conflicts(_pay_conflict)
@keeps_typed_values
def save_remuneration(number: int):
    """Save the pay part (Enregistrer), or save it and validate it."""
    db = get_db()
    mission = _mission(number)
    rates = load_rates(db)
    form = PayForm()
    validating = request.form.get("action") == "validate"
    ensure_editable(mission.claim, Part.PAY, form.version.data)

    # Every error at once: the domain checks what could be read even when a field is wrong.
    valid = form.validate()
    entry = entry_from_form(form)
    for error in pay_errors(mission, entry):
        field = form_field(form, error.ref)
        if field is not None and not field.errors:
            field.errors = [*field.errors, error.message]
            valid = False
    warning = not_done_warning(mission, entry)
    if warning and not form.confirm_not_done.data:
        form.confirm_not_done.errors = [*form.confirm_not_done.errors, warning]
        valid = False
    if validating and not form.certify.data:
        form.certify.errors = [*form.certify.errors, CERTIFY_REQUIRED]
        valid = False
    if not valid:
        return _render_pay(
            mission, form, rates, status=422, entry=entry, confirm_not_done=bool(warning)
        )

    now = clock.now()
    save_pay(mission, entry, now, version=form.version.data)
    commit(db)
    if validating:
        # Saved first: what was typed is kept even when validation must wait.
        check = check_claim(db, mission, rates, now.date())
        try:
            parts = validate_parts(db, mission, [Part.PAY], current_user, check, now)
        except PartsBlocked as blocked:
            db.rollback()
            return _pay_blocked(number, blocked)
        commit(db)
        url = url_for("claims.remuneration", number=number)
        return reload_page(url, VALIDATED[tuple(parts)])
    message = f"Enregistré à {time_fr(now)}."
    if wants_fragment():
        form = PayForm(formdata=None, data=form_data(mission))
        return _render_pay(mission, form, rates, saved_message=message)
    return back_to(url_for("claims.remuneration", number=number), message)


def _pay_blocked(number: int, blocked: PartsBlocked):
    """The saved pay part, and what validation still waits for (422; 409 for its status)."""
    mission = _mission(number)
    rates = load_rates(get_db())
    form = PayForm(formdata=None, data=form_data(mission))
    return _render_pay(
        mission,
        form,
        rates,
        status=409 if blocked.refusal else 422,
        blocked=blocked.check,
        conflict=blocked.refusal,
        saved_message=SAVED_BUT_BLOCKED if not blocked.refusal else None,
    )


@bp.get(MISSION_URL + "/remuneration/estimation")
def pay_estimate(number: int):
    """The estimated pay for what is being typed: the live fragment of the pay tab."""
    mission = get_own_mission(number, current_user.id)
    form = PayEstimateForm(request.args)
    form.validate()
    pay = pay_view(mission, load_rates(get_db()), entry_from_form(form))
    return render_page("claims/_pay_estimate.html", mission=mission, pay=pay)


# --- Récapitulatif and validation -----------------------------------------------------------


def _render_summary(mission, form, *, status=200, check=None, **extra):
    db = get_db()
    check = check or check_claim(db, mission, load_rates(db), clock.today())
    context = dict(
        summary_of=[form],
        error_summary=_blocked_items(mission, check, list(Part)) if status == 422 else [],
        validate_form=form,
        check=check,
        pay=check.pay,
        travel=check.travel,
        receipts=check.receipts,
        **extra,
    )
    return render_mission_tab(mission, "recapitulatif", status=status, **context)


def _summary_conflict(message: str, number: int):
    mission = _mission(number)
    form = ValidateForm()
    form.version.data = str(mission.claim.version)
    return _render_summary(mission, form, conflict=message)


@bp.get(MISSION_URL + "/recapitulatif")
def recapitulatif(number: int):
    """Show the Récapitulatif tab: the whole claim, what blocks each part, and validation."""
    mission = _mission(number)
    form = ValidateForm(data={"version": mission.claim.version})
    return _render_summary(mission, form)


@bp.get(MISSION_URL + "/recapitulatif.pdf")
def recapitulatif_pdf(number: int):
    """Download the Récapitulatif as a PDF (the intervenant's own mission only)."""
    from imagin.claims.recap_pdf import recap_lines, render_pdf
    from imagin.domain.status import effective_status

    mission = _mission(number)
    db = get_db()
    today = clock.today()
    check = check_claim(db, mission, load_rates(db), today)
    claim = mission.claim
    statuses = {
        part.value: effective_status(
            claim.pay if part is Part.PAY else claim.travel, mission.ends_on, today
        )
        for part in Part
    }
    pdf = render_pdf(f"Récapitulatif mission {number}", recap_lines(mission, check, statuses))
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="recapitulatif-mission-{number}.pdf"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post(MISSION_URL + "/valider")
@refuse_conflicts(_summary_conflict)
def validate(number: int):
    """Validate every part that can be (or the travel part alone, from its tab)."""
    db = get_db()
    mission = _mission(number)
    form = ValidateForm()
    asked = [Part.TRAVEL] if form.part.data == Part.TRAVEL else None
    ensure_editable(mission.claim, asked[0] if asked else None, form.version.data)
    if not form.validate() or not form.certify.data:
        form.certify.errors = [*form.certify.errors, CERTIFY_REQUIRED]
        return _render_summary(mission, form, status=422)
    now = clock.now()
    check = check_claim(db, mission, load_rates(db), now.date())
    parts = asked or check.ready
    if not parts:
        refusal = next((b.refusal for b in check.blockers.values() if b.refusal), None)
        only_refused = all(b.refusal for b in check.blockers.values())
        if only_refused:
            return _render_summary(mission, form, status=409, check=check, conflict=refusal)
        return _render_summary(mission, form, status=422, check=check)
    try:
        validated = tuple(validate_parts(db, mission, parts, current_user, check, now))
    except PartsBlocked as blocked:
        db.rollback()
        status = 409 if blocked.refusal else 422
        return _render_summary(
            _mission(number), form, status=status, check=check, conflict=blocked.refusal
        )
    commit(db)
    tab = "travel.deplacement" if asked else "claims.recapitulatif"
    flash(VALIDATED[validated], "success")
    for part in Part:
        waiting = check.blockers[part]
        if part not in validated and waiting.missing and not waiting.refusal:
            # Each part goes on its own: say what the other one still waits for.
            flash(
                f"{part.title} non validés, il manque encore : {' ; '.join(waiting.messages)}.",
                "warning",
            )
    return reload_page(url_for(tab, number=number))
