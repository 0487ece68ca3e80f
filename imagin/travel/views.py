"""Frais déplacement tab: legs edited inline, meals, nights and other expenses, allowances.

Every URL works without JavaScript (small pages of their own, POST then 303
back to the tab); under HTMX the same URLs answer with the row or section to
swap.

Keeping the claim version fresh in the page: each form carries the version it
was displayed with (the stale-form check). After a successful change under
HTMX the response also carries ``_version.html``, an out-of-band swap that
sets every ``.claim-version`` input of the page to the new version, so the
other rows and forms stay usable; ``HX-Trigger`` then tells the sections that
depend on the legs or expenses to reload themselves.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, abort, url_for
from flask_login import current_user, login_required

from imagin import clock
from imagin.claims.editing import ClaimConflict, commit, ensure_editable
from imagin.claims.rates import load_rates
from imagin.db import get_db
from imagin.domain.money import format_number
from imagin.domain.status import Part, edit_refusal
from imagin.domain.travel import MODE_LABELS, MODES, Mode, meal_windows_text
from imagin.forms import keeps_typed_values
from imagin.missions.page import render_mission_tab
from imagin.missions.queries import WHOLE_CLAIM, get_own_mission
from imagin.rendering import (
    Event,
    back_to,
    date_fr,
    euros,
    fragment,
    part,
    refuse_conflicts,
    render_page,
    time_fr,
    wants_fragment,
)
from imagin.travel.forms import DeleteForm, LegForm, expenses_form
from imagin.travel.service import (
    delete_leg,
    expenses_data,
    expenses_entry,
    get_own_leg,
    leg_data,
    leg_entry,
    leg_errors,
    new_leg_data,
    return_leg_data,
    save_expenses,
    save_leg,
    travel_editable,
    travel_view,
)

bp = Blueprint("travel", __name__, url_prefix="/missions")

TAB_URL = "/<int(max=2147483647):number>/deplacement"
LEG_URL = TAB_URL + "/trajets/<int(max=2147483647):leg_id>"


@bp.before_request
@login_required
def require_login() -> None:
    """Every page of this blueprint is for signed-in users only."""


@bp.app_template_filter("mode_label")
def mode_label(mode: str) -> str:
    """ "voiture" as users read it: "Voiture personnelle"."""
    return MODE_LABELS[Mode(mode)] if mode in MODES else mode


@bp.app_template_filter("km_or_fare")
def km_or_fare(leg) -> str:
    """What a leg is paid on: "150 km" by own vehicle, the fare otherwise."""
    if leg.km is not None:
        return f"{format_number(leg.km)} km"
    if leg.fare_cents is not None:
        return euros(leg.fare_cents, cents=True)
    return "—"


@bp.app_template_filter("leg_summary")
def leg_summary(leg) -> str:
    """ "02/12/2022 07:00 ST LO → 02/12/2022 18:00 ALENCON CEDEX, Voiture personnelle, 150 km"."""
    return (
        f"{date_fr(leg.departure_at)} {time_fr(leg.departure_at)} {leg.departure_city} → "
        f"{date_fr(leg.arrival_at)} {time_fr(leg.arrival_at)} {leg.arrival_city}, "
        f"{mode_label(leg.mode)}, {km_or_fare(leg)}"
    )


@bp.app_template_filter("night_label")
def night_label(night: str) -> str:
    """ "Nuit du 02/07/2025 au 03/07/2025" for the ISO date of its evening."""
    try:
        day = dt.date.fromisoformat(night)
    except (TypeError, ValueError):
        return "Nuit"
    return f"Nuit du {date_fr(day)} au {date_fr(day + dt.timedelta(days=1))}"


def _mission(number: int):
    return get_own_mission(number, current_user.id, *WHOLE_CLAIM)


def _leg(mission, leg_id: int):
    """The leg of this intervenant's mission; 404 for anybody else's."""
    try:
        return get_own_leg(mission, leg_id)
    except LookupError:
        abort(404)


def _tab_url(number: int, anchor: str | None = None) -> str:
    return url_for("travel.deplacement", number=number, _anchor=anchor)


def _travel(mission):
    db = get_db()
    return travel_view(db, mission, load_rates(db))


# --- The tab and its sections ----------------------------------------------------------------


@bp.get(TAB_URL)
def deplacement(number: int):
    """Show the Frais déplacement tab: legs, expenses, allowances and receipts."""
    return _render_tab(_mission(number))


def _render_tab(mission, *, status: int = 200, form=None, **extra):
    travel = _travel(mission)
    # Under HTMX the sections load themselves (see _deplacement.html), unless one must
    # be shown as posted (422, 409).
    lazy = wants_fragment() and form is None
    if form is None and not lazy:
        form = expenses_form(travel.meals, formdata=None, data=expenses_data(travel, mission.claim))
    return render_mission_tab(
        mission,
        "deplacement",
        status=status,
        travel=travel,
        expenses_form=form,
        lazy_sections=lazy,
        meal_windows=meal_windows_text(),
        summary_of=[form],
        **extra,
    )


@bp.get(TAB_URL + "/frais")
def expenses(number: int):
    """The meals, nights and other expenses: the section reloaded when the legs change."""
    if not wants_fragment():
        return back_to(_tab_url(number, "frais"))
    mission = _mission(number)
    travel = _travel(mission)
    form = expenses_form(travel.meals, formdata=None, data=expenses_data(travel, mission.claim))
    return _expenses_fragment(mission, travel, form)


@bp.get(TAB_URL + "/montants")
def amounts(number: int):
    """The amounts with their reasons and the receipts: reloaded after every change."""
    if not wants_fragment():
        return back_to(_tab_url(number, "montants"))
    mission = _mission(number)
    return fragment("travel/_amounts.html", mission=mission, travel=_travel(mission))


def _expenses_fragment(mission, travel, form, *, status: int = 200, **extra):
    return fragment(
        "travel/_expenses.html",
        status=status,
        mission=mission,
        travel=travel,
        expenses_form=form,
        meal_windows=meal_windows_text(),
        **extra,
    )


def _render_expenses(mission, travel, form, *, status: int = 200, **extra):
    if wants_fragment():
        return _expenses_fragment(mission, travel, form, status=status, **extra)
    return _render_tab(mission, status=status, form=form, **extra)


def _expenses_conflict(message: str, number: int):
    """The expenses as typed, the stored ones beside them, and why (409 by the caller)."""
    mission = _mission(number)
    travel = _travel(mission)
    form = expenses_form(travel.meals)
    form.version.data = str(mission.claim.version)
    return _render_expenses(mission, travel, form, expenses_conflict=message, stored=travel)


@bp.post(TAB_URL + "/frais")
@refuse_conflicts(_expenses_conflict)
@keeps_typed_values
def save_expenses_form(number: int):
    """Save how each meal was taken, the nights and the other expenses."""
    db = get_db()
    mission = _mission(number)
    travel = _travel(mission)
    form = expenses_form(travel.meals)
    ensure_editable(mission.claim, Part.TRAVEL, form.version.data)
    if not travel.applies:
        # A form left open in another tab after "Mission effectuée : Non".
        raise ClaimConflict(travel.reason)
    if not form.validate():
        return _render_expenses(mission, travel, form, status=422)
    now = clock.now()
    save_expenses(mission, expenses_entry(form, travel), now, version=form.version.data)
    commit(db)
    message = f"Frais enregistrés à {time_fr(now)}."
    if not wants_fragment():
        return back_to(_tab_url(number, "frais"), message)
    travel = _travel(mission)
    form = expenses_form(travel.meals, formdata=None, data=expenses_data(travel, mission.claim))
    return _expenses_fragment(
        mission,
        travel,
        form,
        saved_message=message,
        events=[Event.EXPENSES_CHANGED],
        oob=[_version(mission, ".claim-version")],
    )


def _version(mission, target: str) -> str:
    """Out of band: the version inputs of the page take the claim's new one."""
    return part("travel/_version.html", mission=mission, target=target)


# --- Legs --------------------------------------------------------------------------------------


def _new_key() -> str:
    # Several new rows may be open at once: each needs its own ids.
    return f"leg-new-{secrets.token_hex(3)}"


def _leg_form_page(mission, form, key: str, *, leg=None, title: str, status: int = 200, **extra):
    """The leg form: a table row for HTMX, a small page of its own without JavaScript."""
    if leg is None:
        action = url_for("travel.create_leg", number=mission.number)
        cancel = url_for("travel.cancel_new_leg", number=mission.number)
    else:
        action = url_for("travel.update_leg", number=mission.number, leg_id=leg.id)
        cancel = url_for("travel.leg", number=mission.number, leg_id=leg.id)
    return render_page(
        "travel/leg.html",
        "row",
        status=status,
        mission=mission,
        form=form,
        key=key,
        action=action,
        cancel=cancel,
        title=title,
        summary_of=[form],
        **extra,
    )


def _row(mission, leg, *, status: int = 200, message: str | None = None, focus: bool = False):
    return fragment(
        "travel/_leg_row.html",
        status=status,
        mission=mission,
        leg=leg,
        leg_actions=travel_editable(mission.claim),
        row_message=message,
        focus=focus,
    )


def _locked(mission, leg=None):
    """A form asked for while the travel part can no longer change."""
    message = edit_refusal(mission.claim.travel)
    if not wants_fragment():
        return back_to(_tab_url(mission.number, "trajets"), message, "error")
    if leg is not None:
        return _row(mission, leg, status=409, message=message)
    return fragment("travel/_message_row.html", status=409, message=message)


@bp.get(LEG_URL)
def leg(number: int, leg_id: int):
    """One leg as a row of the table (Annuler of its edit row); the tab without JavaScript."""
    if not wants_fragment():
        return back_to(_tab_url(number, f"leg-{leg_id}"))
    mission = _mission(number)
    return _row(mission, _leg(mission, leg_id), focus=True)


@bp.get(TAB_URL + "/trajets/annuler")
def cancel_new_leg(number: int):
    """Annuler of a new row: nothing to put in its place; the tab without JavaScript."""
    if not wants_fragment():
        return back_to(_tab_url(number, "trajets"))
    get_own_mission(number, current_user.id)
    return fragment("travel/_nothing.html")


@bp.get(TAB_URL + "/trajets/nouveau")
def new_leg(number: int):
    """The form of a new leg: an editable row appended to the table, or a page of its own."""
    mission = _mission(number)
    if not travel_editable(mission.claim):
        return _locked(mission)
    key = _new_key()
    form = LegForm(formdata=None, data=new_leg_data(mission)).bind_ids(key)
    return _leg_form_page(mission, form, key, title="Ajouter un trajet")


@bp.get(LEG_URL + "/retour")
def return_leg(number: int, leg_id: int):
    """The form of the way back of a leg, pre-filled: cities swapped, same mode, km and fare."""
    mission = _mission(number)
    leg = _leg(mission, leg_id)
    if not travel_editable(mission.claim):
        return _locked(mission)
    key = _new_key()
    form = LegForm(formdata=None, data=return_leg_data(leg, mission.claim)).bind_ids(key)
    return _leg_form_page(mission, form, key, title="Ajouter le retour")


@bp.get(LEG_URL + "/modifier")
def edit_leg(number: int, leg_id: int):
    """The leg's row turned into inputs, or a page of its own without JavaScript."""
    mission = _mission(number)
    leg = _leg(mission, leg_id)
    if not travel_editable(mission.claim):
        return _locked(mission, leg)
    key = f"leg-{leg.id}"
    form = LegForm(formdata=None, data=leg_data(leg, mission.claim)).bind_ids(key)
    return _leg_form_page(mission, form, key, leg=leg, title="Modifier le trajet")


def _leg_conflict(message: str, number: int, leg_id: int | None = None):
    """The row stays in edit mode with what was typed, beside what is stored (409 by caller)."""
    mission = _mission(number)
    stored = None
    if leg_id is not None:
        try:
            stored = get_own_leg(mission, leg_id)
        except LookupError:
            stored = None
    key = f"leg-{leg_id}" if leg_id is not None else _new_key()
    form = LegForm().bind_ids(key)
    form.version.data = str(mission.claim.version)
    return _leg_form_page(
        mission,
        form,
        key,
        leg=stored,
        title="Modifier le trajet" if leg_id is not None else "Ajouter un trajet",
        conflict=message,
        stored=stored,
        was_deleted=leg_id is not None and stored is None,
    )


@bp.post(TAB_URL + "/trajets/nouveau")
@refuse_conflicts(_leg_conflict)
@keeps_typed_values
def create_leg(number: int):
    """Add a leg to the claim."""
    mission = _mission(number)
    key = _new_key()
    return _save_leg(mission, None, LegForm().bind_ids(key), key, "Ajouter un trajet")


@bp.post(LEG_URL + "/modifier")
@refuse_conflicts(_leg_conflict)
@keeps_typed_values
def update_leg(number: int, leg_id: int):
    """Save the changes to a leg."""
    mission = _mission(number)
    leg = _leg(mission, leg_id)
    key = f"leg-{leg.id}"
    return _save_leg(mission, leg, LegForm().bind_ids(key), key, "Modifier le trajet")


def _save_leg(mission, leg, form, key: str, title: str):
    """Check the version, the form, then the domain's rules among the other legs; store."""
    ensure_editable(mission.claim, Part.TRAVEL, form.version.data)
    valid = form.validate()
    # Every error at once: the domain checks the leg as soon as its dates and times read.
    entry = leg_entry(form)
    for name, messages in (leg_errors(mission, entry, leg) if entry else {}).items():
        if not form[name].errors:
            form[name].errors = [*form[name].errors, *messages]
            valid = False
    if not valid or entry is None:
        return _leg_form_page(mission, form, key, leg=leg, title=title, status=422)
    saved = save_leg(mission, leg, entry, clock.now(), version=form.version.data)
    commit(get_db())
    return _leg_changed(mission, saved, "Trajet enregistré.")


def _leg_changed(mission, leg, message: str):
    """After a change: 303 to the tab, or for HTMX the fresh row and the new version."""
    if not wants_fragment():
        return back_to(_tab_url(mission.number, f"leg-{leg.id}" if leg else "trajets"), message)
    return fragment(
        "travel/_leg_row.html" if leg is not None else "",
        mission=mission,
        leg=leg,
        leg_actions=travel_editable(mission.claim),
        focus=True,
        events=[Event.LEGS_CHANGED],
        oob=[_version(mission, ".claim-version")],
    )


@bp.get(LEG_URL + "/supprimer")
def confirm_delete_leg(number: int, leg_id: int):
    """Ask before deleting a leg (without JavaScript; HTMX asks with hx-confirm)."""
    mission = _mission(number)
    leg = _leg(mission, leg_id)
    if not travel_editable(mission.claim):
        return _locked(mission, leg)
    form = DeleteForm(formdata=None, data={"version": mission.claim.version})
    return render_page("travel/delete.html", mission=mission, leg=leg, form=form)


def _delete_conflict(message: str, number: int, leg_id: int):
    """The row as stored, with why; the page's version is renewed to confirm again."""
    mission = _mission(number)
    leg = _leg(mission, leg_id)
    if not wants_fragment():
        form = DeleteForm(formdata=None, data={"version": mission.claim.version})
        return render_page(
            "travel/delete.html", mission=mission, leg=leg, form=form, conflict=message
        )
    return fragment(
        "travel/_leg_row.html",
        mission=mission,
        leg=leg,
        leg_actions=travel_editable(mission.claim),
        row_message=message,
        oob=[_version(mission, "#claim-version")],
    )


@bp.post(LEG_URL + "/supprimer")
@refuse_conflicts(_delete_conflict)
def delete_leg_form(number: int, leg_id: int):
    """Delete a leg; the documents linked to it then say it was deleted."""
    mission = _mission(number)
    leg = _leg(mission, leg_id)
    form = DeleteForm()
    delete_leg(mission, leg, clock.now(), version=form.version.data)
    commit(get_db())
    return _leg_changed(mission, None, "Trajet supprimé.")
