"""The DEC back office: the queue of claims, a claim's review, and the payment export."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from imagin import clock
from imagin.claims.service import load_rates, pay_view
from imagin.claims.workflow import apply_transition
from imagin.db import get_db
from imagin.domain.status import PartStatus, effective_status
from imagin.domain.transitions import Action, TransitionRefused
from imagin.mail import queue_mails
from imagin.manage.access import (
    get_managed_mission,
    managed_bureau_ids,
    managed_missions,
    require_manager,
)
from imagin.manage.forms import ApproveForm, BulkForm, ExportForm, QueueFilterForm, ReasonForm
from imagin.manage.payment import (
    ExportRefused,
    export_parts,
    managed_batches,
    payable_parts,
)
from imagin.manage.queries import filter_choices, queue, status_counts
from imagin.missions.queries import history
from imagin.models import Bureau, Mission, PaymentBatch
from imagin.notifications import (
    MESSAGE_LOADING,
    approved_message,
    notify_approved,
    notify_sent_back,
)
from imagin.rendering import render_page
from imagin.travel.service import travel_view

bp = Blueprint("manage", __name__, url_prefix="/gestion")

MISSION_URL = "/missions/<int(max=2147483647):number>"
# The part in URLs, in the words of the tabs.
PART_SLUGS = {"remuneration": "pay", "deplacement": "travel"}
PART_LABELS = {"pay": "rémunération", "travel": "déplacement"}
STALE = (
    "Cet état de frais a changé depuis l'affichage de la page (autre onglet ou autre "
    "gestionnaire) : vérifiez-le de nouveau avant d'agir."
)


@bp.before_request
@login_required
def check_manager() -> None:
    """Every /gestion page is for gestionnaires (and admins) only; others get a 404."""
    require_manager()


@bp.get("")
def index():
    """The queue of claims of the gestionnaire's bureaus, with counts and filters."""
    form = QueueFilterForm(request.args)
    form.set_choices(*filter_choices())
    filters, page = form.cleaned()
    today = clock.today()
    result = queue(filters, page=page, per_page=current_app.config["CLAIMS_PER_PAGE"], today=today)
    return render_page(
        "manage/index.html",
        "results",
        form=form,
        result=result,
        counts=status_counts(),
        statuses=list(PartStatus),
        today=today,
        effective_status=effective_status,
        bulk_form=BulkForm(),
        query_args={k: v for k, v in request.args.items() if k != "page" and v},
    )


def _review(mission, *, status: int = 200, message: str | None = None, forms=None):
    db = get_db()
    rates = load_rates(db)
    today = clock.today()
    claim = mission.claim
    version = {"version": claim.version}
    forms = forms or {}
    return render_page(
        "manage/claim.html",
        status=status,
        mission=mission,
        claim=claim,
        pay=pay_view(mission, rates),
        travel=travel_view(db, mission, rates),
        events=history(mission.id),
        statuses={
            "pay": effective_status(claim.pay, mission.ends_on, today),
            "travel": effective_status(claim.travel, mission.ends_on, today),
        },
        approve_form=ApproveForm(data=version),
        reason_forms={
            part: forms.get(part) or ReasonForm(data=version, prefix=part)
            for part in ("pay", "travel")
        },
        cancel_form=forms.get("cancel") or ReasonForm(data=version, prefix="cancel"),
        message=message,
        part_labels=PART_LABELS,
        part_slugs={v: k for k, v in PART_SLUGS.items()},
    )


@bp.get(MISSION_URL)
def claim(number: int):
    """A claim to review: both parts as entered, amounts with their reasons, documents, history."""
    return _review(get_managed_mission(number))


def _part(slug: str) -> str:
    if slug not in PART_SLUGS:
        abort(404)
    return PART_SLUGS[slug]


def _act(mission, part: str, action: Action, form, reason: str | None = None):
    """Apply one transition for the gestionnaire and tell the intervenant; 409 when refused."""
    db = get_db()
    if str(mission.claim.version) != (form.version.data or ""):
        return _review(mission, status=409, message=STALE)
    try:
        change = apply_transition(
            db, mission, part, action, current_user, now=clock.now(), reason=reason
        )
        # Queued in the same transaction: the message exists if and only if the change does.
        if action is Action.SEND_BACK:
            notify_sent_back(db, mission, part, change.reason or "")
        elif action is Action.APPROVE:
            notify_approved(db, mission, part)
        db.commit()
    except TransitionRefused as refused:
        db.rollback()
        return _review(get_managed_mission(mission.number), status=409, message=refused.message)
    except StaleDataError:
        db.rollback()
        return _review(get_managed_mission(mission.number), status=409, message=STALE)
    return None


@bp.post(MISSION_URL + "/<slug>/valider")
def approve(number: int, slug: str):
    """Validate one part of a claim ("Validé par gestionnaire")."""
    part = _part(slug)
    mission = get_managed_mission(number)
    refused = _act(mission, part, Action.APPROVE, ApproveForm())
    if refused is not None:
        return refused
    flash(f"Mission {number} : frais de {PART_LABELS[part]} validés.", "success")
    return redirect(url_for("manage.claim", number=number), 303)


@bp.post(MISSION_URL + "/<slug>/renvoyer")
def send_back(number: int, slug: str):
    """Send one part back to the intervenant for correction, with the required reason."""
    part = _part(slug)
    mission = get_managed_mission(number)
    form = ReasonForm(prefix=part)
    if not form.validate():
        return _review(mission, status=422, forms={part: form})
    refused = _act(mission, part, Action.SEND_BACK, form, reason=form.reason.data)
    if refused is not None:
        return refused
    flash(f"Mission {number} : frais de {PART_LABELS[part]} renvoyés pour correction.", "success")
    return redirect(url_for("manage.claim", number=number), 303)


@bp.post(MISSION_URL + "/annuler")
def cancel(number: int):
    """Cancel a mission, with the required reason: both parts become "Annulé"."""
    db = get_db()
    mission = get_managed_mission(number)
    form = ReasonForm(prefix="cancel")
    if not form.validate():
        return _review(mission, status=422, forms={"cancel": form})
    if str(mission.claim.version) != (form.version.data or ""):
        return _review(mission, status=409, message=STALE)
    now = clock.now()
    try:
        for part in ("pay", "travel"):
            apply_transition(
                db, mission, part, Action.CANCEL, current_user, now=now, reason=form.reason.data
            )
        mission.cancelled = True
        mission.cancel_reason = form.reason.data.strip()
        db.commit()
    except TransitionRefused as refused:
        db.rollback()
        return _review(get_managed_mission(number), status=409, message=refused.message)
    flash(f"Mission {number} annulée.", "success")
    return redirect(url_for("manage.claim", number=number), 303)


@bp.post("/validation-groupee")
def bulk_approve():
    """Validate every validated part of the ticked claims; say what was done and refused."""
    db = get_db()
    form = BulkForm()
    form.validate()
    numbers = sorted({n for n in (form.selected.data or []) if 0 < n < 2**31})
    if not numbers:
        flash("Cochez au moins un état de frais à valider.", "error")
        return redirect(url_for("manage.index"), 303)
    missions = db.scalars(
        select(Mission)
        .where(Mission.number.in_(numbers), managed_missions())
        .options(*MESSAGE_LOADING)
    ).all()
    found = {m.number for m in missions}
    now = clock.now()
    done, refused, messages = [], [], []
    for number in numbers:
        if number not in found:
            refused.append(f"Mission {number} : introuvable dans vos bureaux.")
    for mission in missions:
        for part in ("pay", "travel"):
            if getattr(mission.claim, part) in (PartStatus.NO_COSTS, PartStatus.CANCELLED):
                continue
            try:
                apply_transition(db, mission, part, Action.APPROVE, current_user, now=now)
                done.append(f"Mission {mission.number} : {PART_LABELS[part]} validée.")
                messages.append(approved_message(mission, part))
            except TransitionRefused as reason:
                refused.append(f"Mission {mission.number} : {PART_LABELS[part]} — {reason.message}")
    queue_mails(db, messages)
    try:
        db.commit()
    except StaleDataError:
        db.rollback()
        flash(STALE, "error")
        return redirect(url_for("manage.index"), 303)
    flash(f"{len(done)} partie(s) validée(s), {len(refused)} refusée(s).", "info")
    for line in done:
        flash(line, "success")
    for line in refused:
        flash(line, "error")
    return redirect(url_for("manage.index"), 303)


def _bureaus():
    return (
        get_db()
        .scalars(select(Bureau).where(Bureau.id.in_(managed_bureau_ids())).order_by(Bureau.code))
        .all()
    )


@bp.route("/paiement", methods=["GET", "POST"])
def payment():
    """Choose the parts validated by the DEC and export them to payroll as one batch."""
    db = get_db()
    bureaus = _bureaus()
    if not bureaus:
        abort(404)
    wanted = request.values.get("bureau", type=int)
    bureau = next((b for b in bureaus if b.id == wanted), bureaus[0])
    form = ExportForm()
    message = None
    status = 200
    if request.method == "POST":
        try:
            batch = export_parts(db, form.selected.data or [], bureau.id, current_user, clock.now())
            db.commit()
        except ExportRefused as refused:
            db.rollback()
            message, status = refused.message, 409
        except (IntegrityError, StaleDataError):
            db.rollback()
            message, status = "Ces états de frais viennent d'être exportés par ailleurs.", 409
        else:
            flash(
                f"Lot n° {batch.id} créé : {len(batch.lines)} partie(s) mises en paiement.",
                "success",
            )
            return redirect(url_for("manage.batches"), 303)
    return render_page(
        "manage/payment.html",
        status=status,
        parts=payable_parts(db, bureau.id),
        bureaus=bureaus,
        bureau=bureau,
        form=form,
        message=message,
        part_labels=PART_LABELS,
    )


@bp.get("/paiement/lots")
def batches():
    """The payment batches already exported, to download again."""
    return render_page("manage/batches.html", batches=managed_batches(get_db()))


@bp.get("/paiement/lots/<int(max=2147483647):batch_id>.csv")
def batch_csv(batch_id: int):
    """Download a payment batch's CSV again, exactly as it was exported."""
    batch = get_db().scalar(
        select(PaymentBatch).where(
            PaymentBatch.id == batch_id, PaymentBatch.bureau_id.in_(managed_bureau_ids())
        )
    )
    if batch is None:
        abort(404)
    response = make_response(batch.csv.encode("utf-8"))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="paiement-lot-{batch.id}.csv"'
    return response
