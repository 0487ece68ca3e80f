"""Frais rémunération and Récapitulatif tabs: entering the pay part, saving, validating."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from imagin import clock
from imagin.claims.forms import PayEstimateForm, PayForm, ValidateForm
from imagin.claims.service import (
    STALE_MESSAGE,
    ClaimConflict,
    MissingEntries,
    check_version,
    entry_from_form,
    form_data,
    is_editable,
    load_rates,
    missing_endpoint,
    pay_errors,
    pay_view,
    save_pay,
    validate_claim,
)
from imagin.claims.workflow import mission_ended, validation_possible_from
from imagin.db import get_db
from imagin.domain.transitions import TransitionRefused
from imagin.missions.page import render_mission_tab
from imagin.missions.queries import get_own_mission
from imagin.rendering import time_fr, wants_fragment
from imagin.travel.service import travel_view

bp = Blueprint("claims", __name__, url_prefix="/missions")

MISSION_URL = "/<int(max=2147483647):number>"
CERTIFY_REQUIRED = "Cochez cette case pour certifier vos informations avant de valider."


@bp.before_request
@login_required
def require_login() -> None:
    """Every page of this blueprint is for signed-in users only."""


def _claim_context(mission, **extra) -> dict:
    """What both claim tabs need to know: can the claim change, can it be validated now."""
    today = clock.today()
    return {
        "editable": is_editable(mission.claim),
        "can_validate_now": mission_ended(mission, today),
        "validation_date": validation_possible_from(mission),
        "item_endpoint": missing_endpoint,
        **extra,
    }


def _render_pay(mission, form, rates, *, status=200, entry=None, **extra):
    pay = pay_view(mission, rates, entry)
    context = _claim_context(mission, form=form, pay=pay, **extra)
    return render_mission_tab(mission, "remuneration", status=status, **context)


def _done(mission, tab: str, message: str, *, full_reload: bool):
    """After a successful POST: 303 to the tab, or for HTMX the fresh tab (or a reload)."""
    flash(message, "success")
    url = url_for(f"claims.{tab}", number=mission.number)
    if wants_fragment() and full_reload:
        # Statuses in the page header changed: let htmx load the whole page.
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


@bp.get(MISSION_URL + "/remuneration")
def remuneration(number: int):
    """Show the Frais rémunération tab: the pay part as entered, and the estimated pay."""
    mission = get_own_mission(number, current_user.id)
    rates = load_rates(get_db())
    return _render_pay(mission, PayForm(data=form_data(mission)), rates)


@bp.post(MISSION_URL + "/remuneration")
def save_remuneration(number: int):
    """Save the pay part (Enregistrer), or save it and validate the claim."""
    db = get_db()
    mission = get_own_mission(number, current_user.id)
    rates = load_rates(db)
    form = PayForm()
    validating = request.form.get("action") == "validate"
    try:
        check_version(mission.claim, form.version.data)
    except ClaimConflict as conflict:
        return _conflict(mission, form, rates, conflict.message)

    valid = form.validate()
    entry = entry_from_form(form)
    for name, messages in (pay_errors(mission, entry) if valid else {}).items():
        _field(form, name).errors.extend(messages)
        valid = False
    if validating and not form.certify.data:
        form.certify.errors.append(CERTIFY_REQUIRED)
        valid = False
    if not valid:
        return _render_pay(mission, form, rates, status=422, entry=entry)

    now = clock.now()
    try:
        save_pay(mission, entry, now)
        if validating:
            validate_claim(db, mission, current_user, rates, now)
        db.commit()
    except (ClaimConflict, TransitionRefused) as refused:
        db.rollback()
        return _conflict(mission, form, rates, refused.message)
    except MissingEntries as missing:
        db.rollback()
        mission = get_own_mission(number, current_user.id)
        return _render_pay(mission, form, rates, status=422, entry=entry, missing=missing.missing)
    except StaleDataError:
        db.rollback()
        return _conflict(mission, form, rates, STALE_MESSAGE)

    if validating:
        return _done(
            mission,
            "remuneration",
            "Votre état de frais est validé et transmis à la DEC.",
            full_reload=True,
        )
    message = f"Enregistré à {time_fr(now)}."
    if wants_fragment():
        form = PayForm(formdata=None, data=form_data(mission))
        return _render_pay(mission, form, rates, saved_message=message)
    return _done(mission, "remuneration", message, full_reload=False)


def _field(form, name: str):
    """The form field a domain error names: "copies" or "hours-0-end"."""
    if name.startswith("hours-"):
        _, index, sub = name.split("-")
        return form.hours[int(index)][sub]
    return form[name]


def _conflict(mission, form, rates, message: str):
    """409: say why, show what is stored beside what was typed, keep both."""
    db = get_db()
    db.rollback()
    mission = get_own_mission(mission.number, current_user.id)
    form.version.data = str(mission.claim.version)
    return _render_pay(
        mission,
        form,
        rates,
        status=409,
        entry=entry_from_form(form),
        conflict=message,
        stored=pay_view(mission, rates),
    )


@bp.get(MISSION_URL + "/remuneration/estimation")
def pay_estimate(number: int):
    """The estimated pay for what is being typed: the live fragment of the pay tab."""
    mission = get_own_mission(number, current_user.id)
    form = PayEstimateForm(request.args)
    form.validate()
    pay = pay_view(mission, load_rates(get_db()), entry_from_form(form))
    return render_template("claims/_pay_estimate.html", mission=mission, pay=pay)


@bp.get(MISSION_URL + "/recapitulatif")
def recapitulatif(number: int):
    """Show the Récapitulatif tab: the whole claim, what is missing, and validation."""
    mission = get_own_mission(number, current_user.id)
    rates = load_rates(get_db())
    form = ValidateForm(data={"version": mission.claim.version})
    return _render_summary(mission, form, rates)


def _render_summary(mission, form, rates, *, status=200, **extra):
    pay = pay_view(mission, rates)
    travel = travel_view(get_db(), mission, rates)
    context = _claim_context(mission, validate_form=form, pay=pay, travel=travel, **extra)
    return render_mission_tab(mission, "recapitulatif", status=status, **context)


@bp.post(MISSION_URL + "/valider")
def validate(number: int):
    """Validate the whole claim once the intervenant has certified it."""
    db = get_db()
    mission = get_own_mission(number, current_user.id)
    rates = load_rates(db)
    form = ValidateForm()
    try:
        check_version(mission.claim, form.version.data)
    except ClaimConflict as conflict:
        form.version.data = str(mission.claim.version)
        return _render_summary(mission, form, rates, status=409, conflict=conflict.message)
    if not form.validate() or not form.certify.data:
        form.certify.errors = [*form.certify.errors, CERTIFY_REQUIRED]
        return _render_summary(mission, form, rates, status=422)
    try:
        validate_claim(db, mission, current_user, rates, clock.now())
        db.commit()
    except (TransitionRefused, StaleDataError) as refused:
        db.rollback()
        mission = get_own_mission(number, current_user.id)
        message = getattr(refused, "message", STALE_MESSAGE)
        return _render_summary(mission, form, rates, status=409, conflict=message)
    except MissingEntries:
        db.rollback()
        mission = get_own_mission(number, current_user.id)
        return _render_summary(mission, form, rates, status=422)
    return _done(
        mission,
        "recapitulatif",
        "Votre état de frais est validé et transmis à la DEC.",
        full_reload=True,
    )
